"""The emulator's playlists API over real HTTP: CRUD, DRF pagination, items, synthetic ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from posthog_recordings_emulator import PostHogEmulator

PLAYLISTS = "session_recording_playlists/"
#: A saved search in the shape PostHog's UI writes (RecordingUniversalFilters).
SEARCH: dict[str, Any] = {
    "date_from": "-7d",
    "date_to": None,
    "duration": [{"type": "recording", "key": "duration", "operator": "gt", "value": 60}],
    "filter_group": {"type": "AND", "values": [{"type": "AND", "values": []}]},
    "filter_test_accounts": False,
    "order": "start_time",
}
PLAYLIST_FIELDS = """
    id short_id name derived_name description pinned deleted filters type created_at created_by
    last_modified_at last_modified_by recordings_counts is_synthetic
"""


class Api:
    """A requests.Session bound to one emulator project and key."""

    def __init__(self, emulator: PostHogEmulator, key: str, prefix: str = "projects") -> None:
        self.base = f"{emulator.url}/api/{prefix}/{emulator.project_id}/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=10)

    def get_url(self, url: str) -> requests.Response:
        return self.session.get(url, timeout=10)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=10)

    def patch(self, path: str, body: Any = None) -> requests.Response:
        return self.session.patch(self.base + path, json=body, timeout=10)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.base + path, timeout=10)


@pytest.fixture
def emulator() -> Iterator[PostHogEmulator]:
    # Item changes allowed and no synthetic playlists: the playlist API itself is tested here
    # (the profiles' refusals and synthetic playlists are in test_emulator_profiles.py).
    with PostHogEmulator(profile="permissive", synthetic_playlists=False) as emu:
        yield emu


@pytest.fixture
def api(emulator: PostHogEmulator) -> Api:
    return Api(emulator, emulator.api_key)


def test_create_get_and_fields(emulator: PostHogEmulator, api: Api) -> None:
    created = api.post(PLAYLISTS, {"name": "Support", "type": "collection", "pinned": True})
    assert created.status_code == 201
    playlist = created.json()
    assert set(PLAYLIST_FIELDS.split()) <= set(playlist)
    assert playlist["recordings_counts"]["collection"]["count"] == 0
    assert playlist["type"] == "collection" and playlist["pinned"] is True
    fetched = api.get(f"{PLAYLISTS}{playlist['short_id']}/").json()
    assert fetched == playlist
    saved = api.post(PLAYLISTS, {"name": "Errors", "type": "filters", "filters": SEARCH})
    assert saved.status_code == 201 and saved.json()["filters"] == SEARCH


def test_saved_search_filters_are_checked_against_posthog_schema(api: Api) -> None:
    # PostHog's server stores any JSON, but its UI and its count read RecordingUniversalFilters.
    for filters in ({"x": 1}, {**SEARCH, "hide_viewed_recordings": "any-user"}):
        refused = api.post(PLAYLISTS, {"name": "bad", "type": "filters", "filters": filters})
        assert refused.status_code == 400 and refused.json()["attr"] == "filters"
    no_duration = {k: v for k, v in SEARCH.items() if k != "duration"}
    refused = api.post(PLAYLISTS, {"name": "bad", "type": "filters", "filters": no_duration})
    assert refused.status_code == 400 and "filters.duration" in refused.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a", "type": "collection", "filters": {"date_from": "-7d"}},
        {"name": "a", "type": "filters"},
        {"name": "a", "type": "filters", "filters": {}},
        {"name": "a", "type": "smart"},
        {"name": 5},
        {"name": "a", "pinned": "yes"},
    ],
)
def test_create_validation(api: Api, body: dict[str, Any]) -> None:
    response = api.post(PLAYLISTS, body)
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_update_rules_and_soft_delete(emulator: PostHogEmulator, api: Api) -> None:
    collection = api.post(PLAYLISTS, {"name": "c", "type": "collection"}).json()["short_id"]
    saved = api.post(PLAYLISTS, {"name": "s", "type": "filters", "filters": SEARCH}).json()
    saved_id = saved["short_id"]
    renamed = api.patch(f"{PLAYLISTS}{collection}/", {"name": "renamed", "description": "d"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
    assert api.patch(f"{PLAYLISTS}{collection}/", {"type": "filters"}).status_code == 400
    assert api.patch(f"{PLAYLISTS}{saved_id}/", {"name": "x"}).status_code == 400
    assert api.patch(
        f"{PLAYLISTS}{saved_id}/", {"name": "x", "filters": {**SEARCH, "date_from": "-3d"}}
    ).ok
    assert api.delete(f"{PLAYLISTS}{collection}/").status_code == 405
    assert api.patch(f"{PLAYLISTS}{collection}/", {"deleted": True}).status_code == 200
    assert api.get(f"{PLAYLISTS}{collection}/").status_code == 404
    assert api.patch(f"{PLAYLISTS}{collection}/", {"name": "back"}).status_code == 404
    assert [p["short_id"] for p in api.get(PLAYLISTS).json()["results"]] == [saved_id]
    assert {p["short_id"] for p in emulator.playlists()} == {collection, saved_id}
    assert api.get(f"{PLAYLISTS}unknown1/").status_code == 404


def test_drf_pagination_over_many_playlists(emulator: PostHogEmulator) -> None:
    created = {emulator.create_playlist(f"playlist {i}")["short_id"] for i in range(520)}
    api = Api(emulator, emulator.api_key, prefix="environments")
    first = api.get(PLAYLISTS).json()
    assert first["count"] == 520 and len(first["results"]) == 100
    assert first["previous"] is None
    assert first["next"].startswith(f"{emulator.url}/api/environments/1/{PLAYLISTS}?")
    assert "limit=100" in first["next"] and "offset=100" in first["next"]
    clamped = api.get(PLAYLISTS, limit=1000).json()
    assert len(clamped["results"]) == 500 and "offset=500" in clamped["next"]
    seen: list[str] = []
    url: str | None = f"{api.base}{PLAYLISTS}?limit=150&search=playlist"
    pages = 0
    while url:
        body = api.get_url(url).json()
        seen += [p["short_id"] for p in body["results"]]
        if pages:
            assert body["previous"] is not None
        url = body["next"]
        pages += 1
    assert pages == 4 and len(seen) == 520 and set(seen) == created
    second = api.get(PLAYLISTS, limit=100, offset=100).json()
    assert second["previous"] == f"{emulator.url}/api/environments/1/{PLAYLISTS}?limit=100"


def test_list_filters(emulator: PostHogEmulator, api: Api) -> None:
    rid = emulator.add_recording()["id"]
    pinned = emulator.create_playlist("Protected: support cases", pinned=True, recording_ids=[rid])
    other = emulator.create_playlist("Weekly review")
    saved = emulator.create_playlist("Rage clicks", type="filters", filters={"date_from": "-7d"})

    def short_ids(**params: Any) -> set[str]:
        return {p["short_id"] for p in api.get(PLAYLISTS, **params).json()["results"]}

    assert short_ids(pinned="true") == {pinned["short_id"]}
    assert short_ids(pinned="false") == {pinned["short_id"]}  # PostHog ignores the value
    assert short_ids(search="SUPPORT") == {pinned["short_id"]}
    assert short_ids(type="filters") == {saved["short_id"]}
    assert short_ids(short_id=other["short_id"]) == {other["short_id"]}
    assert short_ids(session_recording_id=rid) == {pinned["short_id"]}
    assert short_ids(created_by=1) == {pinned["short_id"], other["short_id"], saved["short_id"]}
    assert pinned["recordings_counts"]["collection"]["count"] == 1


def test_items(emulator: PostHogEmulator, api: Api) -> None:
    ids = emulator.seed_recordings(30, days=200)
    short_id = emulator.create_playlist("c")["short_id"]
    items = f"{PLAYLISTS}{short_id}/recordings/"
    assert api.post(f"{items}{ids[0]}/").json() == {"success": True}
    assert api.post(f"{items}{ids[0]}/").json() == {"success": True}
    bulk = api.post(f"{items}bulk_add/", {"session_recording_ids": ids[1:6]})
    assert bulk.json() == {"success": True, "added_count": 5, "total_requested": 5}
    assert emulator.playlist_items(short_id) == ids[:6]
    over = api.post(f"{items}bulk_add/", {"session_recording_ids": ids[:21]})
    assert over.status_code == 400
    listed = api.get(items, limit=4).json()
    assert set(listed) >= {"results", "has_next", "version"} and listed["has_next"] is True
    assert len(listed["results"]) == 6  # the limit is ignored
    emulator.delete_recording(ids[5])
    every = api.get(items).json()
    assert {r["id"] for r in every["results"]} == set(ids[:5])  # window ignored, only existing
    assert api.delete(f"{items}{ids[0]}/").json() == {"success": True}
    missing = api.delete(f"{items}{ids[0]}/")
    assert missing.status_code == 500 and "error" in missing.json()
    removed = api.post(f"{items}bulk_delete/", {"session_recording_ids": ids[1:3] + ["zz"]})
    assert removed.json() == {"success": True, "deleted_count": 2, "total_requested": 3}
    assert emulator.playlist_items(short_id) == [ids[3], ids[4], ids[5]]
    count = api.get(f"{PLAYLISTS}{short_id}/").json()["recordings_counts"]["collection"]
    assert count["count"] == 2


def test_items_of_saved_search_and_deleted_playlists(emulator: PostHogEmulator, api: Api) -> None:
    emulator.add_recording(recording_duration=10)
    long_one = emulator.add_recording(recording_duration=1000)["id"]
    filters = {
        "date_from": "-30d",
        "properties": [{"type": "recording", "key": "duration", "operator": "gt", "value": 60}],
    }
    saved = emulator.create_playlist("long", type="filters", filters=filters)["short_id"]
    listed = api.get(f"{PLAYLISTS}{saved}/recordings/").json()
    assert listed["results"] == [] and listed["has_next"] is False  # a saved search: nothing
    assert api.post(f"{PLAYLISTS}{saved}/recordings/{long_one}/").status_code == 400
    gone = emulator.create_playlist("gone", deleted=True)["short_id"]
    assert api.get(f"{PLAYLISTS}{gone}/recordings/").status_code == 404
    assert api.post(f"{PLAYLISTS}{gone}/recordings/{long_one}/").status_code == 404


def test_playlist_scopes(emulator: PostHogEmulator) -> None:
    short_id = emulator.create_playlist("c")["short_id"]
    emulator.add_api_key("phx_playlist_reader", scopes=["session_recording_playlist:read"])
    reader = Api(emulator, "phx_playlist_reader")
    assert reader.get(PLAYLISTS).status_code == 200
    assert reader.get(f"{PLAYLISTS}{short_id}/recordings/").status_code == 200
    denied = reader.post(f"{PLAYLISTS}{short_id}/recordings/abc/")
    assert denied.status_code == 403
    assert denied.json()["detail"] == (
        "API key missing required scope 'session_recording_playlist:write'"
    )
    emulator.add_api_key("phx_recordings_only", scopes=["session_recording:write"])
    assert Api(emulator, "phx_recordings_only").get(PLAYLISTS).status_code == 403


def test_synthetic_playlists() -> None:
    with PostHogEmulator() as emulator:
        api = Api(emulator, emulator.api_key)
        rid = emulator.add_recording()["id"]
        emulator.create_playlist("mine")
        listed = api.get(PLAYLISTS).json()["results"]
        synthetic = [p for p in listed if p["short_id"].startswith("synthetic-")]
        assert synthetic and all(p["is_synthetic"] for p in synthetic)
        assert len(listed) == len(synthetic) + 1
        short_id = synthetic[0]["short_id"]
        assert api.get(f"{PLAYLISTS}{short_id}/").status_code == 200
        patched = api.patch(f"{PLAYLISTS}{short_id}/", {"name": "x"})
        assert patched.status_code == 400
        assert patched.json()["detail"] == "Cannot update synthetic playlists"
        assert api.post(f"{PLAYLISTS}{short_id}/recordings/{rid}/").status_code == 403
        api.patch(f"session_recordings/{rid}/", {"viewed": True})
        history = api.get(f"{PLAYLISTS}synthetic-watch-history/recordings/").json()
        assert [r["id"] for r in history["results"]] == [rid]
    with PostHogEmulator(profile="self_hosted_legacy") as plain:
        listed = Api(plain, plain.api_key).get(PLAYLISTS).json()
        assert listed["count"] == 0
