"""Fault injection: which request gets which fault, and the answers faults produce."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .responses import Response, html_error, server_error, throttled

FAULT_KINDS = frozenset(
    {
        "429_detail",
        "429_retry_after",
        "500",
        "502",
        "503",
        "504",
        "drop_before",
        "drop_after",
        "slow",
        "truncated",
        "non_json",
        "repeat_items",
        "recording_api_failure",
    }
)
# Faults answered instead of the request: the request has no effect.
PRE_ACTION_KINDS = frozenset(
    {"429_detail", "429_retry_after", "500", "502", "503", "504", "drop_before", "non_json"}
)
# Faults only meaningful on a recordings-shaped list endpoint.
LIST_ONLY_KINDS = frozenset({"repeat_items"})
# Faults only meaningful on a request that deletes recordings (DELETE one, bulk_delete).
DELETE_ONLY_KINDS = frozenset({"recording_api_failure"})


@dataclass(frozen=True)
class FaultTarget:
    """What fault picking knows of a request's endpoint."""

    is_list: bool = False
    deletes_recordings: bool = False

    def admits(self, kind: str) -> bool:
        """Whether a fault of ``kind`` means something on this endpoint."""
        if kind in LIST_ONLY_KINDS:
            return self.is_list
        if kind in DELETE_ONLY_KINDS:
            return self.deletes_recordings
        return True


@dataclass(frozen=True)
class Fault:
    """A fault chosen for one request."""

    kind: str
    seconds: float = 1.0


@dataclass
class _Queued:
    kind: str
    times: int
    method: str | None
    path_contains: str | None
    seconds: float
    skip: int

    def matches(self, method: str, path: str, target: FaultTarget) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        if self.path_contains is not None and self.path_contains not in path:
            return False
        return target.admits(self.kind)


def check_kind(kind: str) -> None:
    """ValueError for an unknown fault kind."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")


class FaultPlan:
    """Queued faults, periodic throttling and random faults. Not thread-safe on its own."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every queued, periodic and random fault."""
        self._queue: list[_Queued] = []
        self._throttle_every = 0
        self._throttle_seconds = 0.0
        self._throttle_count = 0
        self._random: random.Random | None = None
        self._random_rate = 0.0
        self._random_kinds: list[str] = []
        self._random_seconds = 0.0

    def inject(
        self,
        kind: str,
        *,
        times: int,
        method: str | None,
        path_contains: str | None,
        seconds: float,
        skip: int,
    ) -> None:
        """Queue ``kind`` for the next ``times`` matching requests after ``skip`` matches."""
        check_kind(kind)
        if times < 1 or skip < 0:
            raise ValueError("times must be >= 1 and skip >= 0")
        self._queue.append(_Queued(kind, times, method, path_contains, seconds, skip))

    def throttle_every(self, n: int, seconds: float) -> None:
        """Make every ``n``-th request a ``429_detail`` (0 turns it off)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        self._throttle_every = n
        self._throttle_seconds = seconds
        self._throttle_count = 0

    def random_faults(self, *, seed: int, rate: float, kinds: list[str], seconds: float) -> None:
        """Give each request a random fault of ``kinds`` with probability ``rate``."""
        for kind in kinds:
            check_kind(kind)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if rate == 0 or not kinds:
            self._random = None
            return
        self._random = random.Random(seed)
        self._random_rate = rate
        self._random_kinds = list(kinds)
        self._random_seconds = seconds

    def pending(self) -> int:
        """How many queued faults are still to be served."""
        return sum(item.times for item in self._queue)

    def pick(self, method: str, path: str, target: FaultTarget) -> Fault | None:
        """The fault for this request, if any (consumes queued faults)."""
        chosen: Fault | None = None
        for item in list(self._queue):
            if not item.matches(method, path, target):
                continue
            if item.skip > 0:
                item.skip -= 1
                continue
            item.times -= 1
            if item.times == 0:
                self._queue.remove(item)
            chosen = Fault(item.kind, item.seconds)
            break
        if self._throttle_every:
            self._throttle_count += 1
            if chosen is None and self._throttle_count % self._throttle_every == 0:
                chosen = Fault("429_detail", self._throttle_seconds)
        if self._random is not None:
            hit = self._random.random() < self._random_rate
            kind = self._random.choice(self._random_kinds)
            if chosen is None and hit and target.admits(kind):
                chosen = Fault(kind, self._random_seconds)
        return chosen


def fault_response(fault: Fault) -> Response | None:
    """The answer of a pre-action fault; None means "drop the connection"."""
    kind = fault.kind
    if kind == "429_detail":
        return throttled(fault.seconds).to_response()
    if kind == "429_retry_after":
        return throttled(fault.seconds, retry_after=True).to_response()
    if kind == "500":
        return server_error("Internal server error (injected by the PostHog emulator)")
    if kind in ("502", "503", "504"):
        return html_error(int(kind))
    if kind == "non_json":
        return Response(200, raw=b"<html>oops</html>", content_type="text/html; charset=utf-8")
    if kind == "drop_before":
        return None
    raise ValueError(f"{kind!r} is not answered before acting")
