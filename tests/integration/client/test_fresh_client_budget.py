"""A new client (a new process: a task start, a resumed leg) whose key another process has
nearly spent gets at most one 429, on the Cloud profile, in real time.

PostHog's minute is scaled down to 3 s on both sides (the emulator's ``window_scale``, the
client's ``WINDOW_SECONDS``), so the waits are real but short.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from posthog_recordings_emulator import PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.http import key_budget
from airflow_provider_posthog_recordings.client.http.key_budget import KeyBudget

MINUTE = 2.0  # PostHog's minute, scaled down
PER_MINUTE = 20


@pytest.fixture
def cloud(emulator_factory: Any, mocker: Any) -> PostHogEmulator:
    mocker.patch.object(key_budget, "WINDOW_SECONDS", MINUTE)
    server: PostHogEmulator = emulator_factory(
        profile="cloud",
        rate_limit_per_minute=PER_MINUTE,
        rate_limit_per_hour=0,
        window_scale=MINUTE / 60,
        synthetic_playlists=None,
        playlist_items_paginated=None,
    )
    return server


def _client(server: PostHogEmulator, **options: Any) -> PostHogClient:
    """A client with a budget of its own, as a client in another process has."""
    settings: dict[str, Any] = {
        "requests_per_minute": PER_MINUTE,
        "requests_per_hour": None,
        "clock": time.monotonic,
        "timeout": (2.0, 5.0),
    }
    settings.update(options)
    return PostHogClient(server.url, server.api_key, server.project_id, **settings)


def _spend(server: PostHogEmulator, count: int) -> None:
    """Another process sends ``count`` requests with the key, all at once."""
    url = f"{server.url}/api/projects/{server.project_id}/session_recordings/"
    headers = {"Authorization": f"Bearer {server.api_key}"}

    def one() -> None:
        requests.get(url, params={"limit": "1"}, headers=headers, timeout=5)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.throttles["minute"] == 0


def _throttled_since(server: PostHogEmulator, start: int) -> int:
    return sum(1 for r in server.requests[start:] if r.status == 429)


@pytest.mark.parametrize("spent", [PER_MINUTE - 2, PER_MINUTE])
def test_a_fresh_client_on_a_nearly_spent_key_gets_at_most_one_429(
    cloud: PostHogEmulator, spent: int
) -> None:
    ids = cloud.seed_recordings(14, days=10, seed=3)
    _spend(cloud, spent)
    start = len(cloud.requests)
    with _client(cloud, concurrency=4) as fresh:
        result = fresh.delete_recordings(ids)
        assert fresh.throttled_count == _throttled_since(cloud, start)
    assert sorted(result.deleted) == sorted(ids)
    assert _throttled_since(cloud, start) <= 1


def test_a_fresh_client_after_another_clients_deletions_gets_at_most_one_429(
    cloud: PostHogEmulator,
) -> None:
    """Task after task in a one-slot pool: the first spent the key's minute with the package's
    own client (four deletes at a time); the next starts with an empty budget."""
    first_ids = cloud.seed_recordings(PER_MINUTE - 4, days=10, seed=4)
    later_ids = sorted(set(cloud.seed_recordings(14, days=10, seed=5)) - set(first_ids))
    with _client(cloud, concurrency=4) as earlier:
        earlier.delete_recordings(first_ids)
    assert cloud.throttles["minute"] == 0
    start = len(cloud.requests)
    with _client(cloud, concurrency=4) as fresh:
        result = fresh.delete_recordings(later_ids)
    assert sorted(result.deleted) == later_ids
    assert _throttled_since(cloud, start) <= 1


def test_a_429_wait_that_is_too_long_is_not_retried_in_parallel(
    cloud: PostHogEmulator,
) -> None:
    """A deferrable task's client (max_budget_wait): the key spent, its first request gets the
    one 429 and every id comes back unsent, none of them sent."""
    ids = cloud.seed_recordings(12, days=10, seed=6)
    _spend(cloud, PER_MINUTE)
    start = len(cloud.requests)
    with _client(cloud, concurrency=4, max_budget_wait=0.5) as fresh:
        result = fresh.delete_recordings(ids)
    assert sorted(result.unsent) == sorted(ids) and result.wait_seconds
    assert len(cloud.requests) - start == 1  # the existence check, answered 429
    assert _throttled_since(cloud, start) == 1


# ---------------------------------------------------------------- turns, without a server


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_requests_take_turns_until_the_budget_has_seen_a_whole_minute() -> None:
    fake = FakeTime()
    budget = KeyBudget(240, clock=fake.clock, sleep=fake.sleep)
    assert budget.one_at_a_time()  # nothing known yet
    with budget.turn() as answer:
        answer.status = 200
    assert budget.one_at_a_time()  # answered, but the minute before it is unknown
    fake.now += key_budget.WINDOW_SECONDS + key_budget.SAFETY_MARGIN_SECONDS
    assert not budget.one_at_a_time()
    with budget.turn() as answer:
        answer.status = 429
        budget.throttled(10.0)
    assert budget.one_at_a_time()  # after a 429, until an answer that is not one
    assert budget.wait_needed() == pytest.approx(10.0)
    with budget.turn() as answer:
        answer.status = 204
    assert not budget.one_at_a_time()


def test_without_a_limit_only_the_first_answer_is_waited_for() -> None:
    budget = KeyBudget(None)
    assert budget.one_at_a_time()
    with budget.turn() as answer:
        answer.status = 200
    assert not budget.one_at_a_time()


def test_a_second_request_waits_for_the_first_ones_answer() -> None:
    budget = KeyBudget(240)
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        with budget.turn() as answer:
            order.append("second sent")
            answer.status = 200

    with budget.turn() as answer:
        first_in.set()
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        order.append("first answered")
        answer.status = 200
    thread.join(5)
    assert order == ["first answered", "second sent"]


def test_after_a_429_the_window_is_taken_as_full_not_empty() -> None:
    """The 429 says the oldest request leaves in 20 s: the budget assumes the rest of the
    window left evenly after it, so a burst after the wait cannot get a second 429."""
    fake = FakeTime()
    budget = KeyBudget(4, clock=fake.clock, sleep=fake.sleep)
    budget.throttled(20.0)
    waits = [budget.acquire() for _ in range(4)]
    assert waits[0] == pytest.approx(20.0)
    assert all(wait > 0 for wait in waits[1:])  # spaced: one leaves at a time
    assert fake.now <= 100.0 + key_budget.WINDOW_SECONDS + key_budget.SAFETY_MARGIN_SECONDS
