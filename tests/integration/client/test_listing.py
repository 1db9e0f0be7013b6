"""Listing against the emulator: every pagination shape, nothing lost or repeated."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import (
    PostHogConfigError,
    PostHogPaginationError,
)
from airflow_provider_posthog_recordings.client.query import RecordingsQuery


def test_cursor_pagination_lists_each_recording_once(posthog: Any, client: Any) -> None:
    ids = posthog.seed_recordings(230, days=20, seed=1)
    got = [r.id for r in client.iter_recordings({"date_from": "-30d"}, page_size=50)]
    assert sorted(got) == sorted(ids)
    assert len(got) == len(set(got))
    list_requests = [r for r in posthog.requests if r.path.endswith("/session_recordings/")]
    assert len(list_requests) == 5
    assert all("offset" not in r.query for r in list_requests)
    assert [("after" in r.query) for r in list_requests] == [False, True, True, True, True]


def test_offset_only_server_is_paginated_by_offset(emulator_factory: Any, client_for: Any) -> None:
    old = emulator_factory(offset_only=True)
    ids = old.seed_recordings(130, days=10, seed=2)
    client = client_for(old)
    got = [r.id for r in client.iter_recordings({"date_from": "-30d"}, page_size=40)]
    assert sorted(got) == sorted(ids)
    offsets = [r.query.get("offset", "0") for r in old.requests]
    assert offsets == ["0", "40", "80", "120"]


def test_pages_stay_stable_when_recordings_are_deleted_between_pages(
    posthog: Any, client: Any
) -> None:
    ids = posthog.seed_recordings(120, days=10, seed=3)
    seen: list[str] = []
    for page_number, page in enumerate(
        client.iter_recording_pages({"date_from": "-30d"}, page_size=30)
    ):
        seen.extend(r.id for r in page)
        if page_number == 0:
            for rid in seen[:10]:
                posthog.delete_recording(rid)
    assert sorted(seen) == sorted(ids)


def test_default_page_size_is_large(posthog: Any, client: Any) -> None:
    posthog.seed_recordings(10, days=1)
    list(client.iter_recordings({"date_from": "-2d"}))
    assert posthog.requests[0].query["limit"] == "500"


def test_without_date_from_only_three_days_are_seen(posthog: Any, client: Any) -> None:
    now = datetime.now(timezone.utc)
    recent = posthog.add_recording(start_time=now - timedelta(days=1))
    posthog.add_recording(start_time=now - timedelta(days=10))
    assert [r.id for r in client.iter_recordings()] == [recent["id"]]
    assert len(list(client.iter_recordings({"date_from": "-30d"}))) == 2


def test_query_parameters_are_sent_as_the_api_wants(posthog: Any, client: Any) -> None:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    query = RecordingsQuery(
        date_from=start,
        distinct_id="user-1",
        having_predicates=[{"type": "recording", "key": "duration", "operator": "gt", "value": 60}],
        filter_test_accounts=True,
    )
    list(client.iter_recordings(query))
    sent = posthog.requests[0].query
    assert sent["distinct_ids"] == '["user-1"]'
    assert sent["date_from"] == "2026-01-01T00:00:00+00:00"
    predicates = '[{"type":"recording","key":"duration","operator":"gt","value":60}]'
    assert sent["having_predicates"] == predicates
    assert sent["filter_test_accounts"] == "true"


def test_distinct_id_filter_returns_only_that_person(posthog: Any, client: Any) -> None:
    now = datetime.now(timezone.utc)
    mine = [posthog.add_recording(distinct_id="alice", start_time=now)["id"] for _ in range(3)]
    posthog.add_recording(distinct_id="bob", start_time=now)
    got = {r.id for r in client.iter_recordings({"date_from": "-1d", "distinct_id": "alice"})}
    assert got == set(mine)


def test_max_results_stops_early_with_a_small_page(posthog: Any, client: Any) -> None:
    posthog.seed_recordings(100, days=5)
    got = list(client.iter_recordings({"date_from": "-10d"}, max_results=7))
    assert len(got) == 7
    assert posthog.request_count == 1
    assert posthog.requests[0].query["limit"] == "7"


def test_unknown_query_parameter_is_refused_before_any_request(posthog: Any, client: Any) -> None:
    with pytest.raises(PostHogConfigError, match="date_form"):
        list(client.iter_recordings({"date_form": "-30d"}))
    assert posthog.request_count == 0


def test_playlists_follow_drf_next_urls_over_500(posthog: Any, client: Any) -> None:
    for number in range(520):
        posthog.create_playlist(f"playlist {number}")
    names = [p.name for p in client.iter_playlists()]
    assert len(names) == 520 == len(set(names))
    assert posthog.request_count == 2
    assert posthog.requests[0].query["limit"] == "500"


def test_next_url_on_another_host_is_refused(posthog: Any, client_for: Any) -> None:
    """The emulator builds `next` from 127.0.0.1; a client configured for localhost must not
    follow it, or the key would go to a host it was not configured for."""
    for number in range(3):
        posthog.create_playlist(f"p{number}")
    port = posthog.url.rsplit(":", 1)[1]
    client = client_for(posthog, playlist_page_size=1)
    client.transport.base_url = f"http://localhost:{port}"
    with pytest.raises(PostHogPaginationError, match="another host"):
        list(client.iter_playlists())
    assert posthog.request_count == 1


def test_repeated_items_from_the_previous_page_are_dropped(posthog: Any, client: Any) -> None:
    ids = posthog.seed_recordings(90, days=5, seed=5)
    posthog.inject("repeat_items", path_contains="/session_recordings/", skip=1)
    got = [r.id for r in client.iter_recordings({"date_from": "-10d"}, page_size=30)]
    assert posthog.faults_injected["repeat_items"] == 1
    assert len(got) == len(set(got)) == 90
    assert set(got) == set(ids)


def test_recording_fields_are_typed(posthog: Any, client: Any) -> None:
    posthog.seed_recordings(5, days=2, seed=6)
    recording = next(client.iter_recordings({"date_from": "-3d"}))
    assert recording.start_time is not None and recording.start_time.tzinfo is not None
    assert isinstance(recording.recording_duration, float)
    assert recording.model_extra is not None and "has_summary" in recording.model_extra
