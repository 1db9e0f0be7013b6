"""A saved search written by the client reads back, through PostHog's own conversions, as the
query the user gave (issue 18).

PostHog reads a saved search twice: its UI converts ``filters`` into the ``RecordingsQuery``
it lists with (``frontend_query``), and its backend counts the playlist's matches from
another conversion (``backend_query``: only ``duration[0]``, no ``order_direction``). Both
must give back the user's query as PostHog reads it (its defaults applied, ``exact`` values
as lists, the one stated difference of each conversion below).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from posthog_recordings_emulator.schema_check import (
    SCHEMA_PROFILES,
    check_saved_search,
    decode_list_query,
    definitions,
    validate,
)

from airflow_provider_posthog_recordings.client.query import RecordingsQuery
from airflow_provider_posthog_recordings.client.query_filters import DURATION_KEYS
from airflow_provider_posthog_recordings.jobs import curation
from airflow_provider_posthog_recordings.jobs.curation import (
    MATCH_ANY_DURATION,
    CurationSettings,
    saved_search_filters,
)

from .posthog_conversions import backend_query, frontend_query, normalize_value
from .test_queries_against_schema import (
    ACTIONS,
    CONSOLE,
    EVENTS,
    HAVING,
    NEWER_HAVING,
    PROPERTY_FILTERS,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
DEFAULTS = {
    "kind": "RecordingsQuery",
    "date_from": "-3d",
    "order": "start_time",
    "order_direction": "DESC",
    "operand": "AND",
    "filter_test_accounts": False,
}


def _canonical(query: dict[str, Any]) -> dict[str, Any]:
    """A query for comparison: empty and null fields dropped, having predicates unordered."""
    out = {k: v for k, v in query.items() if v is not None and v != []}
    if "having_predicates" in out:
        out["having_predicates"] = sorted(
            out["having_predicates"], key=lambda p: json.dumps(p, sort_keys=True)
        )
    return out


def _is_duration(item: dict[str, Any]) -> bool:
    value = item.get("value")
    return item.get("key") in DURATION_KEYS and isinstance(value, int | float)


def as_posthog_reads(query: RecordingsQuery) -> dict[str, Any]:
    """The user's list query as PostHog reads it, with the saved search's one addition.

    PostHog's defaults applied; ``exact``/``is_not`` values as lists (the same filter for
    PostHog); and, when the query has no duration filter, :data:`MATCH_ANY_DURATION` (a
    saved search always has one; this one matches every recording, see the emulator test).
    """
    read = {**DEFAULTS, **decode_list_query(query.to_params())}
    read["properties"] = [normalize_value(p) for p in read.get("properties", [])]
    for name in ("events", "actions"):
        read[name] = [
            {**e, "properties": [normalize_value(p) for p in e["properties"]]}
            if "properties" in e
            else e
            for e in read.get(name, [])
        ]
    having = read.get("having_predicates", [])
    if not any(_is_duration(p) for p in having):
        read["having_predicates"] = [*having, MATCH_ANY_DURATION]
    return _canonical(read)


QUERIES: list[dict[str, Any]] = [
    {"date_from": "-7d"},
    {},
    {"date_from": "-30d", "properties": PROPERTY_FILTERS},
    {"date_from": "-30d", "events": EVENTS, "actions": ACTIONS, "operand": "OR"},
    {"date_from": "-30d", "console_log_filters": CONSOLE, "filter_test_accounts": True},
    {"date_from": "-30d", "having_predicates": HAVING},
    {"date_from": "-30d", "having_predicates": [HAVING[3], *NEWER_HAVING, HAVING[1]]},
    {
        "date_from": datetime(2026, 1, 1, 8, 30),
        "date_to": "2026-02-01T00:00:00+00:00",
        "properties": PROPERTY_FILTERS[:3],
        "events": EVENTS,
        "actions": ACTIONS,
        "console_log_filters": CONSOLE,
        "having_predicates": list(reversed(HAVING)),
        "operand": "OR",
        "order": "active_seconds",
        "order_direction": "ASC",
    },
    *({"date_from": "-14d", "order": order} for order in ("duration", "activity_score")),
]


@pytest.mark.parametrize("given", QUERIES)
def test_posthog_frontend_reads_the_saved_search_as_the_users_query(given: dict[str, Any]) -> None:
    query = RecordingsQuery.parse(given)
    filters = saved_search_filters(query)
    for profile in SCHEMA_PROFILES:
        if profile == "0000f87b" and any(
            p in NEWER_HAVING for p in given.get("having_predicates", [])
        ):
            continue  # newer keys: the saved search is for a newer PostHog, as the query is
        check_saved_search(filters, profile)
    read_back = frontend_query(filters)
    defs = definitions("newer")
    assert validate(read_back, defs["RecordingsQuery"], defs) == []
    assert _canonical(read_back) == as_posthog_reads(query)


def _visited_page_as_pageview(item: dict[str, Any]) -> dict[str, Any]:
    url = {
        "type": "event",
        "key": "$current_url",
        "value": item["value"],
        "operator": item["operator"],
    }
    return {"id": "$pageview", "name": "$pageview", "type": "events", "properties": [url]}


@pytest.mark.parametrize("given", QUERIES)
def test_posthog_backend_counts_the_users_query(given: dict[str, Any]) -> None:
    query = RecordingsQuery.parse(given)
    counted = backend_query(saved_search_filters(query))
    expected = as_posthog_reads(query)
    expected.pop("order_direction")  # the backend's count does not pass it (order is moot)
    # The one difference is PostHog's own: its backend reads visited_page as a $pageview
    # event on $current_url (playlist_filters.py @ 02ad3f39), its UI as the recording's URLs.
    visited = [p for p in expected.get("properties", []) if p.get("key") == "visited_page"]
    if visited:
        expected["properties"] = [p for p in expected["properties"] if p not in visited]
        expected["events"] = [*expected.get("events", []), *map(_visited_page_as_pageview, visited)]
    assert _canonical({"kind": "RecordingsQuery", **counted}) == _canonical(expected)


def test_match_any_duration_matches_every_recording(emulator_factory: Any, client_for: Any) -> None:
    posthog = emulator_factory(profile="cloud", clock=lambda: NOW)
    posthog.add_recording(start_time=NOW - timedelta(hours=1), recording_duration=0)
    posthog.seed_recordings(30, days=2, end=NOW)
    client = client_for(posthog)
    every = {r.id for r in client.iter_recordings({"date_from": "-3d"})}
    with_it = {
        r.id
        for r in client.iter_recordings(
            {"date_from": "-3d", "having_predicates": [MATCH_ANY_DURATION]}
        )
    }
    assert len(every) == 31 and with_it == every


@pytest.mark.parametrize("profile", ["cloud", "self_hosted_legacy"])
def test_curation_matching_is_what_posthog_backend_counts(
    emulator_factory: Any, client_for: Any, profile: str
) -> None:
    posthog = emulator_factory(profile=profile, clock=lambda: NOW)
    posthog.seed_recordings(120, days=10, seed=3, end=NOW)
    client = client_for(posthog)
    wanted = {
        "date_from": "-7d",
        "having_predicates": [
            {"type": "recording", "key": "duration", "operator": "gt", "value": 200},
            {"type": "recording", "key": "active_seconds", "operator": "gt", "value": 400},
        ],
        "console_log_filters": [CONSOLE[0]],
        "operand": "AND",
    }
    matching_ids = {r.id for r in client.iter_recordings(wanted)}
    assert 0 < len(matching_ids) < 50  # one page of PostHog's count: the count is exact
    looser = {**wanted, "having_predicates": wanted["having_predicates"][:1]}
    assert len({r.id for r in client.iter_recordings(looser)}) > len(matching_ids)
    summary = curation.run(client, CurationSettings(name="Long and busy", query=wanted))
    assert summary["created"] and summary["matching"] == len(matching_ids)
    saved = [p for p in posthog.playlists() if p["short_id"] == summary["short_id"]][0]
    check_saved_search(saved["filters"], "0000f87b")
