"""The progress line of a paused job: done / planned, the legs left and when it should end
(presentation only, no accounting).

The estimate replays the requests left, in the order the job sends them, against the
budgets they count against: every request against the key's budget; with an archive, each
recording's snapshots requests also against the plan's snapshots budget (when the connection
names it), before its group's deletions. Each wait longer than the client may sleep through
is one more leg.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.http.key_budget import KeyBudget, forecast_runs

if TYPE_CHECKING:
    from airflow_provider_posthog_recordings.jobs.deletion import JobOutcome

log = logging.getLogger("airflow_provider_posthog_recordings.jobs.deletion")

#: Snapshots requests per recording before the run has downloaded one whole: the listing
#: and one range (most recordings have at most 21 blocks).
DEFAULT_SNAPSHOT_REQUESTS = 2.0
#: The state key of the archive job's pause (``"job": "archive"``).
ARCHIVE_JOB = "archive"


@dataclass(frozen=True)
class Estimate:
    """What is left of a paused job, in requests and legs.

    :ivar requests: requests left (all count against the key's budget).
    :ivar snapshot_requests: of them, requests for snapshots (archiving).
    :ivar seconds: how long they take at the budgets from now (latency left out).
    :ivar legs: the waits longer than the client sleeps through: more legs (None: no
        client-side budget to tell).
    """

    requests: int
    snapshot_requests: int
    seconds: float
    legs: int | None


def snapshot_requests_per_recording(archive_state: Mapping[str, Any] | None) -> float:
    """The run's mean snapshots requests per recording downloaded whole (a default before
    the first)."""
    state = archive_state or {}
    downloads = int(state.get("downloads") or 0)
    if downloads <= 0:
        return DEFAULT_SNAPSHOT_REQUESTS
    return max(1.0, int(state.get("snapshot_requests") or 0) / downloads)


def _spread(count: int, mean: float) -> list[int]:
    """``count`` whole numbers whose running sum follows ``mean`` each."""
    return [round((i + 1) * mean) - round(i * mean) for i in range(count)]


def _runs(
    client: PostHogClient,
    to_delete: int,
    archive_state: Mapping[str, Any] | None,
    archive_only: bool = False,
) -> tuple[list[tuple[int, Sequence[KeyBudget]]], int]:
    """The requests left in the order the job sends them, with the budgets of each; and how
    many of them are snapshots requests. Deletions go in groups, each after its group was
    archived."""
    from airflow_provider_posthog_recordings.jobs.deletion import GROUP_SIZE

    key = client.transport.budget
    snapshot_budget = getattr(client.transport, "snapshot_budget", None)
    snapshots: tuple[KeyBudget, ...] = (key,) if snapshot_budget is None else (key, snapshot_budget)
    archiving = archive_state is not None
    carried = len((archive_state or {}).get("carried") or [])
    mean = snapshot_requests_per_recording(archive_state)
    runs: list[tuple[int, Sequence[KeyBudget]]] = []
    snapshot_total = 0
    size = to_delete if archive_only else GROUP_SIZE
    first = 0
    while first < to_delete:
        group = min(size, to_delete - first)
        if archiving:
            # Recordings archived before the pause and not deleted yet: one check each.
            checked = min(group, max(0, carried - first))
            if checked:
                runs.append((checked, (key,)))
            for count in _spread(group - checked, mean):
                runs.append((1, (key,)))  # the recording's own answer
                runs.append((count, snapshots))
                snapshot_total += count
        if not archive_only:
            runs.append((client.requests_to_delete(group), (key,)))
        first += group
    return runs, snapshot_total


def estimate(
    client: PostHogClient,
    left: int,
    archive_state: Mapping[str, Any] | None = None,
    archive_only: bool = False,
    max_wait: float | None = None,
) -> Estimate:
    """The requests, time and legs ``left`` more recordings take.

    :param client: the job's client (its budgets and ``max_budget_wait``).
    :param left: recordings left to settle.
    :param archive_state: the run's archive ledger state (None: no archive).
    :param archive_only: the archive job (no deletions).
    :param max_wait: the longest wait a leg sleeps through (None: the client's
        ``max_budget_wait``); each longer one is a new leg.
    """
    runs, snapshot_total = _runs(client, left, archive_state, archive_only)
    requests = sum(count for count, _ in runs)
    budgets = [client.transport.budget, getattr(client.transport, "snapshot_budget", None)]
    if not any(b is not None and (b.per_minute or b.per_hour) for b in budgets):
        return Estimate(requests, snapshot_total, 0.0, None)
    longest = client.max_budget_wait if max_wait is None else max_wait
    seconds, pauses = forecast_runs(runs, longest)
    return Estimate(requests, snapshot_total, seconds, pauses)


def _describe(client: PostHogClient, found: Estimate) -> str:
    snapshot_budget = getattr(client.transport, "snapshot_budget", None)
    rate = client.transport.budget.describe()
    if snapshot_budget is not None and found.snapshot_requests:
        rate += f", snapshots {snapshot_budget.describe()}"
    what = f"about {found.requests:,} requests left"
    if found.snapshot_requests:
        what += f" ({found.snapshot_requests:,} for snapshots)"
    return f"{what} at {rate}"


def log_pause(client: PostHogClient, outcome: JobOutcome, leg: int) -> None:
    """One line a person can follow on a long run: done / planned, the legs left and when
    it should end, from the budgets (an estimate: latency and listing are left out)."""
    wait = outcome.wait_seconds or 0.0
    state = outcome.state or {}
    archive_only = state.get("job") == ARCHIVE_JOB
    if outcome.settled is None or outcome.planned is None:
        if archive_only:
            log.info(
                "Leg %d ends before the recordings to archive are listed: next leg in %.0f s",
                leg,
                wait,
            )
            return
        log.info(
            "Leg %d ends before the plan is made (the key's budget is spent): planning again "
            "in %.0f s",
            leg,
            wait,
        )
        return
    left = max(0, outcome.planned - outcome.settled)
    share = 100.0 * outcome.settled / outcome.planned if outcome.planned else 100.0
    archive_state = state.get("ledger") if archive_only else state.get("archive")
    found = estimate(client, left, archive_state, archive_only)
    if found.legs is not None:
        finish = datetime.now(timezone.utc) + timedelta(seconds=max(found.seconds, wait))
        estimate_text = (
            f"{_describe(client, found)}: {max(found.legs, 1)} more leg(s), done around "
            f"{finish:%Y-%m-%d %H:%M} UTC"
        )
    else:
        estimate_text = (
            f"about {found.requests:,} requests left (no client-side budget: no estimate)"
        )
    log.info(
        "Leg %d: %d of %d %s done (%.0f%%); next leg in %.0f s; %s",
        leg,
        outcome.settled,
        outcome.planned,
        "recordings to archive" if archive_only else "planned deletions",
        share,
        wait,
        estimate_text,
    )
