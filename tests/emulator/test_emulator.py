"""The PostHog emulator over real HTTP: auth, listing, recordings, bulk, sharing, seeding."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from posthog_recordings_emulator import PostHogEmulator

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
RECORDING_FIELDS = """
    id distinct_id viewed viewers recording_duration active_seconds inactive_seconds start_time
    end_time click_count keypress_count mouse_activity_count console_log_count console_warn_count
    console_error_count start_url person retention_period_days expiry_time recording_ttl
    snapshot_source ongoing activity_score has_summary
"""


class Api:
    """A tiny client: a requests.Session bound to one emulator project and key."""

    def __init__(self, emulator: PostHogEmulator, key: str | None = None, prefix: str = "projects"):
        self.emulator = emulator
        self.base = f"{emulator.url}/api/{prefix}/{emulator.project_id}/"
        self.session = requests.Session()
        if key is not None:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=10)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=10)

    def patch(self, path: str, body: Any = None) -> requests.Response:
        return self.session.patch(self.base + path, json=body, timeout=10)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.base + path, timeout=10)

    def list_all(self, **params: Any) -> list[str]:
        """Every id of a cursor-paginated list."""
        ids: list[str] = []
        while True:
            body = self.get("session_recordings/", **params).json()
            ids += [item["id"] for item in body["results"]]
            if not body["has_next"]:
                assert "next_cursor" not in body
                return ids
            params["after"] = body["next_cursor"]


@pytest.fixture
def emulator() -> Iterator[PostHogEmulator]:
    with PostHogEmulator(clock=lambda: NOW) as emu:
        yield emu


@pytest.fixture
def api(emulator: PostHogEmulator) -> Api:
    return Api(emulator, emulator.api_key)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: FURB162 - 3.10


def _recording(emulator: PostHogEmulator, recording_id: str) -> dict[str, Any]:
    record = emulator.recording(recording_id)
    assert record is not None
    return record


def _at(emulator: PostHogEmulator, days_ago: float, **fields: Any) -> str:
    record = emulator.add_recording(start_time=NOW - timedelta(days=days_ago), **fields)
    return record["id"]


# --------------------------------------------------------------------------- auth


def test_missing_and_invalid_key_are_401(emulator: PostHogEmulator) -> None:
    response = Api(emulator).get("session_recordings/")
    assert response.status_code == 401
    assert response.json()["type"] == "authentication_error"
    response = Api(emulator, "phx_wrong").get("session_recordings/")
    assert response.status_code == 401
    assert response.json() == {
        "type": "authentication_error",
        "code": "authentication_failed",
        "detail": "Personal API key found in request Authorization header is invalid.",
        "attr": None,
    }
    assert emulator.requests[-1].api_key_valid is False


def test_missing_scope_is_403_and_write_implies_read(emulator: PostHogEmulator) -> None:
    rid = _at(emulator, 1)
    emulator.add_api_key("phx_read", scopes=["session_recording:read"])
    emulator.add_api_key("phx_write", scopes=["session_recording:write"])
    reader, writer = Api(emulator, "phx_read"), Api(emulator, "phx_write")
    assert reader.get(f"session_recordings/{rid}/").status_code == 200
    denied = reader.delete(f"session_recordings/{rid}/")
    assert denied.status_code == 403
    assert denied.json() == {
        "type": "authentication_error",
        "code": "permission_denied",
        "detail": "API key missing required scope 'session_recording:write'",
        "attr": None,
    }
    assert writer.get("session_recordings/").status_code == 200
    sharing = writer.get(f"session_recordings/{rid}/sharing/")
    assert sharing.status_code == 403
    assert "sharing_configuration:read" in sharing.json()["detail"]
    assert writer.delete(f"session_recordings/{rid}/").status_code == 204


def test_project_access_and_unknown_project(emulator: PostHogEmulator) -> None:
    emulator.add_api_key("phx_other_project", project_ids=[2])
    response = Api(emulator, "phx_other_project").get("session_recordings/")
    assert response.status_code == 403
    assert response.json()["detail"] == "API key does not have access to the requested project"
    unknown = requests.get(
        f"{emulator.url}/api/projects/999/session_recordings/",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"


def test_routes_alias_trailing_slash_and_unknown(emulator: PostHogEmulator) -> None:
    rid = _at(emulator, 1)
    alias = Api(emulator, emulator.api_key, prefix="environments")
    assert alias.get("session_recordings/").json()["results"][0]["id"] == rid
    api = Api(emulator, emulator.api_key)
    assert api.get(f"session_recordings/{rid}").status_code == 200
    missing = api.get("insights/")
    assert missing.status_code == 404
    assert missing.json()["type"] == "invalid_request"
    put = api.session.put(api.base + f"session_recordings/{rid}/", json={}, timeout=10)
    assert put.status_code == 405


# --------------------------------------------------------------------------- listing


def test_list_shape_and_default_three_day_window(emulator: PostHogEmulator, api: Api) -> None:
    recent = {_at(emulator, 0.5), _at(emulator, 2.9)}
    _at(emulator, 3.1)
    _at(emulator, 10)
    emulator.add_recording(start_time=None)
    body = api.get("session_recordings/").json()
    assert set(body) == {"results", "has_next", "version"}
    assert body["version"] == 4 and body["has_next"] is False
    assert {item["id"] for item in body["results"]} == recent
    item = body["results"][0]
    expected = set(RECORDING_FIELDS.split())
    assert expected <= set(item), expected - set(item)
    assert item["start_time"].endswith("Z")
    assert set(item["person"]) >= {"id", "uuid", "name", "distinct_ids", "properties"}


def test_explicit_windows(emulator: PostHogEmulator, api: Api) -> None:
    ids = {days: _at(emulator, days) for days in (1, 5, 20, 40)}
    assert set(api.list_all(date_from="-7d")) == {ids[1], ids[5]}
    assert set(api.list_all(date_from="-30d", date_to="-2d")) == {ids[5], ids[20]}
    assert len(api.list_all(date_from="-2m")) == 4  # m is months, as on PostHog
    assert set(api.list_all(date_from="-36h")) == {ids[1]}
    assert set(api.list_all(date_from="-1500M")) == {ids[1]}  # M is minutes
    naive = (NOW - timedelta(days=25)).replace(tzinfo=None).isoformat()
    assert set(api.list_all(date_from=naive)) == {ids[1], ids[5], ids[20]}
    aware = (NOW - timedelta(days=25)).isoformat()
    zulu = (NOW - timedelta(days=3)).isoformat().replace("+00:00", "Z")
    assert set(api.list_all(date_from=aware, date_to=zulu)) == {ids[5], ids[20]}
    assert len(api.list_all(date_from="all")) == 4
    day = (NOW - timedelta(days=5)).date().isoformat()
    # A bare date_to is 00:00 of that day: the day itself is excluded.
    assert set(api.list_all(date_from="-30d", date_to=day)) == {ids[20]}
    bad = api.get("session_recordings/", date_from="yesterday-ish")
    assert bad.status_code == 400 and bad.json()["attr"] == "date_from"


def test_cursor_pagination_lists_every_recording_once(emulator: PostHogEmulator, api: Api) -> None:
    seeded = emulator.seed_recordings(300, days=60, end=NOW)
    ids = api.list_all(date_from="-61d", limit=47)
    assert len(ids) == 300 and set(ids) == set(seeded)
    first = api.get("session_recordings/", date_from="-61d", limit=47).json()
    assert first["has_next"] and isinstance(first["next_cursor"], str)


def test_cursor_pagination_survives_changes_between_pages(
    emulator: PostHogEmulator, api: Api
) -> None:
    original = set(emulator.seed_recordings(200, days=30, end=NOW - timedelta(hours=1)))
    params: dict[str, Any] = {"date_from": "-31d", "limit": 30}
    seen: list[str] = []
    deleted_unseen: set[str] = set()
    while True:
        body = api.get("session_recordings/", **params).json()
        seen += [item["id"] for item in body["results"]]
        if not body["has_next"]:
            break
        params["after"] = body["next_cursor"]
        # between pages: someone deletes a seen and an unseen one, and new ones arrive
        emulator.delete_recording(seen[-1])
        unseen = sorted((original & emulator.recording_ids()) - set(seen))
        if unseen:
            emulator.delete_recording(unseen[0])
            deleted_unseen.add(unseen[0])
        emulator.add_recording(start_time=NOW - timedelta(minutes=5))
    assert len(seen) == len(set(seen))
    assert not set(seen) & deleted_unseen
    assert set(seen) <= original
    assert len(seen) + len(deleted_unseen) == 200


def test_offset_mode(emulator: PostHogEmulator, api: Api) -> None:
    seeded = emulator.seed_recordings(25, days=2, end=NOW)
    page = api.get("session_recordings/", offset=0, limit=10).json()
    assert page["has_next"] is True and "next_cursor" not in page
    ids = [item["id"] for item in page["results"]]
    ids += [i["id"] for i in api.get("session_recordings/", offset=10, limit=10).json()["results"]]
    last = api.get("session_recordings/", offset=20, limit=10).json()
    assert last["has_next"] is False
    ids += [item["id"] for item in last["results"]]
    assert sorted(ids) == sorted(seeded)
    for params in ({"limit": "x"}, {"limit": -1}, {"offset": -5}, {"offset": "a"}):
        response = api.get("session_recordings/", **params)
        assert response.status_code == 400, params
        assert response.json()["type"] == "validation_error"
    assert api.get("session_recordings/", after="not-a-cursor").status_code == 400


def test_offset_only_server_ignores_after() -> None:
    with PostHogEmulator(offset_only=True, clock=lambda: NOW) as emulator:
        emulator.seed_recordings(15, days=2, end=NOW)
        api = Api(emulator, emulator.api_key)
        first = api.get("session_recordings/", limit=10).json()
        assert first["has_next"] is True and "next_cursor" not in first
        again = api.get("session_recordings/", limit=10, after="whatever").json()
        assert again["results"] == first["results"]
        rest = api.get("session_recordings/", limit=10, offset=10).json()
        assert len(rest["results"]) == 5 and rest["has_next"] is False


def test_filters(emulator: PostHogEmulator, api: Api) -> None:
    a = _at(emulator, 1, distinct_id="alice", recording_duration=30, console_error_count=0)
    b = _at(emulator, 1, distinct_id="bob", recording_duration=600, console_error_count=3)
    c = _at(emulator, 2, distinct_id="carol", recording_duration=90, console_warn_count=2)
    old = _at(emulator, 50, distinct_id="alice")
    assert set(api.list_all(distinct_ids='["alice","bob"]')) == {a, b}
    person = _recording(emulator, a)["person"]["uuid"]
    assert set(api.list_all(person_uuid=person, date_from="-60d")) == {a, old}
    assert set(api.list_all(session_ids=json.dumps([a, old]))) == {a, old}
    # distinct_ids given: person_uuid is ignored, not combined.
    both = {"distinct_ids": '["bob"]', "person_uuid": person, "date_from": "-60d"}
    assert set(api.list_all(**both)) == {b}
    long_ones = json.dumps(
        [{"type": "recording", "key": "duration", "operator": "gt", "value": 60}]
    )
    assert set(api.list_all(having_predicates=long_ones)) == {b, c}
    # A recording metric in properties is applied to events by PostHog: it matches nothing.
    assert api.list_all(properties=long_ones) == []
    exact = json.dumps([{"type": "recording", "key": "duration", "operator": "exact", "value": 90}])
    assert set(api.list_all(having_predicates=exact)) == {c}
    # PostHog's schema allows only its recording keys there (the server's pydantic is looser,
    # its UI never sends others): the emulator answers 400 as PostHog's validation does.
    for key in ("console_error_count", "ongoing", "recording_duration", "activity_score"):
        other = json.dumps([{"type": "recording", "key": key, "operator": "gte", "value": 1}])
        refused = api.get("session_recordings/", having_predicates=other)
        assert refused.status_code == 400, key
        assert (
            refused.json()["type"] == "validation_error"
            and "having_predicates" in (refused.json()["detail"])
        )
    level = [{"key": "level", "type": "log_entry", "operator": "exact", "value": ["error"]}]
    assert set(api.list_all(console_log_filters=json.dumps(level))) == {b}
    level[0]["value"] = ["warn"]
    assert set(api.list_all(console_log_filters=json.dumps(level))) == {c}
    short = [{"type": "recording", "key": "duration", "operator": "lt", "value": 60}]
    either = {"having_predicates": json.dumps(short), "console_log_filters": json.dumps(level)}
    assert set(api.list_all(operand="OR", **either)) == {a, c}
    assert api.list_all(operand="AND", **either) == []
    person_filter = [{"type": "person", "key": "email", "operator": "exact", "value": "x"}]
    unsupported = api.get("session_recordings/", properties=json.dumps(person_filter))
    assert unsupported.status_code == 400 and "emulator" in unsupported.json()["detail"]
    assert api.get("session_recordings/", properties="[not json").status_code == 400
    assert api.get("session_recordings/", filter_test_accounts="true").status_code == 200


def test_hide_viewed(emulator: PostHogEmulator, api: Api) -> None:
    mine, theirs, fresh = _at(emulator, 1), _at(emulator, 1), _at(emulator, 1)
    emulator.add_api_key("phx_colleague")
    assert api.patch(f"session_recordings/{mine}/", {"viewed": True}).status_code == 200
    colleague = Api(emulator, "phx_colleague")
    assert colleague.patch(f"session_recordings/{theirs}/", {"viewed": True}).status_code == 200
    assert set(api.list_all(hide_viewed_recordings="current-user")) == {theirs, fresh}
    assert set(api.list_all(hide_viewed_recordings="any-user")) == {fresh}


def test_ordering(emulator: PostHogEmulator, api: Api) -> None:
    emulator.seed_recordings(60, days=2, end=NOW)
    for order in ("duration", "console_error_count", "start_time", "activity_score"):
        for direction in ("ASC", "DESC"):
            results: list[dict[str, Any]] = []
            params: dict[str, Any] = {"order": order, "order_direction": direction, "limit": 7}
            while True:
                body = api.get("session_recordings/", **params).json()
                results += body["results"]
                if not body["has_next"]:
                    break
                params["after"] = body["next_cursor"]
            field = "recording_duration" if order == "duration" else order
            values = [item[field] for item in results]
            assert values == sorted(values, reverse=direction == "DESC")
            assert len({item["id"] for item in results}) == 60
    assert api.get("session_recordings/", order="name").status_code == 400
    assert api.get("session_recordings/", order_direction="UP").status_code == 400


# --------------------------------------------------------------------------- one recording


def test_get_patch_delete(emulator: PostHogEmulator, api: Api) -> None:
    rid = _at(emulator, 1)
    assert api.get(f"session_recordings/{rid}/").json()["id"] == rid
    missing = api.get("session_recordings/nope/")
    assert missing.status_code == 404 and missing.json()["detail"] == "Recording not found"
    assert api.patch(f"session_recordings/{rid}/", {"analyzed": True}).json() == {"success": True}
    assert emulator.viewed_ids() == set()
    for body in ({}, {"viewed": False}, None):
        assert api.patch(f"session_recordings/{rid}/", body).status_code == 400
    assert api.patch(f"session_recordings/{rid}/", {"viewed": True}).json() == {"success": True}
    assert emulator.viewed_ids() == {rid}
    assert api.get(f"session_recordings/{rid}/").json()["viewed"] is True
    emulator.add_api_key("phx_colleague")
    seen_by_colleague = Api(emulator, "phx_colleague").get(f"session_recordings/{rid}/").json()
    assert seen_by_colleague["viewed"] is False
    assert seen_by_colleague["viewers"] == ["emulator@example.com"]
    bad_json = api.session.patch(api.base + f"session_recordings/{rid}/", data="{oops", timeout=10)
    assert bad_json.status_code == 400
    first = api.delete(f"session_recordings/{rid}/")
    assert first.status_code == 204 and first.content == b""
    assert api.delete(f"session_recordings/{rid}/").status_code == 204
    assert emulator.deleted_ids == {rid} and rid not in emulator.recording_ids()
    assert api.get(f"session_recordings/{rid}/").status_code == 404


def test_delete_missing_status_of_older_servers() -> None:
    with PostHogEmulator(delete_missing_status=404) as emulator:
        rid = emulator.add_recording()["id"]
        api = Api(emulator, emulator.api_key)
        assert api.delete(f"session_recordings/{rid}/").status_code == 204
        again = api.delete(f"session_recordings/{rid}/")
        assert again.status_code == 404 and again.json()["code"] == "not_found"


def test_out_of_band_delete(emulator: PostHogEmulator, api: Api) -> None:
    rid = _at(emulator, 1)
    emulator.delete_recording(rid)
    assert api.get(f"session_recordings/{rid}/").status_code == 404
    assert rid in emulator.deleted_ids
    assert emulator.request_count == 1


# --------------------------------------------------------------------------- bulk


@pytest.fixture
def bulk_emulator() -> Iterator[PostHogEmulator]:
    with PostHogEmulator(profile="cloud_bulk_delete", clock=lambda: NOW) as emu:
        yield emu


def test_bulk_delete(bulk_emulator: PostHogEmulator) -> None:
    emulator, api = bulk_emulator, Api(bulk_emulator, bulk_emulator.api_key)
    ids = emulator.seed_recordings(150, days=2, end=NOW)
    body = api.post("session_recordings/bulk_delete/", {"session_recording_ids": ids[:3] + ["x"]})
    # An unknown id is skipped silently: only in total_requested.
    assert body.json() == {
        "success": True,
        "deleted_count": 3,
        "total_requested": 4,
        "failed_ids": [],
    }
    too_many = api.post("session_recordings/bulk_delete/", {"session_recording_ids": ids[3:104]})
    assert too_many.status_code == 400 and too_many.json()["type"] == "validation_error"
    exactly = api.post("session_recordings/bulk_delete/", {"session_recording_ids": ids[3:103]})
    assert exactly.json()["deleted_count"] == 100
    empty = api.post("session_recordings/bulk_delete/", {"session_recording_ids": []})
    assert empty.status_code == 400
    assert api.post("session_recordings/bulk_delete/", {}).status_code == 400
    assert len(emulator.recording_ids()) == 47
    assert api.get("session_recordings/bulk_delete/").status_code == 405


def test_bulk_delete_of_older_servers() -> None:
    with PostHogEmulator(profile="self_hosted_legacy") as emulator:
        ids = emulator.seed_recordings(30)
        api = Api(emulator, emulator.api_key)
        over = api.post("session_recordings/bulk_delete/", {"session_recording_ids": ids[:21]})
        assert over.status_code == 400
        body = api.post("session_recordings/bulk_delete/", {"session_recording_ids": ids[:20]})
        assert body.json() == {"success": True, "deleted_count": 20, "total_requested": 20}


def test_bulk_viewed_and_not_viewed() -> None:
    emulator = PostHogEmulator(profile="permissive", clock=lambda: NOW).start()
    api = Api(emulator, emulator.api_key)
    ids = emulator.seed_recordings(25, days=2, end=NOW)
    viewed = api.post("session_recordings/bulk_viewed/", {"session_recording_ids": ids[:20]})
    assert viewed.json() == {"success": True, "viewed_count": 20, "total_requested": 20}
    assert emulator.viewed_ids() == set(ids[:20])
    over = api.post("session_recordings/bulk_viewed/", {"session_recording_ids": ids[:21]})
    assert over.status_code == 400
    body = {"session_recording_ids": ids[:5] + ["gone"]}
    not_viewed = api.post("session_recordings/bulk_not_viewed/", body)
    assert not_viewed.json() == {"success": True, "not_viewed_count": 5, "total_requested": 6}
    assert emulator.viewed_ids() == set(ids[5:20])
    emulator.stop()


@pytest.mark.parametrize(("mode", "status"), [("refuse", 403), ("missing", 404)])
def test_bulk_mode(mode: str, status: int) -> None:
    with PostHogEmulator(bulk_mode=mode) as emulator:
        ids = emulator.seed_recordings(3)
        short_id = emulator.create_playlist("p")["short_id"]
        api = Api(emulator, emulator.api_key)
        body = {"session_recording_ids": ids}
        for path in (
            "session_recordings/bulk_delete/",
            "session_recordings/bulk_viewed/",
            "session_recordings/bulk_not_viewed/",
            f"session_recording_playlists/{short_id}/recordings/bulk_add/",
            f"session_recording_playlists/{short_id}/recordings/bulk_delete/",
        ):
            response = api.post(path, body)
            assert response.status_code == status, path
        if mode == "refuse":
            assert response.json() == {
                "type": "authentication_error",
                "code": "permission_denied",
                "detail": "This action does not support personal API key access",
                "attr": None,
            }
        assert emulator.recording_ids() == set(ids)
        assert api.delete(f"session_recordings/{ids[0]}/").status_code == 204


# --------------------------------------------------------------------------- sharing


def test_sharing_lifecycle(emulator: PostHogEmulator, api: Api) -> None:
    rid = _at(emulator, 1)
    path = f"session_recordings/{rid}/sharing/"
    first, second = api.get(path).json(), api.get(path).json()
    assert first["enabled"] is False and first["created_at"] is None
    assert first["access_token"] != second["access_token"]
    assert {"enabled", "access_token", "created_at", "settings", "password_required"} <= set(first)
    enabled = api.patch(path, {"enabled": True}).json()
    assert enabled["enabled"] is True and enabled["created_at"] is not None
    assert api.get(path).json()["access_token"] == enabled["access_token"]
    assert emulator.sharing_enabled_ids() == {rid}
    rotated = api.post(path + "refresh/").json()
    assert rotated["access_token"] != enabled["access_token"] and rotated["enabled"] is True
    assert api.get(path).json()["access_token"] == rotated["access_token"]
    revoked = api.patch(path, {"enabled": False}).json()
    assert revoked["enabled"] is False and emulator.sharing_enabled_ids() == set()
    assert api.patch(path, {"enabled": "yes"}).status_code == 400
    # The sharing endpoints do not check that the recording exists.
    assert api.get("session_recordings/missing/sharing/").status_code == 200
    other = _at(emulator, 1)
    emulator.set_sharing(other, True)
    assert api.get(f"session_recordings/{other}/sharing/").json()["enabled"] is True


# --------------------------------------------------------------------------- seeding


def test_seeding_is_deterministic_and_realistic() -> None:
    end = datetime(2026, 2, 1, tzinfo=timezone.utc)
    with PostHogEmulator() as one, PostHogEmulator() as two, PostHogEmulator() as three:
        a = one.seed_recordings(200, days=30, seed=7, ongoing=5, persons=10, end=end)
        b = two.seed_recordings(200, days=30, seed=7, ongoing=5, persons=10, end=end)
        c = three.seed_recordings(200, days=30, seed=8, ongoing=5, persons=10, end=end)
        assert a == b and a != c and len(set(a)) == 200
        assert [one.recording(i) for i in a] == [two.recording(i) for i in b]
        records = [_recording(one, i) for i in a]
    assert sum(r["ongoing"] for r in records) == 5
    assert sum(r["console_error_count"] > 0 for r in records) == 40
    assert len({r["person"]["uuid"] for r in records}) <= 10
    starts = [_parse(r["start_time"]) for r in records]
    assert all(end - timedelta(days=30) <= s <= end for s in starts)
    assert max(starts) - min(starts) > timedelta(days=25)
    for r in records:
        assert r["recording_duration"] == r["active_seconds"] + r["inactive_seconds"]
        assert r["distinct_id"] in r["person"]["distinct_ids"]
        assert r["start_url"].startswith("https://")


def test_add_recording_defaults(emulator: PostHogEmulator, api: Api) -> None:
    record = emulator.add_recording(id="s-1", start_time="2026-02-28T10:00:00Z", extra="kept")
    assert record["start_time"] == "2026-02-28T10:00:00Z" and record["extra"] == "kept"
    assert api.get("session_recordings/s-1/").json()["extra"] == "kept"
    nulls = emulator.add_recording(start_time=None)
    assert nulls["start_time"] is None and nulls["end_time"] is None
    assert api.list_all(date_from="-3000d") == ["s-1"]
    assert api.list_all(session_ids=json.dumps([nulls["id"]])) == [nulls["id"]]
    with pytest.raises(ValueError):
        emulator.add_recording(id="s-1")


# --------------------------------------------------------------------------- server


def test_keep_alive_and_concurrency(emulator: PostHogEmulator) -> None:
    emulator.seed_recordings(50, days=2, end=NOW)
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    for _ in range(3):  # three requests on one connection
        connection.request("GET", "/api/projects/1/session_recordings/?limit=5", headers=headers)
        response = connection.getresponse()
        assert response.status == 200 and len(json.loads(response.read())["results"]) == 5
    connection.close()
    failures: list[Any] = []

    def worker() -> None:
        api = Api(emulator, emulator.api_key)
        for _ in range(10):
            response = api.get("session_recordings/", limit=10)
            if response.status_code != 200:
                failures.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and emulator.request_count == 203
    assert emulator.internal_errors == []


def test_stop_is_idempotent_and_closes_the_port() -> None:
    emulator = PostHogEmulator().start()
    url = emulator.url
    session = requests.Session()
    assert session.get(url + "/api/projects/1/session_recordings/", timeout=5).status_code == 401
    emulator.stop()
    emulator.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url + "/api/projects/1/session_recordings/", timeout=5)
    with pytest.raises(RuntimeError):
        _ = PostHogEmulator().url


def test_request_log(emulator: PostHogEmulator, api: Api) -> None:
    api.get("session_recordings/", limit=5)
    api.post("session_recordings/bulk_viewed/", {"session_recording_ids": ["a"]})
    first, second = emulator.requests
    assert (first.method, first.path, first.query, first.status) == (
        "GET",
        "/api/projects/1/session_recordings/",
        {"limit": "5"},
        200,
    )
    assert first.api_key_valid and first.body is None
    assert second.body == {"session_recording_ids": ["a"]}
    emulator.reset_requests()
    assert emulator.request_count == 0


def test_list_sees_changes_between_requests(emulator: PostHogEmulator, api: Api) -> None:
    first = _at(emulator, 1, recording_duration=100)
    assert api.list_all(order="duration") == [first]
    second = _at(emulator, 1, recording_duration=200)
    assert api.list_all(order="duration") == [second, first]
    emulator.delete_recording(second)
    assert api.list_all(order="duration") == [first]
    updated = emulator.update_recording(first, ongoing=True, recording_duration=5)
    assert updated["ongoing"] is True
    assert api.get(f"session_recordings/{first}/").json()["recording_duration"] == 5
    with pytest.raises(KeyError):
        emulator.update_recording(second, ongoing=False)
