"""How long to wait before retrying (pure, no I/O).

PostHog's 429 usually has no ``Retry-After`` header: the wait is only in the body's ``detail``
("Request was throttled. Expected available in 12 seconds."). The order of preference is the
header, then the detail, then exponential backoff with jitter.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any


def sleep(seconds: float) -> None:
    """Wait before a retry. Every wait of the package goes through here (tests replace it)."""
    time.sleep(seconds)


_EXPECTED_IN = re.compile(r"available in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


def exponential_backoff(
    attempt: int, *, base: float = 1.0, cap: float = 60.0, rng: random.Random | None = None
) -> float:
    """Full-jitter exponential backoff: a random wait in [base/2, base * 2**attempt], capped."""
    ceiling = min(cap, base * (2**attempt))
    floor = min(ceiling, base / 2)
    return (rng or random).uniform(floor, ceiling)


def retry_after_seconds(headers: Mapping[str, str], now_epoch: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if now_epoch is None:
        return None
    if when.tzinfo is None:  # "-0000": UTC without a zone name, not local time
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now_epoch)


def detail_wait_seconds(body: Any) -> float | None:
    """Seconds from PostHog's throttling ``detail`` text, or None."""
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    if not isinstance(detail, str):
        return None
    match = _EXPECTED_IN.search(detail)
    return float(match.group(1)) if match else None


def throttle_wait(
    headers: Mapping[str, str],
    body: Any,
    attempt: int,
    *,
    base: float = 1.0,
    cap: float = 60.0,
    now_epoch: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """The wait after a 429: header, else detail, else backoff; never more than ``cap``.

    A small jitter is added to server-given waits so that tasks sharing a key do not all
    come back in the same instant.
    """
    told = retry_after_seconds(headers, now_epoch)
    if told is None:
        told = detail_wait_seconds(body)
    if told is None:
        return exponential_backoff(attempt, base=base, cap=cap, rng=rng)
    jitter = (rng or random).uniform(0, min(1.0, base))
    return min(cap, told + jitter)
