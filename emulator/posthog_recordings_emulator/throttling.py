"""The emulated server's per-key request budgets (sliding windows, like DRF's throttles)."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

MINUTE = 60.0
HOUR = 3600.0


class KeyThrottle:
    """At most ``limit`` requests per key in any ``window`` seconds.

    Like DRF's throttles, only allowed requests are remembered: a throttled
    request does not push the next free slot further away.
    """

    def __init__(
        self, limit: int, window: float = 60.0, time_fn: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit = limit
        self.window = window
        self._time = time_fn
        self._history: dict[str, deque[float]] = {}

    def wait_needed(self, key: str) -> int:
        """Whole seconds (>= 1) until ``key`` may send again, or 0 when it may now."""
        now = self._time()
        history = self._history.setdefault(key, deque())
        while history and history[0] <= now - self.window:
            history.popleft()
        if len(history) < self.limit:
            return 0
        return max(1, math.ceil(history[0] + self.window - now))

    def record(self, key: str) -> None:
        """Remember an allowed request of ``key``."""
        self._history.setdefault(key, deque()).append(self._time())


@dataclass(frozen=True)
class Budget:
    """One named request budget of a key: ``minute``, ``hour``, ``list_minute``, ``list_hour``,
    ``snapshots_minute``, ``snapshots_hour``.

    ``list_only`` budgets count only the recordings list; ``snapshots_only`` ones only the
    snapshots endpoint.
    """

    name: str
    throttle: KeyThrottle
    list_only: bool = False
    snapshots_only: bool = False

    def applies(self, is_list: bool, is_snapshots: bool) -> bool:
        """Whether a request of this kind counts against this budget."""
        if self.list_only:
            return is_list
        if self.snapshots_only:
            return is_snapshots
        return True


class KeyBudgets:
    """Every budget of the emulated server, checked together (not thread-safe on its own).

    A request is refused when any budget that applies to it is spent; only allowed
    requests are counted. ``throttles`` counts refusals by the budget that decided the wait.
    """

    def __init__(self, budgets: list[Budget]) -> None:
        self.budgets = budgets
        self.throttles: Counter[str] = Counter()

    def wait_needed(self, key: str, *, is_list: bool, is_snapshots: bool = False) -> int:
        """0 and the request counted, or the whole seconds to wait (the refusal counted)."""
        active = [b for b in self.budgets if b.applies(is_list, is_snapshots)]
        waits = [(b.throttle.wait_needed(key), b.name) for b in active]
        wait, name = max(waits, default=(0, ""))
        if wait:
            self.throttles[name] += 1
            return wait
        for budget in active:
            budget.throttle.record(key)
        return 0


def build_budgets(
    *,
    per_minute: int | None,
    per_hour: int | None,
    list_per_minute: int | None,
    list_per_hour: int | None,
    time_fn: Callable[[], float],
    snapshots_per_minute: int | None = None,
    snapshots_per_hour: int | None = None,
    window_scale: float = 1.0,
) -> KeyBudgets:
    """The budgets whose limit is set (None or 0 means no such budget).

    ``window_scale`` stretches or shrinks every window (0.1: a "minute" of 6 s), for tests
    of processes that must wait for the budget in real time.
    """
    if window_scale <= 0:
        raise ValueError("window_scale must be positive")
    minute, hour = MINUTE * window_scale, HOUR * window_scale
    specs = [
        ("minute", per_minute, minute, ""),
        ("hour", per_hour, hour, ""),
        ("list_minute", list_per_minute, minute, "list"),
        ("list_hour", list_per_hour, hour, "list"),
        ("snapshots_minute", snapshots_per_minute, minute, "snapshots"),
        ("snapshots_hour", snapshots_per_hour, hour, "snapshots"),
    ]
    return KeyBudgets(
        [
            Budget(
                name,
                KeyThrottle(limit, window, time_fn),
                list_only=only == "list",
                snapshots_only=only == "snapshots",
            )
            for name, limit, window, only in specs
            if limit
        ]
    )
