"""Waiting for recordings: the check behind the sensor and its trigger (no Airflow import).

:class:`RecordingsCheck` lists just enough recordings to decide whether at least
``min_count`` match, and returns how many matched (at least) and the first ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, NamedTuple

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.query import RecordingsQuery


class CheckResult(NamedTuple):
    """What one check found.

    :ivar done: at least ``min_count`` recordings match.
    :ivar ids: matching ids, at most ``max_ids``.
    :ivar matched: how many recordings match; a lower bound when ``more`` is true.
    :ivar more: the listing stopped early: more than ``matched`` recordings match.
    """

    done: bool
    ids: list[str]
    matched: int
    more: bool = False

    def describe(self) -> str:
        """``151 matching recordings`` or ``more than 100 matching recordings``."""
        count = f"more than {self.matched}" if self.more else str(self.matched)
        noun = "recording" if self.matched == 1 and not self.more else "recordings"
        return f"{count} matching {noun}"


@dataclass(frozen=True)
class RecordingsCheck:
    """Whether at least ``min_count`` recordings match ``query``.

    :ivar query: the filters (as a dict of API parameters or a query).
    :ivar min_count: how many recordings must match.
    :ivar include_ongoing: count recordings still being recorded.
    :ivar max_ids: at most this many ids are returned.
    """

    query: RecordingsQuery | Mapping[str, Any] | None
    min_count: int = 1
    include_ongoing: bool = True
    max_ids: int = 100

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise PostHogConfigError(f"min_count must be 1 or more, not {self.min_count}")
        if self.max_ids < 0:
            raise PostHogConfigError(f"max_ids must be 0 or more, not {self.max_ids}")

    def run(self, client: PostHogClient) -> CheckResult:
        """List just enough recordings to decide and to fill the ids.

        The listing stops one recording after ``max(min_count, max_ids)``, so the count is
        exact up to there and "more than" beyond.
        """
        wanted = max(self.min_count, self.max_ids)
        found: list[str] = []
        matched = 0
        page = wanted + 1
        page_size = min(client.page_size, page if self.include_ongoing else page * 2)
        for recording in client.iter_recordings(self.query, page_size=page_size):
            if recording.ongoing and not self.include_ongoing:
                continue
            if matched == wanted:
                return CheckResult(matched >= self.min_count, found, matched, more=True)
            matched += 1
            if len(found) < self.max_ids:
                found.append(recording.id)
        return CheckResult(matched >= self.min_count, found, matched)


def describe_window(query: RecordingsQuery | Mapping[str, Any] | None) -> str:
    """The window a check looks at, for a person reading the log.

    ``window 2026-12-07 06:00 UTC to now``, ``window -1d to now``, or, without ``date_from``,
    ``window: PostHog's default, the last 3 days``.

    :param query: the check's query (a dict of API parameters or a query).
    """
    parsed = query if isinstance(query, RecordingsQuery) else RecordingsQuery.parse(query)
    if parsed.date_from is None:
        return "window: PostHog's default, the last 3 days"
    end = "now" if parsed.date_to is None else _readable_date(parsed.date_to)
    return f"window {_readable_date(parsed.date_from)} to {end}"


def describe_deadline(end_time: float | None, now: float) -> str:
    """When a wait gives up: ``gives up at 2026-12-08 18:00 UTC (in 11 h 45 min)``.

    :param end_time: the deadline in seconds since the epoch, or None (no deadline).
    :param now: the current time in seconds since the epoch.
    """
    if end_time is None:
        return "no deadline"
    at = datetime.fromtimestamp(end_time, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"gives up at {at} (in {describe_seconds(end_time - now)})"


def describe_seconds(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 20 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _readable_date(value: Any) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
