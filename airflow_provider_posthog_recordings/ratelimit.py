"""Client-side rate limiting shared by every client of one process that uses the same key.

PostHog counts requests per key in a one-minute window (240/min for recordings and playlists,
12 to 100/min for listing recordings, by plan). A token bucket with a burst of B tokens can send
B + rate*60 requests in its first minute and so overshoot such a window; this limiter instead
keeps the send times of the last ``per_minute`` requests and never lets more than that many go
in any 60 seconds, which is exactly what the server checks. When the server throttles anyway
(another process uses the key), :meth:`SlidingWindowLimiter.pause` holds every thread back.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from airflow_provider_posthog_recordings import backoff

WINDOW_SECONDS = 60.0
#: Slack added to the window: the server counts arrivals, the limiter counts departures.
SAFETY_MARGIN_SECONDS = 0.5


class SlidingWindowLimiter:
    """At most ``per_minute`` acquisitions in any 60-second window; thread-safe.

    Args:
        per_minute: the budget; None or 0 means unlimited (only pauses apply).
        clock: monotonic clock in seconds (injectable for tests).
        sleep: sleep function (default: :func:`backoff.sleep`, looked up at each wait).
    """

    def __init__(
        self,
        per_minute: int | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if per_minute is not None and per_minute < 0:
            raise ValueError("per_minute must be positive, or None for no limit")
        self.per_minute = per_minute or None
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque(maxlen=per_minute or None)
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def acquire(self, sleep: Callable[[float], None] | None = None) -> float:
        """Reserve the next slot, sleep until it comes, and return the seconds waited.

        The slot's time is decided once under the lock (no busy loop): at the earliest when
        the oldest of the last ``per_minute`` slots is a minute old, and not before a pause
        ends. Slots are handed out in order, so threads never share one.

        Args:
            sleep: the caller's sleep function (default: the limiter's own).
        """
        with self._lock:
            now = self._clock()
            slot = max(now, self._paused_until)
            if self.per_minute is not None:
                if len(self._sent) >= self.per_minute:
                    slot = max(slot, self._sent[0] + WINDOW_SECONDS + SAFETY_MARGIN_SECONDS)
                if self._sent:
                    slot = max(slot, self._sent[-1])
                self._sent.append(slot)
            delay = slot - now
            self.waited_seconds += delay
        if delay > 0:
            (sleep or self._sleep or backoff.sleep)(delay)
        return delay

    def pause(self, seconds: float) -> None:
        """Hold every acquisition back for ``seconds`` from now (after a 429)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


_SHARED: dict[tuple[str, str, int | None], SlidingWindowLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(scope: str, key_id: str, per_minute: int | None) -> SlidingWindowLimiter:
    """The process-wide limiter for one (endpoint scope, key, budget).

    ``key_id`` must identify the key without being it (a hash), so that the registry holds no
    secret.
    """
    with _SHARED_LOCK:
        slot = (scope, key_id, per_minute)
        limiter = _SHARED.get(slot)
        if limiter is None:
            limiter = SlidingWindowLimiter(per_minute)
            _SHARED[slot] = limiter
        return limiter
