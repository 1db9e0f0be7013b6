"""A personal API key's request budget, shared by every client of one process (pure, thread-safe).

PostHog counts requests per key in two sliding windows at once: 240 a minute and 1,200 an
hour for the recordings and playlists endpoints together (listing recordings has tighter
limits by plan, e.g. 60 a minute and 300 an hour). A token bucket with a burst of B tokens can
send B + rate*60 requests in its first minute and so overshoot such a window; this budget
instead keeps the send times of the last ``limit`` requests of each window and never lets more
than that many go in any window, which is exactly what the server checks. When the server
throttles anyway (another process uses the key), :meth:`KeyBudget.pause` holds every thread
back.

A caller that must not wait long (a deferrable task) passes ``max_wait`` to
:meth:`KeyBudget.acquire`: when the next slot is further away, nothing is reserved and
:class:`~airflow_provider_posthog_recordings.client.errors.PostHogBudgetWait` says how long to wait.

**One request at a time while the key's history is unknown.** A new budget (a new process:
every task start, every resumed leg) cannot know what other processes sent with the key in
the last minute, and requests sent side by side into a spent budget come back as that many
429s. So requests take turns (:meth:`KeyBudget.turn`): one at a time until the budget has seen
a whole shortest window itself (a minute after its first request; with no client-side limit,
until the first answer), and after any 429 until PostHog answers one without a 429. A 429's
wait holds back every thread (:meth:`KeyBudget.throttled`), and the budget then takes the
window the wait belongs to as full (spread over the window, the oldest leaving when the 429
said) instead of empty. With the minute's budget spent by another process, a new process
therefore gets at most one 429. PostHog tells nothing of what is left in a window: a key
shared by processes running at the same time can still get 429s (use a pool).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from airflow_provider_posthog_recordings.client.errors import PostHogBudgetWait
from airflow_provider_posthog_recordings.client.http import backoff

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
HOUR_SECONDS = 3600.0
#: Slack added to each window: the server counts arrivals, the budget counts departures.
SAFETY_MARGIN_SECONDS = 0.5
#: Waits longer than this are logged at INFO (the hourly budget is spent).
LONG_WAIT_SECONDS = 60.0


class _Window:
    """The send times of the last ``limit`` requests of one window."""

    def __init__(self, seconds: float, limit: int) -> None:
        if limit < 1:
            # Unreachable through KeyBudget (it drops 0 and refuses negatives first).
            raise ValueError("a budget must be positive, or None for no limit")  # pragma: no mutate
        self.seconds = seconds
        self.limit = limit
        self.sent: deque[float] = deque(maxlen=limit)

    def earliest(self) -> float:
        """The earliest time the next request may go by this window alone."""
        if len(self.sent) < self.limit:
            return -math.inf
        return self.sent[0] + self.seconds + SAFETY_MARGIN_SECONDS

    def assume_full(self, now: float, wait: float) -> None:
        """Take the window as full, its oldest request leaving in ``wait`` seconds and the
        others sent evenly since (what the server's 429 implies, at the least)."""
        oldest = now + wait - self.seconds - SAFETY_MARGIN_SECONDS
        span = max(0.0, now - oldest)
        step = span / max(1, self.limit - 1)
        assumed = [min(now, oldest + i * step) for i in range(self.limit)]
        known = [-math.inf] * (self.limit - len(self.sent)) + list(self.sent)
        # Both hold ``limit`` times: whether zip is strict makes no difference.
        merged = zip(known, assumed, strict=True)  # pragma: no mutate
        self.sent = deque((max(a, b) for a, b in merged), maxlen=self.limit)


@dataclass
class Answer:
    """What came back for a request that had its turn: its status, None for no answer."""

    status: int | None = None


class KeyBudget:
    """At most ``per_minute`` requests in any minute and ``per_hour`` in any hour.

    :param per_minute: the minute budget; None or 0 means none.
    :param per_hour: the hour budget; None or 0 means none.
    :param clock: monotonic clock in seconds (injectable: tests and the simulated benchmark).
    :param sleep: sleep function (default: :func:`backoff.sleep`, looked up at each wait).
    """

    def __init__(
        self,
        per_minute: int | None,
        per_hour: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        for name, value in (("per_minute", per_minute), ("per_hour", per_hour)):
            if value is not None and value < 0:
                raise ValueError(f"{name} must be positive, or None for no limit")
        self.per_minute = per_minute or None
        self.per_hour = per_hour or None
        self._windows = [
            _Window(seconds, limit)
            for seconds, limit in ((WINDOW_SECONDS, per_minute), (HOUR_SECONDS, per_hour))
            if limit
        ]
        self._clock = clock
        self._sleep = sleep
        self._paused_until = 0.0
        self._last_slot = -math.inf
        self._lock = threading.Lock()
        self.waited_seconds = 0.0
        # Turns (see the module docstring).
        self._turns = threading.Condition()
        self._in_flight = 0
        self._first_turn: float | None = None
        # Equivalent mutants below: a falsy None is False; the first answer that is not a 429
        # sets _throttled before anything reads it (until then, no answer keeps turns alone);
        # _known_after is read only when there are windows (never its default).
        self._answered = False  # pragma: no mutate
        self._throttled = False  # pragma: no mutate
        shortest = min((w.seconds for w in self._windows), default=0.0)  # pragma: no mutate
        self._known_after = shortest

    def one_at_a_time(self) -> bool:
        """Whether requests now go one at a time (see the module docstring)."""
        with self._turns:
            return self._alone()

    def _alone(self) -> bool:
        if self._throttled or not self._answered or self._first_turn is None:
            return True
        if not self._windows:
            return False
        return self._clock() < self._first_turn + self._known_after + SAFETY_MARGIN_SECONDS

    @contextmanager
    def turn(self) -> Iterator[Answer]:
        """Hold a turn for one request: alone while the key's history is unknown.

        Set the yielded :class:`Answer`'s ``status`` once the server answered; a 429's wait
        must be given to :meth:`throttled` before the turn ends, so that the next request
        already waits for it.
        """
        with self._turns:
            while self._in_flight and self._alone():
                self._turns.wait()
            if self._first_turn is None:
                self._first_turn = self._clock()
            self._in_flight += 1
        answer = Answer()
        try:
            yield answer
        finally:
            with self._turns:
                self._in_flight -= 1
                if answer.status is not None and answer.status != 429:
                    self._answered = True
                    self._throttled = False
                self._turns.notify_all()

    def throttled(self, seconds: float) -> None:
        """PostHog answered 429, the key's budget back in ``seconds``: hold every request
        back that long, take the window the wait belongs to as full, and go one at a time
        until an answer that is not a 429."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + seconds)
            fitting = [w for w in self._windows if w.seconds + SAFETY_MARGIN_SECONDS >= seconds]
            window = min(fitting or self._windows, key=lambda w: w.seconds, default=None)
            if window is not None:
                window.assume_full(now, min(seconds, window.seconds))
        with self._turns:
            self._throttled = True

    def _next_slot(self, now: float) -> float:
        slot = max(now, self._paused_until)
        # Equivalent with a monotonic clock (each bound only grows), kept as a guard.
        slot = max(slot, self._last_slot)  # pragma: no mutate
        for window in self._windows:
            slot = max(slot, window.earliest())
        return slot

    def wait_needed(self) -> float:
        """Seconds until the next request may go (0 when it may go now); reserves nothing."""
        with self._lock:
            now = self._clock()
            return max(0.0, self._next_slot(now) - now)

    def acquire(
        self, sleep: Callable[[float], None] | None = None, *, max_wait: float | None = None
    ) -> float:
        """Reserve the next slot, sleep until it comes, and return the seconds waited.

        The slot's time is decided once under the lock (no busy loop). Slots are handed out
        in order, so threads never share one.

        :param sleep: the caller's sleep function (default: the budget's own).
        :param max_wait: the longest wait the caller accepts; beyond it nothing is reserved.

        :raises PostHogBudgetWait: the next slot is more than ``max_wait`` seconds away.
        """
        with self._lock:
            now = self._clock()
            slot = self._next_slot(now)
            delay = slot - now
            if max_wait is not None and delay > max_wait:
                raise PostHogBudgetWait(delay)
            if self._windows:
                self._last_slot = slot
            for window in self._windows:
                window.sent.append(slot)
            self.waited_seconds += delay
        if delay >= LONG_WAIT_SECONDS:
            log.info(
                "Waiting %.0f s for the PostHog key's request budget (%s)", delay, self.describe()
            )
        if delay > 0:
            (sleep or self._sleep or backoff.sleep)(delay)
        return delay

    def forecast(self, requests: int, max_wait: float | None = None) -> tuple[float, int]:
        """How long ``requests`` more requests take at this budget from now, if each went as
        soon as the budget allowed; and how many waits longer than ``max_wait`` come on the
        way (for a deferrable task: each is a deferral, a new leg). Latency is not counted.
        """
        return forecast_runs([(requests, (self,))], max_wait)

    def _forecast_view(self) -> tuple[float, float, list[tuple[float, int, deque[float]]]]:
        """Now, the pause's end and a copy of each window (for :func:`forecast_runs`)."""
        with self._lock:
            now = self._clock()
            windows = [(w.seconds, w.limit, deque(w.sent, maxlen=w.limit)) for w in self._windows]
            return now, self._paused_until, windows

    def recent_ages(self) -> list[float]:
        """How many seconds ago each request of the longest window went (oldest first).

        With :meth:`replay`, a resumed task in a new process starts from the budget the key
        really has left instead of a full one.
        """
        with self._lock:
            if not self._windows:
                return []
            now = self._clock()
            longest = max(self._windows, key=lambda window: window.seconds)
            return [round(now - sent, 3) for sent in longest.sent if now - sent < longest.seconds]

    def replay(self, ages: list[float]) -> None:
        """Count requests sent ``ages`` seconds ago, if this budget has sent nothing yet."""
        with self._lock:
            if any(window.sent for window in self._windows):
                return  # this process already knows its own history
            now = self._clock()
            for age in sorted(ages, reverse=True):
                for window in self._windows:
                    window.sent.append(now - age)
            if self._windows and ages:
                self._last_slot = now - min(ages)

    def pause(self, seconds: float) -> None:
        """Hold every acquisition back for ``seconds`` from now (after a 429)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def describe(self) -> str:
        """The budget in words, e.g. ``240/minute and 1200/hour``."""
        parts = []
        if self.per_minute:
            parts.append(f"{self.per_minute}/minute")
        if self.per_hour:
            parts.append(f"{self.per_hour}/hour")
        return " and ".join(parts) or "no client-side limit"


def forecast_runs(
    runs: Sequence[tuple[int, Sequence[KeyBudget]]], max_wait: float | None = None
) -> tuple[float, int]:
    """How long runs of requests take from now, each request counting against every budget
    of its run (e.g. a snapshots request against the key's budget and the plan's snapshots
    budget) and going as soon as all of them allow; and how many waits longer than
    ``max_wait`` come on the way (each a deferral: a new leg). Latency is not counted.

    :param runs: ``(count, budgets)`` in the order the requests go; the budgets share a clock.
    :param max_wait: the longest wait slept through (None: none is a deferral).

    :return: The seconds until the last request goes, and the number of long waits.
    """
    views: dict[int, tuple[float, list[tuple[float, int, deque[float]]]]] = {}
    now: float | None = None
    for _count, budgets in runs:
        for budget in budgets:
            if id(budget) not in views:
                at, paused_until, windows = budget._forecast_view()
                now = at if now is None else now
                views[id(budget)] = (paused_until, windows)
    if now is None:
        return 0.0, 0
    at, pauses = now, 0
    for count, budgets in runs:
        chosen = [views[id(budget)] for budget in budgets]
        for _ in range(max(0, count)):
            slot = at
            for paused_until, windows in chosen:
                slot = max(slot, paused_until)
                for seconds, limit, sent in windows:
                    if len(sent) >= limit:
                        slot = max(slot, sent[0] + seconds + SAFETY_MARGIN_SECONDS)
            if max_wait is not None and slot - at > max_wait:
                pauses += 1
            for _paused_until, windows in chosen:
                for _seconds, _limit, sent in windows:
                    sent.append(slot)
            at = slot
    return at - now, pauses


_SHARED: dict[tuple[str, str, int | None, int | None], KeyBudget] = {}
_SHARED_LOCK = threading.Lock()


def shared_budget(
    scope: str, key_id: str, per_minute: int | None, per_hour: int | None = None
) -> KeyBudget:
    """The process-wide budget for one (endpoint scope, key, limits).

    ``key_id`` must identify the key without being it (a hash), so that the registry holds no
    secret.
    """
    with _SHARED_LOCK:
        slot = (scope, key_id, per_minute or None, per_hour or None)
        budget = _SHARED.get(slot)
        if budget is None:
            budget = KeyBudget(per_minute, per_hour)
            _SHARED[slot] = budget
        return budget
