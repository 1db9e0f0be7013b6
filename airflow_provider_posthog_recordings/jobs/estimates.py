"""What a deletion will cost, in words a reviewer reads before approving it (no Airflow import).

:func:`deletion_estimate` counts the requests deleting ``count`` recordings takes on this
server (one DELETE each where PostHog refuses bulk deletes to a personal API key, as Cloud
does, plus the existence checks) and how long the key's budget makes them take, and in how
many legs a deferrable task would run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.jobs.progress import estimate


@dataclass(frozen=True)
class DeletionEstimate:
    """The cost of deleting some recordings with one key.

    :ivar recordings: how many recordings.
    :ivar requests: the requests that takes on this server.
    :ivar seconds: how long the key's budget makes them take (None: no client-side budget).
    :ivar legs: in how many legs a deferrable task runs (a wait longer than the task sleeps
        through ends a leg).
    :ivar budget: the key's budget in words.
    """

    recordings: int
    requests: int
    seconds: float | None
    legs: int
    budget: str

    def describe(self) -> str:
        """``about 852 requests at 240/minute and 1200/hour: about 43 min, 1 leg``."""
        head = f"about {self.requests:,} requests at {self.budget}"
        if self.seconds is None:
            return f"{head}: no client-side budget, no time estimate"
        legs = "1 leg" if self.legs == 1 else f"{self.legs} legs"
        return f"{head}: about {_duration(self.seconds)}, {legs}"


def deletion_estimate(
    client: PostHogClient, recordings: int, max_wait: float | None = 30.0
) -> DeletionEstimate:
    """What deleting ``recordings`` recordings costs with this client's key, from now.

    :param client: the client of the key (its budget and what the server accepts).
    :param recordings: how many recordings would be deleted.
    :param max_wait: the longest wait a deferrable task sleeps through (the operators'
        ``max_wait_in_worker``, 30 s by default); each longer one is a new leg.
    """
    # The same forecast as a paused job's progress line (no archive: deletions only).
    found = estimate(
        client, max(0, recordings), max_wait=math.inf if max_wait is None else max_wait
    )
    budget = client.transport.budget.describe()
    if found.legs is None:
        return DeletionEstimate(recordings, found.requests, None, 1, budget)
    return DeletionEstimate(recordings, found.requests, found.seconds, found.legs + 1, budget)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return "a minute or less"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
