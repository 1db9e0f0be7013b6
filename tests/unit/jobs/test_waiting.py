"""Waiting for recordings (jobs/waiting.py): how a wait describes itself in the log."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow_provider_posthog_recordings.jobs.waiting import (
    CheckResult,
    describe_deadline,
    describe_seconds,
    describe_window,
)

NOW = datetime(2026, 12, 8, 6, 15, tzinfo=timezone.utc).timestamp()


def test_the_window_is_named_as_given_or_as_posthogs_default() -> None:
    assert describe_window({"date_from": "-1d"}) == "window -1d to now"
    assert (
        describe_window({"date_from": "2026-12-07T06:00:00Z", "date_to": "2026-12-08T06:00:00Z"})
        == "window 2026-12-07 06:00 UTC to 2026-12-08 06:00 UTC"
    )
    assert "the last 3 days" in describe_window({})
    assert "the last 3 days" in describe_window(None)


def test_the_deadline_is_a_clock_time_and_what_is_left() -> None:
    end = NOW + 11 * 3600 + 45 * 60
    assert describe_deadline(end, NOW) == "gives up at 2026-12-08 18:00 UTC (in 11 h 45 min)"
    assert describe_deadline(None, NOW) == "no deadline"
    assert describe_deadline(NOW - 5, NOW).endswith("(in 0 s)")


def test_seconds_read_as_a_person_says_them() -> None:
    assert [describe_seconds(s) for s in (45, 900, 12 * 3600, 3 * 3600 + 1200)] == [
        "45 s",
        "15 min",
        "12 h",
        "3 h 20 min",
    ]


def test_a_check_result_never_states_a_lower_bound_as_exact() -> None:
    assert CheckResult(True, ["a"], 1).describe() == "1 matching recording"
    assert CheckResult(True, [], 100, more=True).describe() == "more than 100 matching recordings"
