"""Datetime helpers: ISO output, PostHog's relative dates (``-7d``) and ISO input."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .responses import validation_error

UTC = timezone.utc

# PostHog's units: h hours, d days, w weeks, m MONTHS, M minutes, s seconds,
# q quarters (13 weeks), y years; optional Start/End truncation. PostHog's pattern
# admits any letter: an unknown one (``-24H``, ``-7D``) silently means "now".
_RELATIVE = re.compile(r"^-?(?P<number>\d+)?(?P<kind>[A-Za-z])(?P<position>Start|End)?$")
_UNITS = "hdwmMsqy"


def to_iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ensure_utc(value: datetime) -> datetime:
    """Treat a naive datetime as UTC; convert an aware one to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_iso(text: str, tz: str = "UTC") -> datetime:
    """Parse an ISO date or datetime (``Z`` accepted). ValueError if bad.

    A value without an offset is read in the time zone ``tz`` (an IANA name), as
    PostHog reads it in the project's time zone; the result is in UTC.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty datetime")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if " " in text and "T" not in text:
        text = text.replace(" ", "T", 1)
    if len(text) == 10:
        parsed_date = date.fromisoformat(text)
        midnight = datetime(parsed_date.year, parsed_date.month, parsed_date.day)
        return midnight.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(UTC)


def coerce_datetime(value: datetime | str | None) -> datetime | None:
    """A datetime from a datetime, an ISO string or None (for seeding helpers)."""
    if value is None or isinstance(value, datetime):
        return None if value is None else ensure_utc(value)
    return parse_iso(value)


def add_months(value: datetime, months: int) -> datetime:
    """``value`` moved by a number of calendar months (day clamped to the month's end)."""
    index = value.year * 12 + (value.month - 1) + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def _relative(match: re.Match[str], now: datetime) -> datetime:
    number = int(match.group("number") or 0)
    kind = match.group("kind")
    if kind not in _UNITS:
        return now
    position = match.group("position")
    # PostHog subtracts whether or not the leading minus is written.
    if kind in "hdwMsq":
        unit = {
            "h": timedelta(hours=1),
            "d": timedelta(days=1),
            "w": timedelta(weeks=1),
            "M": timedelta(minutes=1),
            "s": timedelta(seconds=1),
            "q": timedelta(weeks=13),
        }[kind]
        result = now - number * unit
    elif kind == "m":
        result = add_months(now, -number)
    else:
        result = add_months(now, -12 * number)
    return _truncate(result, kind, position)


def _truncate(value: datetime, kind: str, position: str | None) -> datetime:
    if position is None:
        return value
    start = position == "Start"
    if kind == "h":
        return (
            value.replace(minute=0, second=0, microsecond=0)
            if start
            else value.replace(minute=59, second=59, microsecond=999999)
        )
    if kind == "d":
        return (
            value.replace(hour=0, minute=0, second=0, microsecond=0)
            if start
            else value.replace(hour=23, minute=59, second=59, microsecond=999999)
        )
    if kind == "m":
        last = calendar.monthrange(value.year, value.month)[1]
        return value.replace(day=1 if start else last)
    if kind == "y":
        return value.replace(month=1, day=1) if start else value.replace(day=31)
    return value


def parse_date_param(text: str, now: datetime, attr: str, *, tz: str = "UTC") -> datetime:
    """A ``date_from``/``date_to`` value: ``all``, relative (``-3d``, ``-24h``, ``-30M``) or ISO.

    Units are PostHog's: ``m`` is months and ``M`` minutes; another letter means now.
    An ISO value without an offset is read in the project's time zone ``tz``; a bare
    date is 00:00 of that day (also for ``date_to``, which then excludes the day).
    Raises a 400 :class:`ApiError` naming ``attr`` when the value cannot be read.
    """
    value = text.strip()
    if value == "all":
        return datetime(1970, 1, 1, tzinfo=UTC)
    match = _RELATIVE.match(value)
    if match is not None:
        return _relative(match, now)
    try:
        return parse_iso(value, tz)
    except ValueError as exc:
        raise validation_error(f"Invalid date: {text!r}", attr) from exc
