"""The recordings list: filters, ordering and cursor/offset pagination.

Pure functions over stored recordings and query parameters; errors are 400
:class:`ApiError`s shaped like PostHog's.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .recordings import numeric_value
from .responses import validation_error
from .timeutil import parse_date_param

DEFAULT_LIMIT = 50
DEFAULT_DATE_FROM = "-3d"
ORDER_FIELDS = (
    "start_time",
    "duration",
    "recording_duration",
    "active_seconds",
    "inactive_seconds",
    "console_error_count",
    "click_count",
    "keypress_count",
    "mouse_activity_count",
    "activity_score",
    "recording_ttl",
)
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
SortKey = tuple[bool, float, str]


@dataclass(frozen=True)
class Page:
    """One page of a recordings list before serialisation."""

    records: list[Record]
    has_next: bool
    next_cursor: str | None


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


def _int_param(params: dict[str, str], name: str, default: int, minimum: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise validation_error(f"{name} must be an integer", name) from exc
    if value < minimum:
        raise validation_error(f"{name} must be at least {minimum}", name)
    return value


def _number(value: Any, attr: str) -> float:
    if isinstance(value, bool):
        raise validation_error(f"Filter value {value!r} is not a number", attr)
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise validation_error(f"Filter value {value!r} is not a number", attr) from exc


def _recording_property(item: dict[str, Any], now: datetime) -> Predicate:
    key = item.get("key")
    if key not in PROPERTY_KEYS:
        raise validation_error(
            f"The emulator does not support recording filters on {key!r}", "properties"
        )
    operator = item.get("operator") or "exact"
    compare = _COMPARE.get(operator)
    if compare is None:
        raise validation_error(
            f"The emulator does not support the operator {operator!r}", "properties"
        )
    raw = item.get("value")
    values = [_number(v, "properties") for v in (raw if isinstance(raw, list) else [raw])]
    if not values:
        raise validation_error("A recording filter needs a value", "properties")

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


def _property_filters(params: dict[str, str], now: datetime) -> list[Predicate]:
    items = _json_param(params, "properties")
    if items is None:
        return []
    if not isinstance(items, list):
        raise validation_error("properties must be a JSON array", "properties")
    predicates = []
    for item in items:
        if not isinstance(item, dict):
            raise validation_error("Each property filter must be an object", "properties")
        if item.get("type") != "recording":
            raise validation_error(
                f"The emulator does not support property filters of type {item.get('type')!r}"
                " (only type 'recording' on numeric recording fields)",
                "properties",
            )
        predicates.append(_recording_property(item, now))
    return predicates


def _console_filters(params: dict[str, str]) -> list[Predicate]:
    items = _json_param(params, "console_log_filters")
    if items is None:
        return []
    if not isinstance(items, list):
        raise validation_error("console_log_filters must be a JSON array", "console_log_filters")
    predicates = []
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
        fields = {LEVEL_FIELDS[level] for level in levels}
        predicates.append(
            lambda record, fields=fields: any((record.get(f) or 0) > 0 for f in fields)
        )
    return predicates


def _no_events(params: dict[str, str]) -> None:
    for name in ("events", "actions"):
        value = _json_param(params, name)
        if value:
            raise validation_error(f"The emulator does not support {name} filters", name)


def _combined_filter(params: dict[str, str], now: datetime) -> Predicate:
    operand = (params.get("operand") or "AND").upper()
    if operand not in ("AND", "OR"):
        raise validation_error("operand must be AND or OR", "operand")
    predicates = _property_filters(params, now) + _console_filters(params)
    _no_events(params)
    if not predicates:
        return lambda record: True
    if operand == "AND":
        return lambda record: all(predicate(record) for predicate in predicates)
    return lambda record: any(predicate(record) for predicate in predicates)


def _window(params: dict[str, str], now: datetime) -> Predicate:
    date_from = parse_date_param(params.get("date_from") or DEFAULT_DATE_FROM, now, "date_from")
    date_to_text = params.get("date_to")
    date_to = parse_date_param(date_to_text, now, "date_to") if date_to_text else None

    def inside(record: Record) -> bool:
        start = record.get("start_time")
        if start is None or start < date_from:
            return False
        return date_to is None or start <= date_to

    return inside


def _viewed_filter(params: dict[str, str], is_viewed: Callable[[Record, bool], bool]) -> Predicate:
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


def _sort_key(order: str, now: datetime) -> Callable[[Record], SortKey]:
    def key(record: Record) -> SortKey:
        if order == "start_time":
            start = record.get("start_time")
            value = None if start is None else start.timestamp()
        else:
            value = numeric_value(record, order, now)
        return (value is not None, float(value or 0), str(record["id"]))

    return key


def encode_cursor(order: str, key: SortKey) -> str:
    """An opaque cursor naming the last item of a page."""
    payload = json.dumps({"order": order, "value": [key[0], key[1]], "id": key[2]})
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii")


def decode_cursor(text: str, order: str) -> SortKey:
    """The sort key a cursor names. 400 when it is not one of ours or for another order."""
    try:
        padded = text + "=" * (-len(text) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        flag, value = data["value"]
        key: SortKey = (bool(flag), float(value), str(data["id"]))
        cursor_order = data["order"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError) as exc:
        raise validation_error("Invalid cursor", "after") from exc
    if cursor_order != order:
        raise validation_error("The cursor was made for another order", "after")
    return key


def _order(params: dict[str, str]) -> tuple[str, bool]:
    order = params.get("order") or "start_time"
    if order not in ORDER_FIELDS:
        raise validation_error(f"Cannot order by {order!r}", "order")
    direction = (params.get("order_direction") or "DESC").upper()
    if direction not in ("ASC", "DESC"):
        raise validation_error("order_direction must be ASC or DESC", "order_direction")
    return order, direction == "DESC"


def select_records(
    candidates: Iterable[Record],
    params: dict[str, str],
    *,
    now: datetime,
    is_viewed: Callable[[Record, bool], bool],
    ignore_window: bool = False,
) -> list[Record]:
    """The recordings matching every filter in ``params`` (unordered)."""
    session_ids = _string_list(params, "session_ids")
    distinct_ids = _string_list(params, "distinct_ids")
    person_uuid = params.get("person_uuid") or None
    checks: list[Predicate] = [_combined_filter(params, now), _viewed_filter(params, is_viewed)]
    if session_ids is None and not ignore_window:
        checks.append(_window(params, now))
    if session_ids is not None:
        wanted = set(session_ids)
        checks.append(lambda record: record["id"] in wanted)
    if distinct_ids is not None:
        wanted_distinct = set(distinct_ids)
        checks.append(lambda record: record.get("distinct_id") in wanted_distinct)
    if person_uuid is not None:
        checks.append(lambda record: (record.get("person") or {}).get("uuid") == person_uuid)
    return [record for record in candidates if all(check(record) for check in checks)]


def paginate(
    records: list[Record], params: dict[str, str], *, now: datetime, offset_only: bool
) -> Page:
    """Order ``records`` and cut the page the pagination params ask for."""
    order, descending = _order(params)
    limit = _int_param(params, "limit", DEFAULT_LIMIT, 1)
    offset_mode = offset_only or params.get("offset") is not None
    offset = _int_param(params, "offset", 0, 0)
    key = _sort_key(order, now)
    ordered = sorted(records, key=key, reverse=descending)
    if offset_mode:
        page = ordered[offset : offset + limit]
        return Page(page, len(ordered) > offset + limit, None)
    after = params.get("after")
    if after:
        cursor = decode_cursor(after, order)
        ordered = [r for r in ordered if (key(r) < cursor if descending else key(r) > cursor)]
    page = ordered[:limit]
    has_next = len(ordered) > limit
    next_cursor = encode_cursor(order, key(page[-1])) if has_next and page else None
    return Page(page, has_next, next_cursor)
