"""The recordings list: ordering and cursor/offset pagination over filtered recordings.

The full list is kept sorted per order field (rebuilt only when recordings
change), so a page costs about its own size rather than a sort of everything:
a walk from the cursor's position that stops after ``limit + 1`` matches.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .recording_filters import Predicate, Record, ViewedCheck, build_filter
from .recording_records import numeric_value
from .responses import validation_error

DEFAULT_LIMIT = 50
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
# Orders whose value depends on "now" are never cached.
_UNCACHED_ORDERS = ("recording_ttl",)

SortKey = tuple[bool, float, str]
Entry = tuple[SortKey, Record]


@dataclass(frozen=True)
class Page:
    """One page of a recordings list before serialisation."""

    records: list[Record]
    has_next: bool
    next_cursor: str | None


@dataclass
class SortedIndex:
    """All recordings sorted ascending per order field, valid for one data version.

    The version moves when recordings are added or replaced; deleted ones are
    filtered out while walking (see :func:`_take`).
    """

    version: int = -1
    entries: dict[str, tuple[list[Entry], list[SortKey]]] = field(default_factory=dict)

    def get(
        self, records: dict[str, Record], version: int, order: str, key: Callable[[Record], SortKey]
    ) -> tuple[list[Entry], list[SortKey]]:
        """Sorted entries and their keys for ``order`` (rebuilt when ``version`` moved)."""
        if version != self.version:
            self.version = version
            self.entries.clear()
        if order in _UNCACHED_ORDERS:
            return _sorted(records.values(), key)
        if order not in self.entries:
            self.entries[order] = _sorted(records.values(), key)
        return self.entries[order]


def _sorted(records: Collection[Record], key: Callable[[Record], SortKey]) -> Any:
    entries = sorted(((key(record), record) for record in records), key=lambda e: e[0])
    return entries, [entry[0] for entry in entries]


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


def _walk(
    entries: list[Entry],
    keys: list[SortKey],
    *,
    descending: bool,
    cursor: SortKey | None,
) -> range:
    """Indices of ``entries`` strictly after ``cursor`` in the list's direction."""
    if descending:
        start = (bisect_left(keys, cursor) if cursor is not None else len(keys)) - 1
        return range(start, -1, -1)
    return range(bisect_right(keys, cursor) if cursor is not None else 0, len(keys))


def _take(
    records: dict[str, Record],
    entries: list[Entry],
    indices: range,
    matches: Predicate,
    skip: int,
    limit: int,
) -> list[Entry]:
    """The first ``limit + 1`` live, matching entries after skipping ``skip`` matches.

    Entries of deleted recordings stay in a cached index until it is rebuilt;
    they are skipped here.
    """
    taken: list[Entry] = []
    for index in indices:
        entry = entries[index]
        record = entry[1]
        if records.get(record["id"]) is not record or not matches(record):
            continue
        if skip:
            skip -= 1
            continue
        taken.append(entry)
        if len(taken) > limit:
            break
    return taken


def query_page(
    records: dict[str, Record],
    params: dict[str, str],
    *,
    now: datetime,
    is_viewed: ViewedCheck,
    offset_only: bool,
    index: SortedIndex,
    version: int,
    only_ids: Collection[str] | None = None,
    tz: str = "UTC",
    paginate: bool = True,
) -> Page:
    """The page of ``records`` that the filter, order and pagination params ask for.

    ``only_ids`` restricts the list to those ids and ignores the date window
    (the items of a playlist). Without ``paginate`` every match is answered at once
    (``has_next`` then says whether there were more than the ``limit`` sent).
    """
    matches, session_ids = build_filter(
        params, now=now, is_viewed=is_viewed, ignore_window=only_ids is not None, tz=tz
    )
    order, descending = _order(params)
    limit = _int_param(params, "limit", DEFAULT_LIMIT, 1)
    key = _sort_key(order, now)
    wanted = _wanted_ids(session_ids, only_ids)
    if not paginate:
        found = [records[i] for i in sorted(wanted or ()) if i in records and matches(records[i])]
        return _unpaginated(found, key, descending, limit, order)
    offset_mode = offset_only or params.get("offset") is not None
    offset = _int_param(params, "offset", 0, 0) if offset_mode else 0
    cursor = None
    if not offset_mode and params.get("after"):
        cursor = decode_cursor(params["after"], order)
    if wanted is None:
        entries, keys = index.get(records, version, order, key)
    else:
        entries, keys = _sorted([records[i] for i in wanted if i in records], key)
    indices = _walk(entries, keys, descending=descending, cursor=cursor)
    taken = _take(records, entries, indices, matches, offset, limit)
    page = taken[:limit]
    has_next = len(taken) > limit
    next_cursor = None
    if has_next and not offset_mode:
        next_cursor = encode_cursor(order, page[-1][0])
    return Page([entry[1] for entry in page], has_next, next_cursor)


def _unpaginated(
    found: list[Record],
    key: Callable[[Record], SortKey],
    descending: bool,
    limit: int,
    order: str,
) -> Page:
    """All of ``found`` in one page; past ``limit`` a cursor (which leads to the same page)."""
    found.sort(key=key, reverse=descending)
    has_next = len(found) > limit
    cursor = encode_cursor(order, key(found[limit - 1])) if has_next else None
    return Page(found, has_next, cursor)


def _wanted_ids(session_ids: set[str] | None, only_ids: Collection[str] | None) -> set[str] | None:
    if session_ids is None:
        return None if only_ids is None else set(only_ids)
    return session_ids if only_ids is None else session_ids & set(only_ids)
