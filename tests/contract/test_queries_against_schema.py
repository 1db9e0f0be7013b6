"""Every recordings query the client builds is a valid ``RecordingsQuery`` of PostHog's schema.

Checked twice: on the schema as published (``schema.json`` @ 0000f87b, a server from before
``hide_viewed_recordings``) and on newer PostHog (plus ``newer_posthog_deltas.json``). Queries
are decoded exactly as PostHog's list view decodes its query string.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from posthog_recordings_emulator.schema_check import (
    SCHEMA_PROFILES,
    decode_list_query,
    definitions,
    validate,
)

from airflow_provider_posthog_recordings.client.query import RecordingOrder, RecordingsQuery
from airflow_provider_posthog_recordings.jobs import erasure, purge
from airflow_provider_posthog_recordings.jobs.erasure import ErasureSettings
from airflow_provider_posthog_recordings.jobs.purge import PurgeSettings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def problems(params: dict[str, str], profile: str) -> list[Any]:
    defs = definitions(profile)
    return validate(decode_list_query(params), defs["RecordingsQuery"], defs)


#: One filter of every kind the client sends, by the list it goes in.
PROPERTY_FILTERS = [
    {"type": "event", "key": "$browser", "operator": "exact", "value": ["Chrome"]},
    {"type": "event", "key": "$current_url", "operator": "icontains", "value": "/pricing"},
    {"type": "person", "key": "email", "operator": "is_set"},
    {"type": "session", "key": "$entry_current_url", "operator": "regex", "value": "^https"},
    {"type": "cohort", "key": "id", "operator": "in", "value": 7},
    {"type": "group", "key": "plan", "operator": "exact", "value": "pro", "group_type_index": 0},
    {"type": "hogql", "key": "properties.$os = 'Mac OS X'"},
    {"type": "element", "key": "text", "operator": "exact", "value": ["Buy"]},
    {"type": "event_metadata", "key": "distinct_id", "operator": "exact", "value": "u1"},
    {"type": "feature", "key": "beta", "operator": "exact", "value": "true"},
    {"type": "recording", "key": "visited_page", "operator": "icontains", "value": "/checkout"},
]
EVENTS = [
    {"id": "$pageview", "name": "$pageview"},
    {
        "id": "$autocapture",
        "type": "events",
        "properties": [{"type": "event", "key": "$el_text", "operator": "exact", "value": "Go"}],
    },
]
ACTIONS = [{"id": 12, "name": "Signed up"}]
CONSOLE = [
    {"key": "level", "operator": "exact", "value": ["error"]},
    {"type": "log_entry", "key": "message", "operator": "icontains", "value": "timeout"},
]
HAVING = [
    {"type": "recording", "key": "duration", "operator": "gt", "value": 60},
    {"key": "active_seconds", "operator": "gte", "value": 5},
    {"type": "recording", "key": "inactive_seconds", "operator": "lt", "value": 600},
    {"type": "recording", "key": "snapshot_source", "operator": "exact", "value": ["web"]},
]
NEWER_HAVING = [
    {"type": "recording", "key": key, "operator": "gt", "value": 3}
    for key in ("click_count", "keypress_count", "mouse_activity_count")
]

FULL_QUERY: dict[str, Any] = {
    "date_from": "-30d",
    "date_to": datetime(2026, 3, 1, 0, 0),
    "distinct_ids": ["alice", "123"],
    "properties": PROPERTY_FILTERS,
    "events": EVENTS,
    "actions": ACTIONS,
    "console_log_filters": CONSOLE,
    "having_predicates": HAVING,
    "operand": "OR",
    "filter_test_accounts": True,
    "order": "duration",
    "order_direction": "ASC",
}


@pytest.mark.parametrize("profile", SCHEMA_PROFILES)
@pytest.mark.parametrize(
    "query",
    [
        FULL_QUERY,
        {**FULL_QUERY, "distinct_ids": None, "person_uuid": "0190a1b2-0000-7000-8000-000000000001"},
        {"session_ids": ["0190a1b2-0000-7000-8000-000000000001"], "date_from": "-1825d"},
        {"distinct_id": "bob", "date_from": date(2026, 1, 1), "date_to": date(2026, 2, 1)},
        {"date_from": "2026-01-01T00:00:00+00:00", "date_to": "-1d"},
        {"date_from": "all", "operand": "AND", "filter_test_accounts": False},
        {},
    ],
)
def test_every_list_parameter_and_filter_type(profile: str, query: dict[str, Any]) -> None:
    assert problems(RecordingsQuery.parse(query).to_params(), profile) == []


@pytest.mark.parametrize("profile", SCHEMA_PROFILES)
@pytest.mark.parametrize("order", get_args(RecordingOrder))
@pytest.mark.parametrize("direction", ["ASC", "DESC", None])
def test_every_order_and_direction(profile: str, order: str, direction: str | None) -> None:
    wanted = {"date_from": "-7d", "order": order, "order_direction": direction}
    query = RecordingsQuery.parse(wanted)
    assert problems(query.to_params(), profile) == []


@pytest.mark.parametrize("profile", SCHEMA_PROFILES)
@pytest.mark.parametrize(
    "paging",
    [
        {"limit": "100"},
        {"limit": "500", "offset": "1000"},
        {"limit": "50", "after": "eyJvcmRlciI6InN0YXJ0X3RpbWUiLCJpZCI6IngifQ"},
    ],
)
def test_paging(profile: str, paging: dict[str, str]) -> None:
    params = {**RecordingsQuery.parse({"date_from": "-7d"}).to_params(), **paging}
    assert problems(params, profile) == []


def test_newer_fields_only_on_newer_posthog() -> None:
    for extra in (
        {"hide_viewed_recordings": "current-user"},
        {"hide_viewed_recordings": "any-user"},
        {"having_predicates": NEWER_HAVING},
    ):
        params = RecordingsQuery.parse({"date_from": "-7d", **extra}).to_params()
        assert problems(params, "newer") == []
        assert problems(params, "0000f87b") != []


def _listings(emulator: Any) -> list[dict[str, str]]:
    return [
        dict(r.query)
        for r in emulator.requests
        if r.method == "GET" and r.path.endswith("session_recordings/")
    ]


@pytest.mark.parametrize("profile", ["cloud", "self_hosted_legacy", "permissive"])
def test_purge_erasure_and_existence_listings(
    emulator_factory: Any, client_for: Any, profile: str
) -> None:
    # The emulator itself refuses (400) any list query its schema refuses, so these jobs
    # succeeding is one proof; every listing they sent is also checked on both schemas.
    posthog = emulator_factory(profile=profile, clock=lambda: NOW)
    posthog.seed_recordings(60, days=60, seed=5, persons=6, end=NOW)
    client = client_for(posthog, page_size=25)
    someone = posthog.recording(sorted(posthog.recording_ids())[0])["distinct_id"]
    settings = PurgeSettings(
        older_than_days=30,
        reference=NOW,
        max_deletions=None,
        query={"having_predicates": [HAVING[0]], "filter_test_accounts": True},
    )
    purge.run(client, settings)
    erasure.run(client, ErasureSettings(distinct_ids=[someone], max_deletions=None))
    client.recordings.existing_recording_ids(sorted(posthog.recording_ids())[:3] + ["gone"])
    listings = _listings(posthog)
    assert len(listings) >= 4
    assert any("session_ids" in params for params in listings)  # the existence check
    assert any("distinct_ids" in params for params in listings)  # the erasure
    for params in listings:
        for schema in SCHEMA_PROFILES:
            assert problems(params, schema) == [], params
    listed = [r for r in posthog.requests if r.method == "GET" and "session_recordings/" in r.path]
    assert listed and all(r.status == 200 for r in listed)


def test_a_recent_window_is_still_valid(emulator_factory: Any, client_for: Any) -> None:
    posthog = emulator_factory(profile="self_hosted_legacy", clock=lambda: NOW)
    posthog.seed_recordings(10, days=2, end=NOW)
    client = client_for(posthog)
    since = NOW - timedelta(hours=36)
    found = list(client.iter_recordings({"date_from": since, "order": "start_time"}))
    assert found and all(r.status == 200 for r in posthog.requests)
