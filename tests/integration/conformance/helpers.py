"""Helpers of the conformance suite: a simulated clock, and what the emulator did through the API.

The conformance scenarios run the real client against a real HTTP emulator of every server
profile. Both sides keep PostHog's request budgets; they share a :class:`SimClock`, so that a
wait for the budget (or a 429's wait) takes no real time while the budgets still count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from posthog_recordings_emulator import PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient

#: The simulated "now" every scenario starts at (the data's clock and the purge's reference).
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
#: A project time zone other than UTC, so that a naive datetime sent anywhere shows.
NEW_YORK = "America/New_York"


class SimClock:
    """A simulated clock: ``monotonic`` for the budgets, ``now_utc`` for the data, and a
    ``sleep`` that advances both instantly (thread-safe).

    Sleeps of concurrent threads add up, so with several threads simulated time runs faster
    than real time would; scenarios that count throttling exactly use one thread.
    """

    def __init__(self, start: datetime = NOW) -> None:
        self._start = start
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self.slept = 0.0

    def monotonic(self) -> float:
        """Seconds since the simulation started (the budgets' clock)."""
        with self._lock:
            return 1_000_000.0 + self._elapsed

    def now_utc(self) -> datetime:
        """The simulated aware UTC "now" (the emulator's data clock)."""
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` without waiting."""
        if seconds > 0:
            with self._lock:
                self._elapsed += seconds
                self.slept += seconds


def cloud_emulator(sim: SimClock, profile: str, **options: Any) -> PostHogEmulator:
    """A started emulator of ``profile`` on the simulated clock, with the profile's budgets."""
    options.setdefault("monotonic", sim.monotonic)
    options.setdefault("clock", sim.now_utc)
    return PostHogEmulator(profile=profile, **options).start()


def sim_client(
    emulator: PostHogEmulator,
    sim: SimClock,
    *,
    requests_per_minute: int = 240,
    requests_per_hour: int = 1200,
    session: requests.Session | None = None,
    **options: Any,
) -> PostHogClient:
    """A client of ``emulator`` with PostHog's budgets (by default) kept on the simulated clock."""
    return PostHogClient(
        emulator.url,
        emulator.api_key,
        emulator.project_id,
        requests_per_minute=requests_per_minute,
        requests_per_hour=requests_per_hour,
        clock=sim.monotonic,
        sleep=sim.sleep,
        timeout=(2.0, 10.0),
        session=session,
        **options,
    )


class OutOfBand:
    """Someone else deleting recordings at a chosen moment of a run.

    :meth:`delete` removes the given ids from the emulator and remembers those that existed,
    so that :meth:`deleted_through_api` can tell the run's deletions from these.
    """

    def __init__(self, emulator: PostHogEmulator) -> None:
        self.emulator = emulator
        self.ids: set[str] = set()

    def delete(self, recording_ids: list[str]) -> None:
        """Delete these recordings "by someone else" (only existing ones are counted)."""
        existing = self.emulator.recording_ids()
        for rid in recording_ids:
            if rid in existing:
                self.emulator.delete_recording(rid)
                self.ids.add(rid)

    def deleted_through_api(self) -> set[str]:
        """Ids the emulator deleted through its API (every deletion but these)."""
        return self.emulator.deleted_ids - self.ids


class HookedSession(requests.Session):
    """A requests session that calls ``before(method, url)`` before each request is sent
    (``url`` with its query string).

    It lets a scenario act at an exact moment of a run (e.g. just before the first
    ``bulk_delete``) without touching the client or the server.
    """

    def __init__(self, before: Callable[[str, str], None]) -> None:
        super().__init__()
        self._before = before

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        full = requests.Request(str(method), str(url), params=kwargs.get("params")).prepare()
        self._before(str(method).upper(), str(full.url))
        return super().request(method, url, *args, **kwargs)


def start_time(emulator: PostHogEmulator, recording_id: str) -> datetime:
    """The aware start time of an existing recording."""
    record = emulator.recording(recording_id)
    assert record is not None and record["start_time"] is not None
    return datetime.fromisoformat(record["start_time"].replace("Z", "+00:00"))
