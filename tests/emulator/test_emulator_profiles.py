"""The emulator's server profiles and PostHog's quirks, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from posthog_recordings_emulator import PROFILES, PostHogEmulator

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
RECORDINGS = "session_recordings/"
PLAYLISTS = "session_recording_playlists/"
KEY_REFUSED = {
    "type": "authentication_error",
    "code": "permission_denied",
    "detail": "This action does not support personal API key access",
    "attr": None,
}


class Api:
    """A requests.Session bound to one emulator project and key."""

    def __init__(self, emulator: PostHogEmulator, key: str | None = None) -> None:
        self.base = f"{emulator.url}/api/projects/{emulator.project_id}/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key or emulator.api_key}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=10)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=10)

    def patch(self, path: str, body: Any = None) -> requests.Response:
        return self.session.patch(self.base + path, json=body, timeout=10)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.base + path, timeout=10)


@pytest.fixture
def start() -> Iterator[Any]:
    """Start emulators (fixed clock unless given); all are stopped after the test."""
    started: list[PostHogEmulator] = []

    def make(**options: Any) -> tuple[PostHogEmulator, Api]:
        options.setdefault("clock", lambda: NOW)
        emulator = PostHogEmulator(**options).start()
        started.append(emulator)
        return emulator, Api(emulator)

    yield make
    for emulator in started:
        emulator.stop()


def _at(emulator: PostHogEmulator, days_ago: float, **fields: Any) -> str:
    return str(emulator.add_recording(start_time=NOW - timedelta(days=days_ago), **fields)["id"])


def _refused_paths(rid: str, short_id: str) -> list[tuple[str, str]]:
    items = f"{PLAYLISTS}{short_id}/recordings/"
    return [
        ("POST", f"{RECORDINGS}bulk_delete/"),
        ("POST", f"{RECORDINGS}bulk_viewed/"),
        ("POST", f"{RECORDINGS}bulk_not_viewed/"),
        ("POST", f"{items}{rid}/"),
        ("DELETE", f"{items}{rid}/"),
        ("POST", f"{items}bulk_add/"),
        ("POST", f"{items}bulk_delete/"),
    ]


def _call(api: Api, method: str, path: str, rid: str) -> requests.Response:
    if method == "DELETE":
        return api.delete(path)
    return api.post(path, {"session_recording_ids": [rid]})


# --------------------------------------------------------------------------- profiles


def test_profiles_are_exported_and_cloud_is_the_default(start: Any) -> None:
    assert set(PROFILES) == {"cloud", "cloud_bulk_delete", "self_hosted_legacy", "permissive"}
    emulator, _ = start()
    assert emulator.profile == "cloud"
    with pytest.raises(ValueError, match="known: cloud"):
        PostHogEmulator(profile="saas")


def test_cloud_refuses_bulk_and_item_changes_to_keys_whatever_the_scopes(start: Any) -> None:
    emulator, api = start()
    rid = _at(emulator, 1)
    short_id = emulator.create_playlist("c", recording_ids=[rid])["short_id"]
    for method, path in _refused_paths(rid, short_id):
        response = _call(api, method, path, rid)
        assert (response.status_code, response.json()) == (403, KEY_REFUSED), path
    assert emulator.recording_ids() == {rid} and emulator.playlist_items(short_id) == [rid]
    assert api.delete(f"{PLAYLISTS}{short_id}/").status_code == 405
    # Plain actions stay allowed.
    assert api.patch(f"{RECORDINGS}{rid}/", {"viewed": True}).json() == {"success": True}


def test_permission_is_checked_before_the_playlist_lookup(start: Any) -> None:
    probe = f"{PLAYLISTS}unknown1/recordings/bulk_add/"
    body = {"session_recording_ids": ["a"]}
    _, cloud = start()
    assert cloud.post(probe, body).status_code == 403
    _, permissive = start(profile="permissive")
    assert permissive.post(probe, body).status_code == 404


def test_cloud_delete_never_answers_404(start: Any) -> None:
    emulator, api = start()
    rid = _at(emulator, 1)
    assert api.delete(f"{RECORDINGS}{rid}/").status_code == 204
    assert api.delete(f"{RECORDINGS}{rid}/").status_code == 204
    assert api.delete(f"{RECORDINGS}never-existed/").status_code == 204


def test_cloud_bulk_delete_profile(start: Any) -> None:
    emulator, api = start(profile="cloud_bulk_delete")
    rid = _at(emulator, 1)
    short_id = emulator.create_playlist("c")["short_id"]
    for method, path in _refused_paths(rid, short_id)[1:]:
        assert _call(api, method, path, rid).status_code == 403, path
    emulator.add_api_key("phx_reader", scopes=["session_recording:read"])
    reader = Api(emulator, "phx_reader").post(
        f"{RECORDINGS}bulk_delete/", {"session_recording_ids": [rid]}
    )
    assert reader.json()["detail"] == "API key missing required scope 'session_recording:write'"
    body = api.post(f"{RECORDINGS}bulk_delete/", {"session_recording_ids": [rid]}).json()
    assert body == {"success": True, "deleted_count": 1, "total_requested": 1, "failed_ids": []}


def test_self_hosted_legacy_profile(start: Any) -> None:
    emulator, api = start(profile="self_hosted_legacy")
    ids = [_at(emulator, 1 + i / 10) for i in range(25)]
    page = api.get(RECORDINGS, limit=5).json()
    assert page["has_next"] is True and "next_cursor" not in page
    over = api.post(f"{RECORDINGS}bulk_delete/", {"session_recording_ids": ids[:21]})
    assert over.status_code == 400
    body = api.post(f"{RECORDINGS}bulk_delete/", {"session_recording_ids": ids[:2]}).json()
    assert body == {"success": True, "deleted_count": 2, "total_requested": 2}
    assert api.delete(f"{RECORDINGS}{ids[0]}/").status_code == 404
    short_id = emulator.create_playlist("c", recording_ids=ids[2:12])["short_id"]
    items = api.get(f"{PLAYLISTS}{short_id}/recordings/", limit=4, offset=4).json()
    assert len(items["results"]) == 4 and items["has_next"] is True
    assert api.post(f"{PLAYLISTS}{short_id}/recordings/bulk_add/", {"x": 1}).status_code == 403
    assert api.get(PLAYLISTS).json()["count"] == 1  # no synthetic playlists


def test_permissive_profile_allows_item_changes(start: Any) -> None:
    emulator, api = start(profile="permissive")
    rid = _at(emulator, 1)
    short_id = emulator.create_playlist("c")["short_id"]
    assert api.post(f"{PLAYLISTS}{short_id}/recordings/{rid}/").json() == {"success": True}
    assert emulator.playlist_items(short_id) == [rid]
    assert api.post(f"{RECORDINGS}bulk_viewed/", {"session_recording_ids": [rid]}).ok


def test_explicit_options_override_the_profile(start: Any) -> None:
    emulator, api = start(bulk_mode="allow", delete_missing_status=404, offset_only=True)
    rid = _at(emulator, 1)
    assert api.post(f"{RECORDINGS}bulk_viewed/", {"session_recording_ids": [rid]}).ok
    assert api.delete(f"{RECORDINGS}gone/").status_code == 404
    assert "next_cursor" not in api.get(RECORDINGS).json()
    _, no_synthetic = start(synthetic_playlists=False)
    assert no_synthetic.get(PLAYLISTS).json()["count"] == 0


# --------------------------------------------------------------------------- playlists


def test_collection_items_ignore_pagination(start: Any) -> None:
    emulator, api = start()
    ids = [_at(emulator, 400 + i) for i in range(6)]  # older than a year: still items
    short_id = emulator.create_playlist("c", recording_ids=[*ids, "deleted-one"])["short_id"]
    path = f"{PLAYLISTS}{short_id}/recordings/"
    first = api.get(path, limit=2, offset=2).json()
    assert {r["id"] for r in first["results"]} == set(ids) and first["has_next"] is True
    again = api.get(path, limit=2, after=first["next_cursor"]).json()
    assert again["results"] == first["results"] and again["next_cursor"] == first["next_cursor"]
    whole = api.get(path, limit=50).json()
    assert len(whole["results"]) == 6 and whole["has_next"] is False
    assert "next_cursor" not in whole
    counts = api.get(f"{PLAYLISTS}{short_id}/").json()["recordings_counts"]["collection"]
    assert counts == {"count": 6, "watched_count": 0, "has_more": False}


def test_playlist_items_max_rows_makes_a_listing_incomplete(start: Any) -> None:
    emulator, api = start(playlist_items_max_rows=4)
    ids = [_at(emulator, 1) for _ in range(6)]
    short_id = emulator.create_playlist("c", recording_ids=ids)["short_id"]
    listed = api.get(f"{PLAYLISTS}{short_id}/recordings/", limit=100).json()
    assert len(listed["results"]) == 4
    assert api.get(f"{PLAYLISTS}{short_id}/").json()["recordings_counts"]["collection"][
        "count"
    ] == len(ids)


def test_saved_search_items_are_empty(start: Any) -> None:
    emulator, api = start()
    _at(emulator, 1)
    saved = emulator.create_playlist("s", type="filters", filters={"date_from": "-7d"})
    listed = api.get(f"{PLAYLISTS}{saved['short_id']}/recordings/").json()
    assert listed["results"] == [] and listed["has_next"] is False


def test_playlist_list_filters_and_synthetic_playlists(start: Any) -> None:
    emulator, api = start()
    rid = _at(emulator, 1)
    pinned = emulator.create_playlist("p", pinned=True, recording_ids=[rid])["short_id"]
    emulator.create_playlist("not pinned")

    def real(**params: Any) -> list[str]:
        results = api.get(PLAYLISTS, **params).json()["results"]
        return [p["short_id"] for p in results if not p["is_synthetic"]]

    assert real(pinned="false") == [pinned]  # the value is ignored
    assert real(session_recording_id=rid) == [pinned]
    listed = api.get(PLAYLISTS).json()["results"]
    synthetic = [p["short_id"] for p in listed if p["is_synthetic"]]
    assert synthetic and all(s.startswith("synthetic-") for s in synthetic)
    patched = api.patch(f"{PLAYLISTS}{synthetic[0]}/", {"name": "x"})
    assert patched.status_code == 400
    assert patched.json()["detail"] == "Cannot update synthetic playlists"


# --------------------------------------------------------------------------- recordings


def test_bulk_delete_skips_ids_outside_its_window(start: Any) -> None:
    emulator, api = start(profile="cloud_bulk_delete")
    recent, month, old = _at(emulator, 1), _at(emulator, 30), _at(emulator, 100)
    gone = _at(emulator, 1)
    emulator.delete_recording(gone)
    ids = [recent, month, old, gone, "unknown"]
    body = api.post(f"{RECORDINGS}bulk_delete/", {"session_recording_ids": ids}).json()
    # Default window: the 90-day retention period. Skipped ids are in no list.
    assert body == {"success": True, "deleted_count": 2, "total_requested": 5, "failed_ids": []}
    assert emulator.recording_ids() == {old}
    narrow = {"session_recording_ids": [old], "date_from": "-30d"}
    assert api.post(f"{RECORDINGS}bulk_delete/", narrow).json()["deleted_count"] == 0
    iso = {"session_recording_ids": [old], "date_from": (NOW - timedelta(days=200)).isoformat()}
    assert api.post(f"{RECORDINGS}bulk_delete/", iso).json()["deleted_count"] == 1
    assert api.post(f"{RECORDINGS}bulk_delete/", {"session_recording_ids": []}).status_code == 400
    many = {"session_recording_ids": [str(i) for i in range(101)]}
    assert api.post(f"{RECORDINGS}bulk_delete/", many).status_code == 400


def test_recording_api_failure_fault(start: Any) -> None:
    emulator, api = start(profile="cloud_bulk_delete")
    rid, other = _at(emulator, 1), _at(emulator, 1)
    emulator.inject("recording_api_failure")
    assert api.get(RECORDINGS).status_code == 200  # only a deletion gets it
    failed = api.delete(f"{RECORDINGS}{rid}/")
    assert failed.status_code == 500
    assert failed.json()["type"] == "server_error"
    assert failed.json()["code"] == "recording_api_failure"
    assert emulator.recording_ids() == {rid, other}
    emulator.inject("recording_api_failure")
    body = api.post(f"{RECORDINGS}bulk_delete/", {"session_recording_ids": [rid, "x"]}).json()
    assert body["deleted_count"] == 0 and body["failed_ids"] == [rid]
    assert emulator.faults_injected == {"recording_api_failure": 2}


def test_naive_dates_are_read_in_the_project_time_zone(start: Any) -> None:
    emulator, api = start(project_timezone="America/New_York")
    rid = emulator.add_recording(start_time=datetime(2026, 2, 20, 3, 0, tzinfo=timezone.utc))["id"]
    # 2026-02-20T00:00 in New York is 05:00 UTC: the recording (03:00 UTC) is before it.
    assert api.get(RECORDINGS, date_from="2026-02-20T00:00:00").json()["results"] == []
    assert api.get(RECORDINGS, date_from="2026-02-20").json()["results"] == []
    listed = api.get(RECORDINGS, date_from="2026-02-19T22:00:00").json()["results"]
    assert [r["id"] for r in listed] == [rid]
    utc = api.get(RECORDINGS, date_from="2026-02-20T00:00:00+00:00").json()["results"]
    assert [r["id"] for r in utc] == [rid]


def test_relative_dates_with_an_unknown_letter_mean_now(start: Any) -> None:
    emulator, api = start()
    rid = _at(emulator, 0.5)
    assert [r["id"] for r in api.get(RECORDINGS, date_from="-24h").json()["results"]] == [rid]
    assert api.get(RECORDINGS, date_from="-24H").json()["results"] == []
    assert api.get(RECORDINGS, date_from="-7D").status_code == 200
    old = api.get(RECORDINGS, date_from="-3d", date_to="-30M").json()["results"]
    assert [r["id"] for r in old] == [rid]


# --------------------------------------------------------------------------- sharing


def test_sharing_answers_for_unknown_ids_and_old_tokens_work_five_minutes(start: Any) -> None:
    now = [NOW]
    emulator, api = start(clock=lambda: now[0])
    assert api.get(f"{RECORDINGS}nope/sharing/").status_code == 200
    assert api.patch(f"{RECORDINGS}nope/sharing/", {"enabled": False}).status_code == 200
    assert api.post(f"{RECORDINGS}nope/sharing/refresh/").status_code == 200
    rid = _at(emulator, 1)
    old = api.patch(f"{RECORDINGS}{rid}/sharing/", {"enabled": True}).json()["access_token"]
    new = api.post(f"{RECORDINGS}{rid}/sharing/refresh/").json()["access_token"]
    assert new != old
    assert emulator.share_token_valid(new) and emulator.share_token_valid(old)
    now[0] = NOW + timedelta(minutes=4, seconds=59)
    assert emulator.share_token_valid(old)
    now[0] = NOW + timedelta(minutes=5, seconds=1)
    assert not emulator.share_token_valid(old) and emulator.share_token_valid(new)
    api.patch(f"{RECORDINGS}{rid}/sharing/", {"enabled": False})
    assert not emulator.share_token_valid(new)
    assert not emulator.share_token_valid("never-issued")


# --------------------------------------------------------------------------- budgets


class FakeMonotonic:
    """A clock the budgets read; moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _wait(response: requests.Response) -> int:
    assert response.status_code == 429 and "Retry-After" not in response.headers
    detail = response.json()["detail"]
    return int(detail.removeprefix("Request was throttled. Expected available in ").split()[0])


def test_cloud_budgets_per_minute_and_per_hour(start: Any) -> None:
    clock = FakeMonotonic()
    emulator, api = start(monotonic=clock)
    short_id = emulator.create_playlist("c")["short_id"]
    for minute in range(5):
        clock.now = 1000.0 + minute * 61
        paths = [RECORDINGS, PLAYLISTS, f"{PLAYLISTS}{short_id}/"] * 80  # the counters are shared
        assert all(api.get(path).status_code == 200 for path in paths), minute
        wait = _wait(api.get(RECORDINGS))
        # The fifth minute's 240 spend the hour's 1,200 as well: the hour decides the wait.
        assert wait <= 60 if minute < 4 else 3000 < wait <= 3600
    clock.now += 61  # a fresh minute, but still 1,200 requests in this hour
    wait = _wait(api.get(PLAYLISTS))
    assert 3000 < wait <= 3600
    assert api.get(f"{RECORDINGS}x/sharing/").status_code == 200  # sharing has its own
    assert emulator.throttles == {"minute": 4, "hour": 2}
    clock.now += wait
    assert api.get(RECORDINGS).status_code == 200


def test_list_budgets_and_switching_budgets_off(start: Any) -> None:
    clock = FakeMonotonic()
    emulator, api = start(monotonic=clock, list_rate_limit_per_minute=2, list_rate_limit_per_hour=3)
    assert [api.get(RECORDINGS).status_code for _ in range(3)] == [200, 200, 429]
    assert api.get(PLAYLISTS).status_code == 200  # other endpoints are not list-limited
    clock.now += 61
    assert [api.get(RECORDINGS).status_code for _ in range(2)] == [200, 429]
    assert emulator.throttles == {"list_minute": 1, "list_hour": 1}
    _, unlimited = start(rate_limits=False, list_rate_limit_per_minute=1)
    assert all(unlimited.get(RECORDINGS).status_code == 200 for _ in range(300))


# --------------------------------------------------------------------------- PostHog's schema


def test_list_queries_are_checked_against_posthog_schema(start: Any) -> None:
    emulator, api = start()
    _at(emulator, 1)
    # Decoded as PostHog's view decodes them: JSON where it parses, text otherwise, and the
    # keys it drops (as_query, version, ...) are ignored.
    ok = api.get(
        "session_recordings/",
        date_from="-3d",
        limit="10",
        filter_test_accounts="false",
        as_query="true",
        hogql_filtering="true",
    )
    assert ok.status_code == 200 and len(ok.json()["results"]) == 1
    for params, field in (
        ({"date_form": "-3d"}, "date_form"),  # unknown field: extra="forbid"
        ({"limit": "ten"}, "limit"),  # wrong type
        ({"order": "loudness"}, "order"),
        ({"properties": '[{"key": "$browser", "value": "Chrome"}]'}, "properties[0]"),
    ):
        refused = api.get("session_recordings/", **params)
        assert refused.status_code == 400, params
        body = refused.json()
        assert body["type"] == "validation_error" and body["code"] == "invalid_input"
        assert field in body["detail"]


def test_hide_viewed_recordings_needs_a_newer_schema(start: Any) -> None:
    _, newer_api = start()
    assert (
        newer_api.get("session_recordings/", hide_viewed_recordings="any-user").status_code == 200
    )
    for options in ({"profile": "self_hosted_legacy"}, {"posthog_schema": "0000f87b"}):
        _, api = start(**options)
        refused = api.get("session_recordings/", hide_viewed_recordings="any-user")
        assert refused.status_code == 400
        assert "hide_viewed_recordings" in refused.json()["detail"]
    _, unchecked = start(profile="self_hosted_legacy", posthog_schema="off")
    assert unchecked.get("session_recordings/", date_form="-3d").status_code == 200
    with pytest.raises(ValueError, match="posthog_schema"):
        PostHogEmulator(posthog_schema="1999")


def test_newer_recording_keys_only_on_newer_posthog(start: Any) -> None:
    emulator, api = start()
    clicky = _at(emulator, 1, click_count=50)
    _at(emulator, 1, click_count=2)
    having = '[{"type": "recording", "key": "click_count", "operator": "gt", "value": 10}]'
    found = api.get("session_recordings/", having_predicates=having).json()["results"]
    assert [r["id"] for r in found] == [clicky]
    _, legacy = start(profile="self_hosted_legacy")
    assert legacy.get("session_recordings/", having_predicates=having).status_code == 400


def test_visited_page_and_snapshot_source_filters(start: Any) -> None:
    emulator, api = start()
    checkout = _at(emulator, 1, start_url="https://shop.example.com/checkout?step=2")
    mobile = _at(emulator, 1, start_url="https://shop.example.com/", snapshot_source="mobile")
    visited = json.dumps(
        [
            {
                "type": "recording",
                "key": "visited_page",
                "operator": "icontains",
                "value": "/checkout",
            }
        ]
    )
    assert [
        r["id"] for r in api.get("session_recordings/", properties=visited).json()["results"]
    ] == [checkout]
    source = json.dumps(
        [{"type": "recording", "key": "snapshot_source", "operator": "exact", "value": ["mobile"]}]
    )
    listed = api.get("session_recordings/", having_predicates=source).json()["results"]
    assert [r["id"] for r in listed] == [mobile]
