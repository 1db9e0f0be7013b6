"""Playlist curation against the emulator: one playlist, each matching recording once.

Collections need a server that lets the key change items (the ``permissive`` profile of the
``posthog_conn`` fixture); the saved-search default is tested on the Cloud profile.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook
from airflow_provider_posthog_recordings.operators.playlist_operators import (
    PostHogCuratePlaylistOperator,
)

ERRORS = {
    "date_from": "-7d",
    "console_log_filters": [
        {"key": "level", "type": "log_entry", "operator": "exact", "value": ["error"]}
    ],
}


def _with_errors(emulator: Any) -> list[str]:
    return [
        rid
        for rid in emulator.recording_ids()
        if (emulator.recording(rid).get("console_error_count") or 0) > 0
        and datetime.fromisoformat(emulator.recording(rid)["start_time"].replace("Z", "+00:00"))
        >= datetime.now(timezone.utc) - timedelta(days=7)
    ]


def _op(**kwargs: Any) -> PostHogCuratePlaylistOperator:
    settings: dict[str, Any] = {
        "task_id": "curate",
        "name": "Errors",
        "query": ERRORS,
        "playlist_type": "collection",
    }
    settings.update(kwargs)
    return PostHogCuratePlaylistOperator(**settings)


def test_two_runs_leave_one_playlist_with_each_match_once(posthog_conn: Any) -> None:
    posthog_conn.seed_recordings(300, days=14, seed=31, error_fraction=0.3)
    expected = set(_with_errors(posthog_conn))
    first = _op(max_recordings=500).execute({})
    second = _op(max_recordings=500).execute({})
    live = [p for p in posthog_conn.playlists() if not p["deleted"]]
    assert [p["name"] for p in live] == ["Errors"]
    items = posthog_conn.playlist_items(first["short_id"])
    assert len(items) == len(set(items)) and set(items) == expected
    assert first["added"] == len(expected) and first["total"] == len(expected)
    assert second["added"] == 0 and second["removed"] == 0 and second["total"] == len(expected)
    assert first["url"] == f"{posthog_conn.url}/project/1/replay/playlists/{first['short_id']}"


def test_max_recordings_keeps_the_newest(posthog_conn: Any) -> None:
    posthog_conn.seed_recordings(200, days=6, seed=32, error_fraction=0.5)
    summary = _op(max_recordings=10).execute({})
    items = posthog_conn.playlist_items(summary["short_id"])
    starts = {rid: posthog_conn.recording(rid)["start_time"] for rid in _with_errors(posthog_conn)}
    newest = sorted(starts, key=lambda rid: starts[rid], reverse=True)[:10]
    assert set(items) == set(newest)


def test_remove_stale_removes_what_no_longer_matches(posthog_conn: Any) -> None:
    posthog_conn.seed_recordings(120, days=6, seed=33, error_fraction=0.5)
    summary = _op(max_recordings=500).execute({})
    short_id = summary["short_id"]
    gone = posthog_conn.playlist_items(short_id)[0]
    posthog_conn.delete_recording(gone)
    stranger = posthog_conn.add_recording(console_error_count=0)["id"]
    PostHogHook().get_client().add_to_playlist(short_id, [stranger])
    kept = _op(max_recordings=500).execute({})
    assert kept["removed"] == 0 and stranger in posthog_conn.playlist_items(short_id)

    result = _op(max_recordings=500, remove_stale=True).execute({})
    visible = {r.id for r in PostHogHook().get_client().iter_playlist_recordings(short_id)}
    assert result["removed"] == 1 and stranger not in posthog_conn.playlist_items(short_id)
    # A deleted recording is no longer listed by PostHog, so it no longer counts as an item.
    assert gone not in visible
    assert visible == set(_with_errors(posthog_conn))
    assert result["total"] == len(visible)


def test_works_when_bulk_is_refused(emulator_factory: Any, monkeypatch: Any, no_sleep: Any) -> None:
    from tests.helpers import connection_json

    server = emulator_factory(bulk_mode="refuse")
    server.seed_recordings(60, days=6, seed=34, error_fraction=0.5)
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server))
    summary = _op(max_recordings=500).execute({})
    assert set(server.playlist_items(summary["short_id"])) == set(_with_errors(server))
    assert not [r for r in server.requests if r.path.endswith("bulk_add/") and r.status == 200]


def test_refuses_a_filters_playlist(posthog_conn: Any) -> None:
    posthog_conn.create_playlist("Errors", type="filters", filters={"date_from": "-7d"})
    with pytest.raises(PostHogError, match="is a 'filters' playlist, not 'collection'"):
        _op().execute({})


def test_refuses_an_ambiguous_name(posthog_conn: Any) -> None:
    posthog_conn.create_playlist("Errors")
    posthog_conn.create_playlist("Errors")
    with pytest.raises(PostHogError, match="2 playlists are named 'Errors'"):
        _op().execute({})


def test_ignores_deleted_and_synthetic_playlists(posthog_conn: Any) -> None:
    old = posthog_conn.create_playlist("Errors", deleted=True)
    summary = _op().execute({})
    assert summary["short_id"] != old["short_id"]


def test_pins_the_playlist_when_asked(posthog_conn: Any) -> None:
    summary = _op(pinned=True, description="auto").execute({})
    [playlist] = [p for p in posthog_conn.playlists() if p["short_id"] == summary["short_id"]]
    assert playlist["pinned"] is True and playlist["description"] == "auto"


# ------------------------------------------------------------------ PostHog Cloud, personal key


def test_saved_search_is_the_default_and_works_with_a_personal_key(cloud_conn: Any) -> None:
    op = PostHogCuratePlaylistOperator(
        task_id="curate", name="Errors", query=ERRORS, pinned=True, description="auto"
    )
    cloud_conn.seed_recordings(40, days=10, seed=36, error_fraction=0.4)
    first = op.execute({})
    assert first["playlist_type"] == "filters" and first["created"] is True
    # PostHog's own count of the saved search (its backend's reading of the filters).
    assert first["matching"] == len(_with_errors(cloud_conn)) > 0
    [playlist] = [p for p in cloud_conn.playlists() if p["name"] == "Errors"]
    assert playlist["type"] == "filters" and playlist["pinned"] is True
    assert playlist["filters"]["date_from"] == "-7d"
    assert playlist["filters"]["filter_group"]["values"][0]["values"] == [
        {"type": "log_entry", "key": "level", "operator": "exact", "value": ["error"]}
    ]
    writes = [r for r in cloud_conn.requests if r.method in ("POST", "PATCH", "DELETE")]
    assert all(r.status is not None and r.status < 300 for r in writes)

    again = op.execute({})
    assert again["created"] is False and again["updated"] is False
    changed = PostHogCuratePlaylistOperator(
        task_id="curate", name="Errors", query={**ERRORS, "date_from": "-14d"}, pinned=True
    ).execute({})
    assert changed["updated"] is True and changed["short_id"] == first["short_id"]
    [playlist] = [p for p in cloud_conn.playlists() if p["name"] == "Errors"]
    assert playlist["filters"]["date_from"] == "-14d"


def test_collection_on_cloud_fails_before_changing_anything_and_names_filters(
    cloud_conn: Any,
) -> None:
    cloud_conn.seed_recordings(20, days=6, seed=35, error_fraction=0.5)
    with pytest.raises(PostHogError, match="playlist_type='filters'"):
        _op().execute({})
    assert [p for p in cloud_conn.playlists() if not p["short_id"].startswith("synthetic-")] == []
    assert all(r.method in ("GET", "POST") for r in cloud_conn.requests)
    assert [r.status for r in cloud_conn.requests if r.method == "POST"] == [403]


def test_saved_search_refuses_what_it_cannot_express(cloud_conn: Any) -> None:
    with pytest.raises(PostHogError, match="cannot filter by \\['distinct_ids'\\]"):
        PostHogCuratePlaylistOperator(
            task_id="curate", name="One person", query={"date_from": "-7d", "distinct_ids": ["a"]}
        ).execute({})
    unviewed = {"date_from": "-7d", "hide_viewed_recordings": "current-user"}
    with pytest.raises(PostHogError, match="cannot hide viewed recordings"):
        PostHogCuratePlaylistOperator(task_id="curate", name="New", query=unviewed).execute({})
    assert cloud_conn.request_count == 0


def test_the_extra_link_points_at_the_playlist() -> None:
    link = PostHogCuratePlaylistOperator.operator_extra_links[0]
    assert link.name == "PostHog playlist"


@pytest.mark.parametrize(
    ("fault", "acted"), [("drop_after", True), ("drop_before", False)], ids=["acted", "not-acted"]
)
def test_a_lost_answer_to_the_create_is_looked_up_never_resent(
    cloud_conn: Any, fault: str, acted: bool
) -> None:
    """The connection drops on the create: after the server made the playlist (its answer is
    lost) the name is looked up and the run goes on with it; before it, the run fails and a
    rerun creates it. Either way the create is sent once and one playlist exists at most."""
    cloud_conn.seed_recordings(20, days=3)
    cloud_conn.inject(fault, times=1, method="POST", path_contains="session_recording_playlists")
    op = PostHogCuratePlaylistOperator(task_id="curate", name="Lost", query={"date_from": "-7d"})
    if acted:
        summary = op.execute({})
        assert summary["created"] is True
    else:
        with pytest.raises(PostHogError, match="PostHog API POST"):
            op.execute({})
    creates = [r for r in cloud_conn.requests if r.method == "POST"]
    assert len(creates) == 1  # never sent twice
    named = [p for p in cloud_conn.playlists() if p["name"] == "Lost" and not p.get("deleted")]
    assert len(named) == (1 if acted else 0)


def test_more_matches_than_posthog_counts_are_reported_as_at_least(
    cloud_conn: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostHog counts one page (50) of a saved search and says there are more."""
    cloud_conn.seed_recordings(150, days=6, seed=37, error_fraction=0.6)
    matching = len(_with_errors(cloud_conn))
    assert matching > 50
    op = PostHogCuratePlaylistOperator(task_id="curate", name="Errors", query=ERRORS)
    with caplog.at_level("INFO"):
        summary = op.execute({})
    assert summary["matching"] is None and summary["matching_at_least"] == 50
    logged = caplog.text + capsys.readouterr().out
    assert "at least 50 recordings match" in logged
    assert "matching=50" not in logged
