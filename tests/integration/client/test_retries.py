"""The retry loop against real faults served by the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import (
    PostHogConnectionError,
    PostHogRateLimitError,
    PostHogServerError,
)

LIST = "/session_recordings/"


def _list_all(client: Any) -> list[str]:
    return [r.id for r in client.iter_recordings({"date_from": "-10d"}, page_size=20)]


def test_429_without_retry_after_waits_the_seconds_in_detail(
    posthog: Any, client: Any, sleeps: Any
) -> None:
    ids = posthog.seed_recordings(10, days=5)
    posthog.inject("429_detail", seconds=12)
    assert sorted(_list_all(client)) == sorted(ids)
    waits = [call.args[0] for call in sleeps.call_args_list]
    assert len(waits) == 1 and 12 <= waits[0] <= 13
    assert client.throttled_count == 1


def test_429_with_retry_after_header_is_honoured(posthog: Any, client: Any, sleeps: Any) -> None:
    posthog.seed_recordings(10, days=5)
    posthog.inject("429_retry_after", seconds=7)
    _list_all(client)
    waits = [call.args[0] for call in sleeps.call_args_list]
    assert len(waits) == 1 and 7 <= waits[0] <= 8


@pytest.mark.parametrize(
    "kind", ["500", "502", "503", "504", "drop_before", "drop_after", "truncated", "non_json"]
)
def test_transient_faults_are_retried(posthog: Any, client: Any, sleeps: Any, kind: str) -> None:
    ids = posthog.seed_recordings(45, days=5, seed=7)
    posthog.inject(kind, times=2, path_contains=LIST, skip=1)
    assert sorted(_list_all(client)) == sorted(ids)
    assert posthog.faults_injected[kind] == 2
    assert sleeps.call_count == 2
    assert client.request_count == 3 + 2


def test_read_timeout_is_retried(posthog: Any, client_for: Any) -> None:
    ids = posthog.seed_recordings(5, days=5)
    client = client_for(posthog, timeout=(2.0, 0.3))
    posthog.inject("slow", seconds=1.0, path_contains=LIST)
    assert sorted(_list_all(client)) == sorted(ids)
    assert posthog.faults_injected["slow"] == 1


def test_gives_up_after_max_retries_with_a_clear_error(posthog: Any, client_for: Any) -> None:
    client = client_for(posthog, max_retries=2)
    posthog.inject("503", times=10)
    with pytest.raises(PostHogServerError) as caught:
        list(client.iter_recordings({"date_from": "-1d"}))
    assert caught.value.status == 503
    assert "GET /api/projects/1/session_recordings/" in str(caught.value)
    assert client.request_count == 3


def test_gives_up_on_dropped_connections(posthog: Any, client_for: Any) -> None:
    client = client_for(posthog, max_retries=1)
    posthog.inject("drop_before", times=5)
    with pytest.raises(PostHogConnectionError, match="check the host"):
        list(client.iter_recordings({"date_from": "-1d"}))
    assert client.request_count == 2


def test_throttling_has_its_own_budget(posthog: Any, client_for: Any) -> None:
    client = client_for(posthog, max_retries=0, max_throttle_retries=3)
    posthog.inject("429_detail", times=3, seconds=1)
    assert list(client.iter_recordings({"date_from": "-1d"})) == []
    posthog.inject("429_detail", times=4, seconds=1)
    with pytest.raises(PostHogRateLimitError, match="429"):
        list(client.iter_recordings({"date_from": "-1d"}))


def test_delete_whose_answer_was_lost_counts_as_done(posthog: Any, client: Any) -> None:
    [rid] = posthog.seed_recordings(1, days=1)
    posthog.inject("drop_after", method="DELETE")
    result = client.deletion.delete_recording(rid)
    assert result.deleted == [rid]
    assert rid not in posthog.recording_ids()


def test_create_playlist_is_not_repeated_after_a_lost_answer(posthog: Any, client: Any) -> None:
    posthog.inject("drop_after", method="POST", path_contains="session_recording_playlists")
    with pytest.raises(PostHogConnectionError, match="not safe to repeat"):
        client.create_playlist("Once only")
    assert [p["name"] for p in posthog.playlists()] == ["Once only"]


def test_limiter_pause_after_429_holds_other_calls(posthog: Any, client: Any, sleeps: Any) -> None:
    posthog.inject("429_detail", seconds=30)
    list(client.iter_recordings({"date_from": "-1d"}))
    assert sleeps.call_count == 1 and sleeps.call_args.args[0] >= 30
