"""The filter lists of a recordings query, checked against PostHog's own schema (pure).

PostHog validates the list query as its ``RecordingsQuery`` (``frontend/src/queries/
schema.json``; the copy the tests check against is in the emulator's
``posthog_recordings_emulator/posthog_schema/``). These
checks refuse, before any request and with a message saying what to do instead, what that
schema refuses or what PostHog would read as something else. Filters without their ``type``
get the one their list implies (``recording`` in ``having_predicates``, ``events``,
``actions``, ``log_entry``): PostHog needs it to tell filters apart.
"""

from __future__ import annotations

from typing import Any

#: ``RecordingPropertyFilter.key`` in PostHog's schema (schema.json @ 0000f87b).
DURATION_KEYS = ("duration", "active_seconds", "inactive_seconds")
RECORDING_FILTER_KEYS = frozenset(
    {*DURATION_KEYS, "snapshot_source", "visited_page", "comment_text"}
)
#: Added by newer PostHog (frontend/src/types.ts @ 000798bf): a server whose schema predates
#: them refuses them (400).
NEWER_RECORDING_FILTER_KEYS = frozenset({"click_count", "keypress_count", "mouse_activity_count"})

#: ``PropertyFilterType`` values that are property filters of ``properties``.
PROPERTY_TYPES = frozenset(
    {
        "event",
        "person",
        "element",
        "event_metadata",
        "session",
        "cohort",
        "recording",
        "group",
        "hogql",
        "data_warehouse",
        "data_warehouse_person_property",
        "error_tracking_issue",
        "revenue_analytics",
        "flag",
        "feature",
        "log",
        "log_attribute",
        "log_resource_attribute",
        "empty",
    }
)

#: Recording metrics a user might reach for, and what PostHog offers instead.
_METRIC_ADVICE = {
    "recording_duration": (
        "'recording_duration' is not a column of PostHog's listing query (PostHog answers a "
        "query error): use 'duration'"
    ),
    "console_log_count": "use console_log_filters, e.g. level 'info'",
    "console_warn_count": "use console_log_filters, e.g. level 'warn'",
    "console_error_count": (
        'use console_log_filters=[{"type": "log_entry", "key": "level", "operator": "exact", '
        '"value": ["error"]}]'
    ),
    "ongoing": "filter on Recording.ongoing after listing",
    "activity_score": "order by activity_score instead (order='activity_score')",
}

#: Metrics that used to be refused in ``properties`` because they belong in having_predicates.
RECORDING_METRICS = frozenset(
    {*RECORDING_FILTER_KEYS, *NEWER_RECORDING_FILTER_KEYS, *_METRIC_ADVICE} - {"visited_page"}
)


def _item(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValueError(f"each filter in {where} must be a dict, not {item!r}")
    return item


def _needs(item: dict[str, Any], where: str, *names: str) -> None:
    missing = [name for name in names if item.get(name) in (None, "")]
    if missing:
        raise ValueError(
            f"the filter {item!r} in {where} has no {' and no '.join(missing)}: PostHog's "
            "schema requires it"
        )


def _typed(item: dict[str, Any], kind: str, where: str) -> dict[str, Any]:
    given = item.get("type")
    if given is None:
        return {"type": kind, **item}
    if given != kind:
        raise ValueError(f"{where} takes filters of type {kind!r}, not {given!r}")
    return item


def _recording_key(key: Any, where: str) -> None:
    if key in RECORDING_FILTER_KEYS or key in NEWER_RECORDING_FILTER_KEYS:
        return
    advice = _METRIC_ADVICE.get(key)
    known = ", ".join(sorted(RECORDING_FILTER_KEYS | NEWER_RECORDING_FILTER_KEYS))
    text = (
        f"{key!r} is not a recording filter PostHog's schema allows in {where} (allowed: {known})"
    )
    raise ValueError(f"{text}; {advice}" if advice else text)


def check_having_predicates(items: list[Any]) -> list[dict[str, Any]]:
    """Recording filters of ``having_predicates``, typed ``recording`` (ValueError otherwise).

    Allowed keys are those of PostHog's ``RecordingPropertyFilter``: ``duration``,
    ``active_seconds``, ``inactive_seconds``, ``snapshot_source`` (with a value), and on newer
    PostHog ``click_count``, ``keypress_count``, ``mouse_activity_count``. ``visited_page`` is
    a property filter and ``comment_text`` a parameter of its own (as PostHog's UI sends them).

    :param items: the list as given.
    :return: the list with ``type`` filled in where it was missing.
    """
    where = "having_predicates"
    checked = []
    for raw in items:
        item = _typed(_item(raw, where), "recording", where)
        _needs(item, where, "key", "operator")
        key = item["key"]
        if key == "visited_page":
            raise ValueError(
                "visited_page belongs in properties, as PostHog's UI sends it (it is no column "
                "of the listing query's HAVING clause)"
            )
        if key == "comment_text":
            raise ValueError(
                "comment_text is a parameter of its own in PostHog's RecordingsQuery, not a "
                "having predicate: pass extra_params={'comment_text': {...}}"
            )
        _recording_key(key, where)
        if key == "snapshot_source" and item.get("value") in (None, "", []):
            raise ValueError(
                "a snapshot_source filter needs a value such as ['web'] or ['mobile'] "
                "(PostHog ignores or fails on one without)"
            )
        checked.append(item)
    return checked


def check_properties(items: list[Any]) -> list[dict[str, Any]]:
    """Property filters of ``properties`` (ValueError for what PostHog would misread).

    :param items: the list as given.
    :return: the same items.
    """
    where = "properties"
    for raw in items:
        item = _item(raw, where)
        kind, key = item.get("type"), item.get("key")
        if kind == "recording" and key == "visited_page":
            _needs(item, where, "operator")
            continue
        if kind == "recording" or (kind is None and key in RECORDING_METRICS):
            raise ValueError(
                f"the recording metric {key!r} belongs in having_predicates, not in properties "
                "(PostHog would apply it to events and match something else)"
            )
        if kind == "log_entry":
            raise ValueError("console log filters (type 'log_entry') belong in console_log_filters")
        if kind not in PROPERTY_TYPES:
            raise ValueError(
                f"the property filter {item!r} needs a type PostHog knows ('event', 'person', "
                "'session', 'cohort', 'group', 'hogql', ...): PostHog refuses one without"
            )
        _needs(item, where, "key")
    return list(items)


def check_entities(items: list[Any], kind: str) -> list[dict[str, Any]]:
    """``events`` or ``actions`` filters, each with its ``id`` and ``type`` (events/actions).

    :param items: the list as given.
    :param kind: ``events`` or ``actions``.
    :return: the list with ``type`` filled in where it was missing.
    """
    checked = []
    for raw in items:
        item = _typed(_item(raw, kind), kind, kind)
        if "id" not in item:
            raise ValueError(
                f"each filter in {kind} needs its id (the event name, or the action's number), "
                f"e.g. {{'id': '$pageview', 'type': 'events'}}"
            )
        checked.append(item)
    return checked


def check_console_filters(items: list[Any]) -> list[dict[str, Any]]:
    """``console_log_filters``, typed ``log_entry``, each with key and operator.

    :param items: the list as given.
    :return: the list with ``type`` filled in where it was missing.
    """
    where = "console_log_filters"
    checked = []
    for raw in items:
        item = _typed(_item(raw, where), "log_entry", where)
        _needs(item, where, "key", "operator")
        checked.append(item)
    return checked
