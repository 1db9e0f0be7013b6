"""Deterministic generation of realistic recordings and persons."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .recording_records import make_person, session_id_from_bits
from .state import RETENTION_PERIOD_DAYS

START_URLS = (
    "https://app.example.com/",
    "https://app.example.com/dashboard",
    "https://app.example.com/settings/billing",
    "https://app.example.com/projects/42/insights",
    "https://shop.example.com/checkout",
    "https://shop.example.com/cart",
    "https://www.example.com/pricing",
    "https://www.example.com/blog/launch-week",
    "https://docs.example.com/getting-started",
)

MAX_DURATION = 4 * 3600


@dataclass(frozen=True)
class SeedSpec:
    """What :func:`generate_recordings` should produce."""

    n: int
    days: float
    seed: int
    ongoing: int
    error_fraction: float
    persons: int | None
    end: datetime


def _uuid4_like(rng: random.Random) -> str:
    bits = rng.getrandbits(128)
    bits = (bits & ~(0xF << 76)) | (0x4 << 76)
    bits = (bits & ~(0x3 << 62)) | (0x2 << 62)
    hex_ = f"{bits:032x}"
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


def _persons(rng: random.Random, spec: SeedSpec, first_id: int) -> list[dict[str, Any]]:
    count = spec.persons if spec.persons is not None else max(1, spec.n // 4)
    people = []
    for index in range(max(1, count)):
        distinct_ids = [f"user-{spec.seed}-{index}"]
        if rng.random() < 0.3:
            distinct_ids.insert(0, _uuid4_like(rng))
        people.append(
            make_person(
                first_id + index,
                distinct_ids,
                person_uuid=_uuid4_like(rng),
                email=f"person{index}.seed{spec.seed}@example.com",
                created_at=spec.end - timedelta(days=spec.days + rng.uniform(1, 365)),
            )
        )
    return people


def _timing(rng: random.Random, spec: SeedSpec, ongoing: bool) -> tuple[datetime, int]:
    """(start_time, duration in seconds) of one recording."""
    if ongoing:
        start = spec.end - timedelta(seconds=rng.uniform(60, 240))
        elapsed = (spec.end - start).total_seconds()
        return start, max(1, int(elapsed - rng.uniform(0, 30)))
    start = spec.end - timedelta(seconds=rng.uniform(0, spec.days * 86400))
    duration = int(min(MAX_DURATION, max(3, rng.lognormvariate(5.0, 1.1))))
    room = int((spec.end - start).total_seconds())
    return start, max(1, min(duration, room))


def _one(
    rng: random.Random,
    spec: SeedSpec,
    person: dict[str, Any],
    *,
    ongoing: bool,
    with_errors: bool,
) -> dict[str, Any]:
    start, duration = _timing(rng, spec, ongoing)
    active = int(duration * rng.uniform(0.2, 0.95))
    clicks = int(active * rng.uniform(0.02, 0.4))
    return {
        "id": session_id_from_bits(rng.getrandbits(128)),
        "distinct_id": rng.choice(person["distinct_ids"]),
        "recording_duration": duration,
        "active_seconds": active,
        "inactive_seconds": duration - active,
        "start_time": start,
        "end_time": start + timedelta(seconds=duration),
        "click_count": clicks,
        "keypress_count": int(active * rng.uniform(0.0, 0.5)),
        "mouse_activity_count": clicks + int(active * rng.uniform(0.5, 3.0)),
        "console_log_count": rng.randint(0, 40),
        "console_warn_count": rng.randint(1, 6) if rng.random() < 0.3 else 0,
        "console_error_count": rng.randint(1, 15) if with_errors else 0,
        "start_url": rng.choice(START_URLS),
        "person": person,
        "retention_period_days": RETENTION_PERIOD_DAYS,
        "snapshot_source": "web" if rng.random() < 0.95 else "mobile",
        "ongoing": ongoing,
        "activity_score": round(
            min(100.0, active / max(duration, 1) * 100 * rng.uniform(0.3, 1)), 2
        ),
        "has_summary": False,
        "matches_filters": None,
        "external_references": [],
    }


def generate_recordings(
    spec: SeedSpec, *, taken_ids: set[str], first_person_id: int
) -> list[dict[str, Any]]:
    """Recordings for ``spec``: the same seed (and end) always gives the same data.

    Ids already in ``taken_ids`` are skipped by drawing another one.
    """
    if spec.n < 0 or spec.ongoing < 0 or spec.ongoing > spec.n:
        raise ValueError("need 0 <= ongoing <= n")
    if not 0.0 <= spec.error_fraction <= 1.0:
        raise ValueError("error_fraction must be between 0 and 1")
    rng = random.Random(f"posthog-emulator:{spec.seed}")
    people = _persons(rng, spec, first_person_id)
    ongoing = set(rng.sample(range(spec.n), spec.ongoing))
    with_errors = set(rng.sample(range(spec.n), round(spec.n * spec.error_fraction)))
    records = []
    used = set(taken_ids)
    for index in range(spec.n):
        person = people[rng.randrange(len(people))]
        record = _one(rng, spec, person, ongoing=index in ongoing, with_errors=index in with_errors)
        while record["id"] in used:
            record["id"] = session_id_from_bits(rng.getrandbits(128))
        used.add(record["id"])
        records.append(record)
    return records
