"""Recording objects: building one from given fields and serialising it as the API does."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from .state import RETENTION_PERIOD_DAYS, EmulatorState
from .timeutil import coerce_datetime, to_iso

ONGOING_WINDOW = timedelta(minutes=5)

_DEFAULTS: dict[str, Any] = {
    "recording_duration": 300,
    "active_seconds": 200,
    "inactive_seconds": 100,
    "click_count": 12,
    "keypress_count": 5,
    "mouse_activity_count": 48,
    "console_log_count": 3,
    "console_warn_count": 0,
    "console_error_count": 0,
    "activity_score": 25.0,
    "start_url": "https://app.example.com/",
    "snapshot_source": "web",
    "retention_period_days": RETENTION_PERIOD_DAYS,
    "has_summary": False,
    "matches_filters": None,
    "external_references": [],
}

# Computed per request, never stored.
_COMPUTED = ("viewed", "viewers")

_FIELD_ORDER = (
    "id",
    "distinct_id",
    "viewed",
    "viewers",
    "recording_duration",
    "active_seconds",
    "inactive_seconds",
    "start_time",
    "end_time",
    "click_count",
    "keypress_count",
    "mouse_activity_count",
    "console_log_count",
    "console_warn_count",
    "console_error_count",
    "start_url",
    "person",
    "retention_period_days",
    "expiry_time",
    "recording_ttl",
    "snapshot_source",
    "ongoing",
    "activity_score",
)


def session_id_from_bits(bits: int) -> str:
    """A session id shaped like the UUIDv7 strings posthog-js generates."""
    bits &= (1 << 128) - 1
    bits = (bits & ~(0xF << 76)) | (0x7 << 76)
    bits = (bits & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=bits))


def new_session_id(rng: random.Random | None = None) -> str:
    """A fresh random session id."""
    bits = (rng or random.SystemRandom()).getrandbits(128)
    return session_id_from_bits(bits)


def make_person(
    person_id: int,
    distinct_ids: list[str],
    *,
    person_uuid: str,
    email: str,
    created_at: datetime,
) -> dict[str, Any]:
    """A person object as the recordings API nests it."""
    return {
        "id": person_id,
        "uuid": person_uuid,
        "name": email,
        "distinct_ids": list(distinct_ids),
        "properties": {"email": email},
        "created_at": to_iso(created_at),
    }


def person_for(state: EmulatorState, distinct_id: str, now: datetime) -> dict[str, Any]:
    """The person of ``distinct_id``, created on first use."""
    person = state.persons.get(distinct_id)
    if person is None:
        person_id = state.next_person_id
        state.next_person_id += 1
        person = make_person(
            person_id,
            [distinct_id],
            person_uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"person:{distinct_id}")),
            email=f"{distinct_id}@example.com",
            created_at=now - timedelta(days=120),
        )
        state.persons[distinct_id] = person
    return person


def build_recording(state: EmulatorState, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A stored recording from caller-given ``fields`` plus realistic defaults.

    ``start_time``/``end_time`` may be datetimes, ISO strings or None; ``duration`` is
    accepted as an alias of ``recording_duration``; unknown fields are kept.
    """
    fields = dict(fields)
    for computed in _COMPUTED:
        fields.pop(computed, None)
    if "duration" in fields and "recording_duration" not in fields:
        fields["recording_duration"] = fields.pop("duration")
    record: dict[str, Any] = {**_DEFAULTS, "external_references": []}
    record.update(fields)
    record["id"] = str(fields.get("id") or new_session_id())
    if "start_time" in fields:
        record["start_time"] = coerce_datetime(fields["start_time"])
    else:
        record["start_time"] = now - timedelta(hours=1)
    start = record["start_time"]
    if "end_time" in fields:
        record["end_time"] = coerce_datetime(fields["end_time"])
    else:
        duration = record.get("recording_duration") or 0
        record["end_time"] = None if start is None else start + timedelta(seconds=duration)
    distinct_id = str(record.get("distinct_id") or f"emulator-user-{len(state.recordings) + 1}")
    record["distinct_id"] = distinct_id
    if "person" not in fields:
        record["person"] = person_for(state, distinct_id, now)
    if "ongoing" not in fields:
        end = record["end_time"]
        record["ongoing"] = end is not None and now - end < ONGOING_WINDOW
    return record


def serialize_recording(
    state: EmulatorState, record: dict[str, Any], user_id: int, now: datetime
) -> dict[str, Any]:
    """The recording as the API answers it to the owner ``user_id`` of the calling key."""
    start: datetime | None = record.get("start_time")
    out: dict[str, Any] = {}
    retention = record.get("retention_period_days") or RETENTION_PERIOD_DAYS
    expiry = start + timedelta(days=retention) if start is not None else None
    computed: dict[str, Any] = {
        "viewed": state.is_viewed_by(record["id"], user_id),
        "viewers": state.viewer_emails(record["id"], user_id),
        "expiry_time": to_iso(expiry),
        "recording_ttl": None if expiry is None else max(0, (expiry - now).days),
    }
    for name in _FIELD_ORDER:
        if name in computed and name not in record:
            out[name] = computed[name]
        elif name in record:
            out[name] = record[name]
    for name, value in record.items():
        out.setdefault(name, value)
    out["viewed"] = computed["viewed"]
    out["viewers"] = computed["viewers"]
    for name in ("start_time", "end_time", "expiry_time"):
        value = out.get(name)
        if isinstance(value, datetime):
            out[name] = to_iso(value)
    return out


def numeric_value(record: dict[str, Any], name: str, now: datetime) -> float | None:
    """A numeric field for filtering/ordering (``duration`` means ``recording_duration``)."""
    if name == "duration":
        name = "recording_duration"
    if name == "recording_ttl":
        start = record.get("start_time")
        if start is None:
            return None
        retention = record.get("retention_period_days") or RETENTION_PERIOD_DAYS
        return max(0, (start + timedelta(days=retention) - now).days)
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value
