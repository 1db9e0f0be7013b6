"""PostHog's frontend reading of a saved search, ported to Python for the round-trip tests.

:func:`frontend_query` is a port of ``convertUniversalFiltersToRecordingsQuery`` in
``frontend/src/scenes/session-recordings/filters/recordingsQueryConversions.ts`` @
0bdd66733380d3c80d9875ec30ff96a38b669c6d, with the helpers it calls:
``filtersFromUniversalFilterGroups`` (``scenes/session-recordings/utils.ts``: every nested
group flattened), ``normalizePropertyFilterValue`` (``lib/components/PropertyFilters/utils.ts``:
a scalar value of ``exact``/``is_not`` becomes a one-item list) and the ``is*Filter`` type
checks (by ``type``). The backend's reading, ``convert_filters_to_recordings_query``
(``posthog/session_recordings/playlist_filters.py`` @ 02ad3f39), is ported in the emulator,
which counts saved searches with it: :func:`backend_query` re-exports it.
"""

from __future__ import annotations

from typing import Any

from posthog_recordings_emulator.saved_filters import backend_query
from posthog_recordings_emulator.schema_check import definitions

__all__ = ["backend_query", "frontend_query", "normalize_value"]

VALID_RECORDING_ORDERS = tuple(definitions("newer")["RecordingOrder"]["enum"])
#: ``isAnyPropertyfilter``: the property filter types the frontend recognises.
PROPERTY_FILTER_TYPES = frozenset(definitions("newer")["PropertyFilterType"]["enum"])
_MULTI_SELECT = ("exact", "is_not")


def normalize_value(item: dict[str, Any]) -> dict[str, Any]:
    """``normalizePropertyFilter``: ``exact``/``is_not`` take a list (not for cohorts)."""
    if "operator" not in item or "value" not in item or item.get("type") == "cohort":
        return item
    value = item["value"]
    if item["operator"] in _MULTI_SELECT and value is not None and not isinstance(value, list):
        return {**item, "value": [value]}
    return item


def _with_nested(item: dict[str, Any]) -> dict[str, Any]:
    nested = item.get("properties")
    if not isinstance(nested, list):
        return item
    return {**item, "properties": [normalize_value(p) for p in nested]}


def _flatten(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    flat: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("values"), list):
            flat += _flatten(item["values"])
        else:
            flat.append(item)
    return flat


def frontend_query(filters: dict[str, Any]) -> dict[str, Any]:
    """The ``RecordingsQuery`` PostHog's UI builds from a saved search's ``filters``.

    Unset (``undefined``) fields are left out, as JSON would leave them out.
    """
    lists: dict[str, list[Any]] = {
        name: []
        for name in ("events", "actions", "properties", "console_log_filters", "having_predicates")
    }
    comment_text = None
    order = filters.get("order")
    if order not in VALID_RECORDING_ORDERS:
        order = "start_time"
    lists["having_predicates"] += list(filters["duration"])
    for f in _flatten(filters["filter_group"]["values"]):
        kind = f.get("type")
        if kind == "events":
            lists["events"].append(_with_nested(f))
        elif kind == "actions":
            lists["actions"].append(_with_nested(f))
        elif kind == "log_entry":
            lists["console_log_filters"].append(f)
        elif kind == "hogql":
            lists["properties"].append(f)
        elif kind in PROPERTY_FILTER_TYPES:
            if kind == "recording":
                if f.get("key") == "visited_page":
                    lists["properties"].append(f)
                elif f.get("key") == "snapshot_source" and f.get("value"):
                    lists["having_predicates"].append(f)
                elif f.get("key") == "comment_text":
                    comment_text = f
                else:
                    lists["having_predicates"].append(f)
            else:
                lists["properties"].append(normalize_value(f))
        # anything else is dropped silently, as the frontend does
    query: dict[str, Any] = {
        "kind": "RecordingsQuery",
        "order": order,
        "order_direction": filters.get("order_direction") or "DESC",
        "date_from": filters.get("date_from"),
        "date_to": filters.get("date_to"),
        **lists,
        "comment_text": comment_text,
        "filter_test_accounts": filters.get("filter_test_accounts"),
        "operand": filters["filter_group"]["type"],
        "limit": filters.get("limit"),
        "session_ids": filters.get("session_ids"),
    }
    return {name: value for name, value in query.items() if value is not None}
