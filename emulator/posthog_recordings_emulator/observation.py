"""Observation and fault controls of :class:`~.emulator.PostHogEmulator` (a mixin)."""

from __future__ import annotations

import collections

from .core import EmulatorCore, RequestRecord


class ObservationAndFaults:
    """What an emulator saw and answered, and the faults it is told to serve."""

    _core: EmulatorCore

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received since the last :meth:`reset_requests` (a copy)."""
        with self._core.lock:
            return list(self._core.requests)

    @property
    def request_count(self) -> int:
        """How many requests were received since the last :meth:`reset_requests`."""
        with self._core.lock:
            return len(self._core.requests)

    @property
    def internal_errors(self) -> list[str]:
        """Tracebacks of emulator bugs answered as 500 (should stay empty)."""
        with self._core.lock:
            return list(self._core.internal_errors)

    def reset_requests(self) -> None:
        """Forget the recorded requests and the fault counters."""
        with self._core.lock:
            self._core.requests.clear()
            self._core.faults_injected.clear()

    @property
    def faults_injected(self) -> collections.Counter[str]:
        """Faults served so far, by kind (a copy)."""
        with self._core.lock:
            return collections.Counter(self._core.faults_injected)

    @property
    def throttles(self) -> collections.Counter[str]:
        """429s answered because a budget was spent, by budget (a copy).

        Keys: ``minute``, ``hour``, ``list_minute``, ``list_hour``, ``snapshots_minute``,
        ``snapshots_hour``; injected 429 faults
        are counted in :attr:`faults_injected` instead.
        """
        with self._core.lock:
            return collections.Counter(self._core.budgets.throttles)

    def inject(
        self,
        kind: str,
        *,
        times: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        seconds: float = 1.0,
        skip: int = 0,
    ) -> None:
        """Give the next ``times`` matching requests (after ``skip`` matches) a fault.

        Kinds: ``429_detail``, ``429_retry_after``, ``500``, ``502``, ``503``,
        ``504``, ``drop_before``, ``drop_after``, ``slow``, ``truncated``,
        ``non_json``, ``repeat_items`` (list endpoints only), ``recording_api_failure``
        (a recording DELETE answers 500 ``recording_api_failure`` without deleting; in a
        ``bulk_delete`` the recordings found go to ``failed_ids``).
        """
        with self._core.lock:
            self._core.faults.inject(
                kind,
                times=times,
                method=method,
                path_contains=path_contains,
                seconds=seconds,
                skip=skip,
            )

    def throttle_every(self, n: int, seconds: float = 0) -> None:
        """Answer every ``n``-th request with a ``429_detail`` of ``seconds`` (0 = off)."""
        with self._core.lock:
            self._core.faults.throttle_every(n, seconds)

    def random_faults(
        self, *, seed: int, rate: float, kinds: list[str], seconds: float = 0.0
    ) -> None:
        """Give each request a fault of ``kinds`` with probability ``rate`` (0 = off)."""
        with self._core.lock:
            self._core.faults.random_faults(seed=seed, rate=rate, kinds=kinds, seconds=seconds)

    def clear_faults(self) -> None:
        """Cancel every pending, periodic and random fault."""
        with self._core.lock:
            self._core.faults.clear()
