"""Per-key sliding-window rate limits, answered the way PostHog's throttles answer."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


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
