"""Filters of the recordings list: one predicate built from the query parameters.

Errors are 400 :class:`ApiError`s shaped like PostHog's. Filters the emulator
does not implement are refused with a 400 that says so, never silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .recording_records import numeric_value
from .responses import validation_error
from .timeutil import parse_date_param

DEFAULT_DATE_FROM = "-3d"
PROPERTY_KEYS = (
    "duration",
    "recording_duration",
    "active_seconds",
    "inactive_seconds",
    "console_log_count",
    "console_warn_count",
    "console_error_count",
    "click_count",
    "keypress_count",
    "mouse_activity_count",
    "activity_score",
)
LEVEL_FIELDS = {
    "error": "console_error_count",
    "warn": "console_warn_count",
    "warning": "console_warn_count",
    "info": "console_log_count",
    "log": "console_log_count",
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "gte": lambda a, b: a >= b,
    "lte": lambda a, b: a <= b,
    "exact": lambda a, b: a == b,
    "is_not": lambda a, b: a != b,
}

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
ViewedCheck = Callable[[Record, bool], bool]


def _json_param(params: dict[str, str], name: str) -> Any:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise validation_error(f"{name} must be valid JSON", name, code="parse_error") from exc


def _string_list(params: dict[str, str], name: str) -> list[str] | None:
    value = _json_param(params, name)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise validation_error(f"{name} must be a JSON array", name)
    return [str(item) for item in value]


def _number(value: Any, attr: str) -> float:
    if isinstance(value, bool):
        raise validation_error(f"Filter value {value!r} is not a number", attr)
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise validation_error(f"Filter value {value!r} is not a number", attr) from exc


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _ongoing_predicate(item: dict[str, Any], attr: str) -> Predicate:
    operator = item.get("operator") or "exact"
    if operator not in ("exact", "is_not"):
        raise validation_error(f"The emulator does not support {operator!r} on ongoing", attr)
    raw = item.get("value")
    wanted = _truthy(raw[0] if isinstance(raw, list) and raw else raw) == (operator == "exact")
    return lambda record: bool(record.get("ongoing")) == wanted


def _recording_metric(item: dict[str, Any], now: datetime, attr: str) -> Predicate:
    """A filter on a recording's own metric (``having_predicates``)."""
    key = item.get("key")
    if key == "ongoing":
        return _ongoing_predicate(item, attr)
    if key == "snapshot_source":
        return _text_predicate(item, "snapshot_source", attr)
    if key not in PROPERTY_KEYS:
        raise validation_error(f"The emulator does not support recording filters on {key!r}", attr)
    operator = item.get("operator") or "exact"
    compare = _COMPARE.get(operator)
    if compare is None:
        raise validation_error(f"The emulator does not support the operator {operator!r}", attr)
    raw = item.get("value")
    values = [_number(v, attr) for v in (raw if isinstance(raw, list) else [raw])]
    if not values:
        raise validation_error("A recording filter needs a value", attr)

    def matches(record: Record) -> bool:
        actual = numeric_value(record, key, now)
        if actual is None:
            return False
        if operator == "exact":
            return actual in values
        if operator == "is_not":
            return actual not in values
        return compare(actual, values[0])

    return matches


def _filter_items(params: dict[str, str], name: str) -> list[dict[str, Any]]:
    items = _json_param(params, name)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise validation_error(f"{name} must be a JSON array of objects", name)
    return items


def _text_predicate(item: dict[str, Any], field: str, attr: str) -> Predicate:
    """A text filter on one of the recording's fields (``visited_page``, ``snapshot_source``)."""
    operator = item.get("operator") or "exact"
    raw = item.get("value")
    values = [str(v) for v in (raw if isinstance(raw, list) else [raw]) if v is not None]
    checks: dict[str, Callable[[str], bool]] = {
        "exact": lambda text: text in values,
        "is_not": lambda text: text not in values,
        "icontains": lambda text: any(v.lower() in text.lower() for v in values),
        "not_icontains": lambda text: not any(v.lower() in text.lower() for v in values),
        "regex": lambda text: any(re.search(v, text) for v in values),
        "not_regex": lambda text: not any(re.search(v, text) for v in values),
    }
    check = checks.get(operator)
    if check is None or not values:
        raise validation_error(
            f"The emulator does not support {operator!r} on {item.get('key')!r}", attr
        )
    return lambda record: check(str(record.get(field) or ""))


def _property_filters(params: dict[str, str]) -> list[Predicate]:
    """``properties``: PostHog applies them to events. A recording metric put here (type
    ``recording``) then matches no recording, except ``visited_page``, which matches the
    recording's URLs (the emulator knows only ``start_url``); other types are not emulated
    (400)."""
    predicates: list[Predicate] = []
    for item in _filter_items(params, "properties"):
        if item.get("type") != "recording":
            raise validation_error(
                f"The emulator does not support property filters of type {item.get('type')!r}"
                " (recording metrics belong in having_predicates)",
                "properties",
            )
        if item.get("key") == "visited_page":
            predicates.append(_text_predicate(item, "start_url", "properties"))
        else:
            predicates.append(lambda record: False)
    return predicates


def _having_predicates(params: dict[str, str], now: datetime) -> list[Predicate]:
    """``having_predicates``: filters on the recording's own metrics (type ``recording``)."""
    attr = "having_predicates"
    predicates = []
    for item in _filter_items(params, attr):
        if item.get("type", "recording") != "recording":
            raise validation_error("having_predicates only take type 'recording'", attr)
        predicates.append(_recording_metric(item, now, attr))
    return predicates


def _console_filters(params: dict[str, str]) -> list[Predicate]:
    items = _json_param(params, "console_log_filters")
    if items is None:
        return []
    if not isinstance(items, list):
        raise validation_error("console_log_filters must be a JSON array", "console_log_filters")
    predicates: list[Predicate] = []
    for item in items:
        if not isinstance(item, dict) or item.get("key") != "level":
            raise validation_error(
                "The emulator only supports console log filters on 'level'",
                "console_log_filters",
            )
        if item.get("operator", "exact") not in ("exact", "in"):
            raise validation_error(
                f"The emulator does not support the operator {item.get('operator')!r}",
                "console_log_filters",
            )
        raw = item.get("value")
        levels = raw if isinstance(raw, list) else [raw]
        unknown = [level for level in levels if level not in LEVEL_FIELDS]
        if unknown or not levels:
            raise validation_error(
                f"Unknown console log level(s) {unknown!r}", "console_log_filters"
            )
        predicates.append(_has_console_entries({LEVEL_FIELDS[str(level)] for level in levels}))
    return predicates


def _has_console_entries(fields: set[str]) -> Predicate:
    def matches(record: Record) -> bool:
        return any((record.get(name) or 0) > 0 for name in fields)

    return matches


def _no_events(params: dict[str, str]) -> None:
    for name in ("events", "actions"):
        value = _json_param(params, name)
        if value:
            raise validation_error(f"The emulator does not support {name} filters", name)


def _combined_filter(params: dict[str, str], now: datetime) -> Predicate:
    operand = (params.get("operand") or "AND").upper()
    if operand not in ("AND", "OR"):
        raise validation_error("operand must be AND or OR", "operand")
    predicates = (
        _property_filters(params) + _having_predicates(params, now) + _console_filters(params)
    )
    _no_events(params)
    if not predicates:
        return lambda record: True
    if operand == "AND":
        return lambda record: all(predicate(record) for predicate in predicates)
    return lambda record: any(predicate(record) for predicate in predicates)


def _window(params: dict[str, str], now: datetime, tz: str) -> Predicate:
    date_from_text = params.get("date_from") or DEFAULT_DATE_FROM
    date_from = parse_date_param(date_from_text, now, "date_from", tz=tz)
    date_to_text = params.get("date_to")
    date_to = parse_date_param(date_to_text, now, "date_to", tz=tz) if date_to_text else None

    def inside(record: Record) -> bool:
        start = record.get("start_time")
        if start is None or start < date_from:
            return False
        return date_to is None or start < date_to

    return inside


def _viewed_filter(params: dict[str, str], is_viewed: ViewedCheck) -> Predicate:
    value = (params.get("hide_viewed_recordings") or "").strip().lower()
    if value in ("", "false", "0", "none"):
        return lambda record: True
    if value in ("current-user", "true", "1"):
        return lambda record: not is_viewed(record, False)
    if value == "any-user":
        return lambda record: not is_viewed(record, True)
    raise validation_error(
        "hide_viewed_recordings must be 'current-user' or 'any-user'", "hide_viewed_recordings"
    )


def build_filter(
    params: dict[str, str],
    *,
    now: datetime,
    is_viewed: ViewedCheck,
    ignore_window: bool = False,
    tz: str = "UTC",
) -> tuple[Predicate, set[str] | None]:
    """The predicate of every filter in ``params``, and the explicit ``session_ids`` if any.

    With explicit ``session_ids`` (or ``ignore_window``) the date window does not apply;
    dates without an offset are read in the project's time zone ``tz``. ``person_uuid``
    is ignored when ``distinct_ids`` is given (as PostHog does).
    """
    session_ids = _string_list(params, "session_ids")
    distinct_ids = _string_list(params, "distinct_ids")
    person_uuid = params.get("person_uuid") or None
    checks: list[Predicate] = [_combined_filter(params, now), _viewed_filter(params, is_viewed)]
    if session_ids is None and not ignore_window:
        checks.append(_window(params, now, tz))
    if distinct_ids is not None:
        wanted_distinct = set(distinct_ids)
        checks.append(lambda record: record.get("distinct_id") in wanted_distinct)
    elif person_uuid is not None:
        checks.append(lambda record: (record.get("person") or {}).get("uuid") == person_uuid)

    def matches(record: Record) -> bool:
        return all(check(record) for check in checks)

    return matches, None if session_ids is None else set(session_ids)
