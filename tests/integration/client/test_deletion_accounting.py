"""Deletion accounting against the emulator, case by case: the budget stopping a deletion
(unsent ids), refusals learnt once, answers lost or refused on a retry, legacy caps, and
recordings deleted by someone else while the client waits (a sleep that acts)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import (
    PostHogAuthError,
    PostHogValidationError,
)
from airflow_provider_posthog_recordings.client.models import DeleteResult

SPAN = 60.5  # a minute and the budget's safety margin


class FakeTime:
    """The client's clock and sleep: time moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def someone_else_deletes(server: Any, *ids: str) -> Callable[[float], None]:
    """A sleep during which another user deletes ``ids`` (once)."""
    done = threading.Event()

    def sleep(seconds: float) -> None:
        if not done.is_set():
            done.set()
            for rid in ids:
                server.delete_recording(rid)

    return sleep


def requests_of(server: Any) -> list[tuple[str, str]]:
    """(method, endpoint) of every request, the recording id of a single DELETE dropped."""
    seen = []
    for request in server.requests:
        path = request.path.split("?")[0].rstrip("/")
        if request.method == "DELETE":
            path = path.rsplit("/", 1)[0]
        seen.append((request.method, path.rsplit("/", 1)[1]))
    return seen


def budgeted(client_for: Any, server: Any, per_minute: int, **options: Any) -> Any:
    """A client whose budget lets ``per_minute`` requests go, then would wait 60.5 s."""
    fake = FakeTime()
    return client_for(
        server,
        clock=fake.clock,
        sleep=fake.sleep,
        requests_per_minute=per_minute,
        requests_per_hour=None,
        max_budget_wait=1.0,
        **options,
    )


LIST, BULK, DELETE = (
    ("GET", "session_recordings"),
    ("POST", "bulk_delete"),
    ("DELETE", "session_recordings"),
)


# ------------------------------------------------------------------ the budget stops a deletion


def test_no_budget_for_the_existence_check_leaves_every_id_unsent(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory()
    ids = server.seed_recordings(5, days=5)
    client = budgeted(client_for, server, per_minute=1)
    client.check_access()  # the one request of this minute
    server.reset_requests()
    result = client.delete_recordings(ids)
    assert isinstance(result, DeleteResult)
    assert result.unsent == ids and result.wait_seconds == pytest.approx(SPAN)
    assert (result.deleted, result.already_gone, result.failed) == ([], [], {})
    assert server.requests == [] and server.recording_ids() == set(ids)


def test_no_budget_for_the_next_bulk_delete_leaves_the_rest_unsent_in_order(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory()
    ids = server.seed_recordings(250, days=5)
    # One look and one bulk_delete of 100 (the first goes alone); the next must wait.
    client = budgeted(client_for, server, per_minute=2, concurrency=1)
    result = client.delete_recordings(ids)
    assert sorted(result.deleted) == sorted(ids[:100])
    assert result.unsent == ids[100:]
    assert result.wait_seconds == pytest.approx(SPAN)
    assert requests_of(server) == [LIST, BULK]
    assert server.recording_ids() == set(ids[100:])


def test_no_budget_for_more_single_deletes_leaves_the_others_unsent_in_order(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(profile="cloud")
    ids = server.seed_recordings(6, days=5)
    # A look, the refused bulk_delete, a second look, then two single DELETEs.
    client = budgeted(client_for, server, per_minute=5, concurrency=4)
    result = client.delete_recordings(ids)
    assert len(result.deleted) == 2
    assert result.unsent == [rid for rid in ids if rid not in result.deleted]
    assert result.wait_seconds == pytest.approx(SPAN)
    assert server.recording_ids() == set(result.unsent)


# ------------------------------------------------------------------ what is learnt once


def test_on_cloud_the_refusal_costs_one_post_and_a_second_look(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(profile="cloud")
    ids = server.seed_recordings(6, days=5)
    client = client_for(server, concurrency=1)
    first = client.delete_recordings(ids[:3])
    assert sorted(first.deleted) == sorted(ids[:3])
    assert requests_of(server) == [LIST, BULK, LIST, DELETE, DELETE, DELETE]
    # Later deletions of the run know the refusal: one look, and DELETEs of what exists.
    server.delete_recording(ids[3])
    server.reset_requests()
    later = client.delete_recordings(ids[3:])
    assert later.already_gone == [ids[3]]
    assert sorted(later.deleted) == sorted(ids[4:])
    assert requests_of(server) == [LIST, DELETE, DELETE]


def test_once_bulk_delete_is_accepted_a_group_is_not_looked_at_first(
    posthog: Any, client: Any
) -> None:
    ids = posthog.seed_recordings(10, days=5)
    assert sorted(client.delete_recordings(ids[:5]).deleted) == sorted(ids[:5])
    assert requests_of(posthog) == [LIST, BULK]
    posthog.reset_requests()
    assert sorted(client.delete_recordings(ids[5:]).deleted) == sorted(ids[5:])
    assert requests_of(posthog) == [BULK]


def test_progress_is_reported_after_each_group_of_500(posthog: Any, client: Any) -> None:
    ids = posthog.seed_recordings(620, days=5)
    seen: list[tuple[int, int]] = []
    result = client.delete_recordings(
        ids, on_progress=lambda total: seen.append((total.deleted_count, len(total.unsent)))
    )
    assert seen == [(500, 0), (620, 0)]
    assert result.deleted_count == 620 and posthog.recording_ids() == set()
    # The second group went straight to bulk_delete: bulk was known to be accepted.
    assert requests_of(posthog).count(LIST) == 1


def test_the_default_window_reaches_past_posthog_s_retention(posthog: Any, client: Any) -> None:
    """bulk_delete only looks ids up from date_from on (PostHog's default: 90 days); without
    a date_from the client sends the longest retention, so an old recording is deleted."""
    old = posthog.add_recording(
        start_time=(datetime.now(timezone.utc) - timedelta(days=200)).isoformat()
    )["id"]
    result = client.delete_recordings([old])
    assert result.deleted == [old] and result.failed == {}
    assert posthog.recording_ids() == set()


# ------------------------------------------------------------------ lost and refused answers


def test_a_bulk_delete_whose_answer_was_lost_counts_what_it_deleted(
    posthog: Any, client: Any
) -> None:
    ids = posthog.seed_recordings(4, days=5)
    posthog.inject("drop_after", method="POST", path_contains="bulk_delete")
    result = client.delete_recordings(ids)
    # The retry found nothing left to delete: the first attempt did it all.
    assert sorted(result.deleted) == sorted(ids)
    assert (result.unattributed, result.already_gone, result.failed) == ([], [], {})


def test_a_refusal_on_a_retry_looks_at_what_someone_else_deleted_meanwhile(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(profile="cloud")
    ids = server.seed_recordings(4, days=5)
    # The refused bulk_delete's answer is lost; while the client waits to try again, another
    # user deletes a recording. The retry is refused too: the lost attempt did nothing.
    server.inject("drop_after", method="POST", path_contains="bulk_delete")
    client = client_for(server, sleep=someone_else_deletes(server, ids[0]), concurrency=1)
    result = client.delete_recordings(ids)
    assert result.already_gone == [ids[0]]
    assert sorted(result.deleted) == sorted(ids[1:])
    assert result.failed == {} and server.recording_ids() == set()


def test_a_single_delete_answered_404_after_a_lost_answer_was_deleted_by_us(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(bulk_mode="refuse", delete_missing_status=404)
    ids = server.seed_recordings(2, days=5)
    server.inject("drop_after", method="DELETE", path_contains=ids[0])
    result = client_for(server, concurrency=1).delete_recordings(ids)
    assert sorted(result.deleted) == sorted(ids) and result.already_gone == []


def test_a_single_delete_answered_404_without_a_retry_was_someone_else_s(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(bulk_mode="refuse", delete_missing_status=404)
    ids = server.seed_recordings(2, days=5)
    # A 429 (the server did not act) makes the client wait; meanwhile someone deletes it.
    server.inject("429_detail", method="DELETE", path_contains=ids[0], seconds=1)
    client = client_for(server, sleep=someone_else_deletes(server, ids[0]), concurrency=1)
    result = client.delete_recordings(ids)
    assert result.already_gone == [ids[0]] and result.deleted == [ids[1]]


def test_a_single_delete_given_up_on_a_recording_still_there_fails_with_the_reason(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(profile="cloud")
    [rid] = server.seed_recordings(1, days=5)
    server.inject("502", method="DELETE", times=2)
    result = client_for(server, max_retries=1).delete_recordings([rid])
    assert result.deleted == [] and list(result.failed) == [rid]
    assert result.failed[rid].startswith(
        f"PostHog API DELETE /api/projects/1/session_recordings/{rid}/ answered 502: "
    )


def test_a_500_on_a_single_delete_names_the_request(emulator_factory: Any, client_for: Any) -> None:
    server = emulator_factory(profile="cloud")
    [rid] = server.seed_recordings(1, days=5)
    server.inject("recording_api_failure", method="DELETE")
    result = client_for(server).delete_recordings([rid])
    assert result.failed[rid].startswith(
        f"PostHog API DELETE /api/projects/1/session_recordings/{rid}/ answered 500 "
        "(recording_api_failure)"
    )


def test_a_key_without_the_write_scope_is_an_error_not_a_failed_id(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(profile="cloud")
    ids = server.seed_recordings(2, days=5)
    server.add_api_key(server.api_key, scopes=["session_recording:read"])
    with pytest.raises(PostHogAuthError):
        client_for(server).delete_recordings(ids)
    assert server.recording_ids() == set(ids)


# ------------------------------------------------------------------ older servers


def test_an_older_server_s_cap_of_20_is_learnt_once(
    emulator_factory: Any, client_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = emulator_factory(profile="self_hosted_legacy")
    ids = server.seed_recordings(30, days=5)
    with caplog.at_level(logging.WARNING, logger="airflow_provider_posthog_recordings"):
        result = client_for(server).delete_recordings(ids)
    assert sorted(result.deleted) == sorted(ids) and server.recording_ids() == set()
    sizes = [len(r.body["session_recording_ids"]) for r in server.requests if r.method == "POST"]
    assert sizes == [30, 20, 10]
    assert "PostHog refused a bulk delete of 30 ids; sending 20 at a time (older server)" in [
        record.getMessage() for record in caplog.records
    ]


def test_a_server_that_refuses_even_20_ids_is_an_error(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(bulk_delete_cap=10)
    ids = server.seed_recordings(25, days=5)
    with pytest.raises(PostHogValidationError, match="Cannot process more than 10"):
        client_for(server).delete_recordings(ids)
    sizes = [len(r.body["session_recording_ids"]) for r in server.requests if r.method == "POST"]
    assert sizes == [25, 20]
