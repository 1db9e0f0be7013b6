"""A saved search's count, as PostHog's backend counts it.

PostHog fills ``recordings_counts.saved_filters`` of a ``filters`` playlist with a periodic
task: it converts the stored filters with ``convert_filters_to_recordings_query``
(``posthog/session_recordings/playlist_filters.py`` @
02ad3f390aa2336954d7220f7c1ca04ad630013a) and runs that query once, with its default limit.
:func:`backend_query` is a port of that conversion: only ``duration[0]`` becomes a having
predicate, only the first inner group of ``filter_group`` is read, no ``order_direction``.
"""

from __future__ import annotations

import json
from typing import Any

from .context import RequestContext
from .recording_query import DEFAULT_LIMIT, query_page
from .responses import ApiError

Filters = dict[str, Any]


def _as_recording_filter(item: dict[str, Any]) -> dict[str, Any]:
    """``asRecordingPropertyFilter``: key, operator and value; the type is ``recording``."""
    return {
        "type": "recording",
        "key": item["key"],
        "operator": item["operator"],
        "value": item["value"],
    }


def _visited_page_as_event(item: dict[str, Any]) -> dict[str, Any]:
    current_url = {
        "type": "event",
        "key": "$current_url",
        "value": item.get("value"),
        "operator": item.get("operator"),
    }
    return {"id": "$pageview", "name": "$pageview", "type": "events", "properties": [current_url]}


def _leaves(filters: Filters) -> list[dict[str, Any]]:
    group = filters.get("filter_group") or {}
    if not group.get("values"):
        return []
    first = group["values"][0]
    return list(first.get("values") or []) if first else []


def backend_query(filters: Filters) -> dict[str, Any]:
    """The ``RecordingsQuery`` (as a dict, unset fields left out) PostHog's backend counts.

    :param filters: a saved search's ``filters`` (``RecordingUniversalFilters``).
    :return: the query's fields.
    """
    lists: dict[str, list[dict[str, Any]]] = {
        "events": [],
        "actions": [],
        "properties": [],
        "console_log_filters": [],
        "having_predicates": [],
    }
    duration = filters.get("duration") or []
    if duration:
        lists["having_predicates"].append(_as_recording_filter(duration[0]))
    by_type = {"events": "events", "actions": "actions", "log_entry": "console_log_filters"}
    for leaf in _leaves(filters):
        kind = leaf.get("type")
        if kind in by_type:
            lists[by_type[kind]].append(leaf)
        elif kind == "recording" and leaf.get("key") == "visited_page":
            lists["events"].append(_visited_page_as_event(leaf))
        elif kind == "recording" and leaf.get("key") == "snapshot_source" and leaf.get("value"):
            lists["having_predicates"].append(leaf)
        elif kind == "recording":
            lists["having_predicates"].append(_as_recording_filter(leaf))
        else:  # hogql and every other property filter
            lists["properties"].append(leaf)
    query: dict[str, Any] = {
        "order": filters.get("order"),
        "date_from": filters.get("date_from"),
        "date_to": filters.get("date_to"),
        **lists,
        "filter_test_accounts": filters.get("filter_test_accounts"),
        "operand": (filters.get("filter_group") or {}).get("type", "AND"),
        "limit": filters.get("limit"),
    }
    return {name: value for name, value in query.items() if value is not None}


def _as_params(query: dict[str, Any]) -> dict[str, str]:
    return {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in query.items()
        if not (isinstance(value, list) and not value)
    }


def saved_filter_counts(ctx: RequestContext, filters: Filters) -> dict[str, Any] | None:
    """``recordings_counts.saved_filters`` as PostHog's count task leaves it, or None.

    The count is of one page of the backend's query (its default limit, as PostHog runs
    it): ``has_more`` says there were more. None when the emulator cannot evaluate the
    query (it does not emulate event filters, for example): PostHog then has no count yet.

    :param ctx: the request being answered (its state, clock and index).
    :param filters: the saved search's ``filters``.
    :return: ``count``, ``watched_count``, ``has_more``, ``increased``,
        ``last_refreshed_at``; or None.
    """
    query = backend_query(filters)
    params = _as_params(query)
    params.setdefault("limit", str(DEFAULT_LIMIT))

    def viewed_by_anyone(record: dict[str, Any], anyone: bool) -> bool:
        return bool(ctx.state.viewed_by.get(record["id"]))

    try:
        page = query_page(
            ctx.state.recordings,
            params,
            now=ctx.now,
            is_viewed=viewed_by_anyone,
            offset_only=True,
            index=ctx.index,
            version=ctx.state.version,
            tz=ctx.config.project_timezone,
        )
    except (ApiError, KeyError, TypeError):
        return None
    return {
        "count": len(page.records),
        "watched_count": sum(1 for record in page.records if viewed_by_anyone(record, True)),
        "has_more": page.has_next,
        "increased": None,
        "last_refreshed_at": ctx.now.isoformat(),
    }
