"""The progress line of a paused deleting job: done / planned, legs left and a finish time."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_posthog_recordings.client.http.key_budget import KeyBudget
from airflow_provider_posthog_recordings.jobs.deletion import JobOutcome
from airflow_provider_posthog_recordings.jobs.progress import estimate, log_pause


class _Transport:
    def __init__(self, budget: KeyBudget) -> None:
        self.budget = budget


class _Client:
    """What the line reads of a client: its budget, its wait limit and the request estimate."""

    def __init__(self, budget: KeyBudget, max_budget_wait: float | None) -> None:
        self.transport = _Transport(budget)
        self.max_budget_wait = max_budget_wait

    def requests_to_delete(self, count: int) -> int:
        return count  # one request per recording


def _line(caplog: pytest.LogCaptureFixture) -> str:
    [record] = [r for r in caplog.records if r.name.endswith("jobs.deletion")]
    assert record.levelno == logging.INFO
    return record.getMessage()


def test_line_before_the_plan(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client = _Client(KeyBudget(10, clock=lambda: 0.0), 30.0)
    log_pause(client, JobOutcome(manifest={}, wait_seconds=42.4), 3)  # type: ignore[arg-type]
    assert _line(caplog) == (
        "Leg 3 ends before the plan is made (the key's budget is spent): planning again in 42 s"
    )


def test_line_with_a_budget_names_legs_left_and_finish(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    budget = KeyBudget(10, clock=lambda: 0.0)
    client = _Client(budget, 30.0)
    outcome = JobOutcome(manifest={}, wait_seconds=5.0, settled=25, planned=100)
    before = datetime.now(timezone.utc)
    log_pause(client, outcome, 2)  # type: ignore[arg-type]
    after = datetime.now(timezone.utc)
    # 75 requests at 10 a minute: 7 waits of 60.5 s, each longer than 30 s.
    seconds, pauses = budget.forecast(75, 30.0)
    assert (seconds, pauses) == (7 * 60.5, 7)
    line = _line(caplog)
    match = re.fullmatch(
        r"Leg 2: 25 of 100 planned deletions done \(25%\); next leg in 5 s; about 75 requests "
        r"left at 10/minute: 7 more leg\(s\), done around (\S+ \S+) UTC",
        line,
    )
    assert match, line
    finish = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    low = (before + timedelta(seconds=seconds)).replace(second=0, microsecond=0)
    assert low <= finish <= after + timedelta(seconds=seconds)


def test_line_says_at_least_one_leg_and_waits_at_least_the_pause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    client = _Client(KeyBudget(None, 1000, clock=lambda: 0.0), None)
    outcome = JobOutcome(manifest={}, wait_seconds=7200.0, settled=1, planned=3)
    before = datetime.now(timezone.utc)
    log_pause(client, outcome, 1)  # type: ignore[arg-type]
    line = _line(caplog)
    assert line.startswith(
        "Leg 1: 1 of 3 planned deletions done (33%); next leg in 7200 s; about 2 requests left "
        "at 1000/hour: 1 more leg(s), done around "
    )
    finish = datetime.strptime(line[-20:-4], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    assert finish >= (before + timedelta(seconds=7200)).replace(second=0, microsecond=0)


def test_line_without_a_budget_has_no_estimate(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client = _Client(KeyBudget(None, clock=lambda: 0.0), 30.0)
    outcome = JobOutcome(manifest={}, wait_seconds=1.0, settled=0, planned=0)
    log_pause(client, outcome, 4)  # type: ignore[arg-type]
    assert _line(caplog) == (
        "Leg 4: 0 of 0 planned deletions done (100%); next leg in 1 s; about 0 requests left "
        "(no client-side budget: no estimate)"
    )


class _ArchivingTransport(_Transport):
    def __init__(self, budget: KeyBudget, snapshot_budget: KeyBudget) -> None:
        super().__init__(budget)
        self.snapshot_budget = snapshot_budget


def test_line_of_a_purge_that_archives_counts_snapshots_requests(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """10 recordings left, 3 snapshots requests each so far (6 in 2 downloads), 12 a minute:
    30 snapshots requests, so 2 more waits for the minute beyond the one this leg ends at."""
    caplog.set_level(logging.INFO)
    client = _Client(KeyBudget(240, clock=lambda: 0.0), 30.0)
    snapshots = KeyBudget(12, clock=lambda: 0.0)
    client.transport = _ArchivingTransport(client.transport.budget, snapshots)
    for _ in range(12):
        snapshots.acquire(lambda _s: None)  # this leg spent the minute
    ledger = {"downloads": 2, "snapshot_requests": 6, "carried": []}
    outcome = JobOutcome(
        manifest={}, wait_seconds=60.0, state={"archive": ledger}, settled=2, planned=12
    )
    log_pause(client, outcome, 1)  # type: ignore[arg-type]
    line = _line(caplog)
    # 10 answers + 30 snapshots requests + 10 deletions; the waits come at snapshots
    # requests 1, 13 and 25.
    assert (
        "about 50 requests left (30 for snapshots) at 240/minute, snapshots 12/minute: "
        "3 more leg(s)" in line
    ), line
    found = estimate(client, 10, ledger)  # type: ignore[arg-type]
    assert (found.requests, found.snapshot_requests, found.legs) == (50, 30, 3)
    # Without the archive, only the deletions: the minute is not spent on the key.
    assert estimate(client, 10, None).legs == 0  # type: ignore[arg-type]
    # Recordings archived before the pause and not deleted cost one check, no snapshots.
    carried = {**ledger, "carried": ["a", "b"]}
    assert estimate(client, 10, carried).snapshot_requests == 24  # type: ignore[arg-type]
