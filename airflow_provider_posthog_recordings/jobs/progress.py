"""The progress line of a paused deleting job (presentation only, no accounting)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from airflow_provider_posthog_recordings.client import PostHogClient

if TYPE_CHECKING:
    from airflow_provider_posthog_recordings.jobs.deletion import JobOutcome

log = logging.getLogger("airflow_provider_posthog_recordings.jobs.deletion")


def log_pause(client: PostHogClient, outcome: JobOutcome, leg: int) -> None:
    """One line a person can follow on a long run: done / planned, the legs left and when
    it should end, from the key's budget (an estimate: latency and listing are left out)."""
    wait = outcome.wait_seconds or 0.0
    if outcome.settled is None or outcome.planned is None:
        log.info(
            "Leg %d ends before the plan is made (the key's budget is spent): planning again "
            "in %.0f s",
            leg,
            wait,
        )
        return
    left = max(0, outcome.planned - outcome.settled)
    share = 100.0 * outcome.settled / outcome.planned if outcome.planned else 100.0
    budget = client.transport.budget
    requests = client.requests_to_delete(left)
    if budget.per_minute or budget.per_hour:
        seconds, pauses = budget.forecast(requests, client.max_budget_wait)
        finish = datetime.now(timezone.utc) + timedelta(seconds=max(seconds, wait))
        estimate = (
            f"about {requests:,} requests left at {budget.describe()}: "
            f"{max(pauses, 1)} more leg(s), done around {finish:%Y-%m-%d %H:%M} UTC"
        )
    else:
        estimate = f"about {requests:,} requests left (no client-side budget: no estimate)"
    log.info(
        "Leg %d: %d of %d planned deletions done (%.0f%%); next leg in %.0f s; %s",
        leg,
        outcome.settled,
        outcome.planned,
        share,
        wait,
        estimate,
    )
