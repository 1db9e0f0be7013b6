"""Waits after a 429: Retry-After, then PostHog's detail text, then exponential backoff."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from airflow_provider_posthog_recordings.client.http.backoff import (
    detail_wait_seconds,
    exponential_backoff,
    retry_after_seconds,
    throttle_wait,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
THROTTLED = {
    "type": "throttled_error",
    "code": "throttled",
    "detail": "Request was throttled. Expected available in 12 seconds.",
    "attr": None,
}


# ------------------------------------------------------------------ Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30", 30.0), (" 7 ", 7.0), ("0", 0.0), ("1.5", 1.5), ("-5", 0.0)],
)
def test_retry_after_seconds_form(value: str, expected: float) -> None:
    assert retry_after_seconds({"Retry-After": value}) == expected


def test_retry_after_missing() -> None:
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"Content-Type": "application/json"}, NOW) is None


def test_retry_after_http_date() -> None:
    assert retry_after_seconds({"Retry-After": "Wed, 01 May 2024 12:00:45 GMT"}, NOW) == 45.0


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    assert retry_after_seconds({"Retry-After": "Wed, 01 May 2024 11:59:00 GMT"}, NOW) == 0.0


def test_retry_after_http_date_without_a_clock_is_unknown() -> None:
    assert retry_after_seconds({"Retry-After": "Wed, 01 May 2024 12:00:45 GMT"}) is None


@pytest.fixture
def far_timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with a local time zone far from UTC (restored afterwards)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available")
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_timezone")
def test_retry_after_http_date_does_not_depend_on_the_local_time_zone() -> None:
    # "-0000" is UTC without a zone name; it must not be read as local time.
    assert retry_after_seconds({"Retry-After": "Wed, 01 May 2024 12:00:45 -0000"}, NOW) == 45.0
    assert retry_after_seconds({"Retry-After": "Wed, 01 May 2024 12:00:45 GMT"}, NOW) == 45.0


def test_retry_after_round_trip_with_format_datetime() -> None:
    when = datetime(2024, 5, 1, 12, 2, 0, tzinfo=timezone.utc)
    headers = {"Retry-After": format_datetime(when, usegmt=True)}
    assert retry_after_seconds(headers, NOW) == 120.0


@pytest.mark.parametrize("value", ["soon", "", "12 seconds", "Someday, 99 Foo 2024"])
def test_retry_after_garbage_is_unknown(value: str) -> None:
    assert retry_after_seconds({"Retry-After": value}, NOW) is None


# ------------------------------------------------------------------ detail


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        ("Request was throttled. Expected available in 12 seconds.", 12.0),
        ("Request was throttled. Expected available in 1 second.", 1.0),
        ("Request was throttled. Expected available in 0.5 seconds.", 0.5),
        ("request was throttled. EXPECTED AVAILABLE IN 3 SECONDS", 3.0),
    ],
)
def test_detail_wait(detail: str, expected: float) -> None:
    assert detail_wait_seconds({"detail": detail}) == expected


@pytest.mark.parametrize(
    "body",
    [
        None,
        "Request was throttled. Expected available in 12 seconds.",
        {},
        {"detail": None},
        {"detail": 12},
        {"detail": "ClickHouse is at capacity"},
        {"detail": "Query timeout exceeded"},
        {"error": "Expected available in 12 seconds."},
    ],
)
def test_detail_without_a_wait(body: object) -> None:
    assert detail_wait_seconds(body) is None


# ------------------------------------------------------------------ exponential backoff


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(0, 0.5, 1.0), (1, 0.5, 2.0), (2, 0.5, 4.0), (3, 0.5, 8.0), (5, 0.5, 32.0), (6, 0.5, 60.0)],
)
def test_backoff_bounds(attempt: int, low: float, high: float) -> None:
    rng = random.Random(1234)
    waits = [exponential_backoff(attempt, rng=rng) for _ in range(300)]
    assert all(low <= w <= high for w in waits)
    # Full jitter: the waits spread over the range rather than sitting at one end.
    assert min(waits) < low + (high - low) * 0.1
    assert max(waits) > high - (high - low) * 0.1


def test_backoff_is_capped() -> None:
    rng = random.Random(7)
    waits = [exponential_backoff(30, base=1.0, cap=10.0, rng=rng) for _ in range(200)]
    assert all(0.5 <= w <= 10.0 for w in waits)
    assert max(waits) > 9.0


def test_backoff_cap_below_half_base() -> None:
    assert exponential_backoff(3, base=4.0, cap=1.0, rng=random.Random(0)) == 1.0


def test_backoff_base_scales() -> None:
    rng = random.Random(3)
    waits = [exponential_backoff(2, base=0.1, rng=rng) for _ in range(100)]
    assert all(0.05 <= w <= 0.4 for w in waits)


def test_backoff_is_reproducible_with_a_seed() -> None:
    first = [exponential_backoff(4, rng=random.Random(42)) for _ in range(3)]
    assert first == [exponential_backoff(4, rng=random.Random(42))] * 3
    expected = random.Random(42).uniform(0.5, 16.0)
    assert first[0] == expected


# ------------------------------------------------------------------ throttle_wait


def test_header_wins_over_detail() -> None:
    wait = throttle_wait({"Retry-After": "30"}, THROTTLED, 1, rng=random.Random(5))
    assert 30.0 <= wait <= 31.0
    assert wait == 30.0 + random.Random(5).uniform(0, 1.0)


def test_http_date_header_wins_over_detail() -> None:
    headers = {"Retry-After": "Wed, 01 May 2024 12:00:40 GMT"}
    wait = throttle_wait(headers, THROTTLED, 1, now_epoch=NOW, rng=random.Random(5))
    assert 40.0 <= wait <= 41.0


def test_detail_is_used_without_a_header() -> None:
    wait = throttle_wait({}, THROTTLED, 1, rng=random.Random(5))
    assert wait == 12.0 + random.Random(5).uniform(0, 1.0)


def test_detail_is_used_when_the_header_is_unreadable() -> None:
    wait = throttle_wait({"Retry-After": "soon"}, THROTTLED, 1, rng=random.Random(5))
    assert 12.0 <= wait <= 13.0


def test_backoff_without_header_or_detail() -> None:
    body = {"detail": "ClickHouse is at capacity"}
    wait = throttle_wait({}, body, 3, rng=random.Random(9))
    assert wait == random.Random(9).uniform(0.5, 8.0)


def test_jitter_on_server_waits_is_bounded_by_base_and_one_second() -> None:
    rng = random.Random(11)
    small = [throttle_wait({"Retry-After": "10"}, None, 1, base=0.2, rng=rng) for _ in range(200)]
    assert all(10.0 <= w <= 10.2 for w in small)
    large = [throttle_wait({"Retry-After": "10"}, None, 1, base=5.0, rng=rng) for _ in range(200)]
    assert all(10.0 <= w <= 11.0 for w in large)
    assert max(large) > 10.9
    assert min(large) < 10.1


@pytest.mark.parametrize(
    ("headers", "body"),
    [({"Retry-After": "3600"}, None), ({}, {"detail": "Expected available in 500 seconds."})],
)
def test_server_waits_are_capped(headers: dict[str, str], body: object) -> None:
    assert throttle_wait(headers, body, 1, cap=60.0, rng=random.Random(1)) == 60.0
