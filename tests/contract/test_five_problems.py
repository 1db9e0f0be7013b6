"""The five problems PostHog's published schema showed in what the client sends (issue 18).

Each test failed on the code before the fix: the client sent or wrote something PostHog's own
schema (``emulator/posthog_recordings_emulator/posthog_schema/``) refuses, or refused something
PostHog's UI sends.
"""

from __future__ import annotations

from typing import Any

import pytest
from posthog_recordings_emulator.schema_check import (
    check_saved_search,
    decode_list_query,
    definitions,
    validate,
)

from airflow_provider_posthog_recordings.client.errors import PostHogAPIError, PostHogConfigError
from airflow_provider_posthog_recordings.client.query import RecordingsQuery
from airflow_provider_posthog_recordings.jobs.curation import saved_search_filters


def _problems(query: RecordingsQuery, profile: str) -> list[Any]:
    defs = definitions(profile)
    return validate(decode_list_query(query.to_params()), defs["RecordingsQuery"], defs)


# ---------------------------------------------------------------- 1. hide_viewed_recordings


def test_hide_viewed_recordings_needs_newer_posthog_and_says_so(
    emulator_factory: Any, client_for: Any
) -> None:
    query = RecordingsQuery.parse({"date_from": "-7d", "hide_viewed_recordings": "current-user"})
    assert _problems(query, "newer") == []
    assert [where for where, _ in _problems(query, "0000f87b")] == ["hide_viewed_recordings"]
    # A server that predates the field refuses it (400), and the client's error says why.
    legacy = emulator_factory(profile="self_hosted_legacy")
    legacy.seed_recordings(5, days=3)
    client = client_for(legacy)
    with pytest.raises(PostHogAPIError) as caught:
        list(client.iter_recordings(query))
    assert caught.value.status == 400
    assert "hide_viewed_recordings" in str(caught.value)
    assert "newer PostHog" in str(caught.value)
    # Opt-in: without it nothing about viewed recordings is sent, and that works everywhere.
    assert "hide_viewed_recordings" not in RecordingsQuery.parse({"date_from": "-7d"}).to_params()
    assert len(list(client.iter_recordings({"date_from": "-7d"}))) == 5
    # PostHog's null is accepted (and means: do not hide).
    assert RecordingsQuery.parse({"hide_viewed_recordings": None}).to_params() == {}


# ---------------------------------------------------------------- 2. recording metrics in having


@pytest.mark.parametrize(
    ("key", "advice"),
    [
        ("recording_duration", "use 'duration'"),
        ("activity_score", "not a recording filter PostHog"),
        ("console_error_count", "console_log_filters"),
        ("ongoing", "not a recording filter PostHog"),
    ],
)
def test_having_predicates_refuse_what_posthog_schema_refuses(key: str, advice: str) -> None:
    predicate = {"type": "recording", "key": key, "operator": "gt", "value": 1}
    with pytest.raises(PostHogConfigError, match=advice):
        RecordingsQuery.parse({"date_from": "-7d", "having_predicates": [predicate]})


@pytest.mark.parametrize("key", ["duration", "active_seconds", "inactive_seconds"])
def test_having_predicates_accept_posthog_recording_keys(key: str) -> None:
    predicate = {"type": "recording", "key": key, "operator": "gt", "value": 10}
    query = RecordingsQuery.parse({"date_from": "-7d", "having_predicates": [predicate]})
    assert _problems(query, "0000f87b") == [] and _problems(query, "newer") == []


@pytest.mark.parametrize("key", ["click_count", "keypress_count", "mouse_activity_count"])
def test_newer_recording_keys_are_accepted_and_valid_on_newer_posthog(key: str) -> None:
    predicate = {"type": "recording", "key": key, "operator": "gt", "value": 10}
    query = RecordingsQuery.parse({"date_from": "-7d", "having_predicates": [predicate]})
    assert _problems(query, "newer") == []
    assert _problems(query, "0000f87b") != []  # documented: needs a newer PostHog


# ---------------------------------------------------------------- 3. visited_page in properties


def test_visited_page_is_accepted_in_properties_as_posthog_ui_sends_it() -> None:
    visited = {
        "type": "recording",
        "key": "visited_page",
        "operator": "icontains",
        "value": "/checkout",
    }
    query = RecordingsQuery.parse({"date_from": "-7d", "properties": [visited]})
    assert query.properties == [visited]
    assert _problems(query, "0000f87b") == []


# ---------------------------------------------------------------- 4. saved-search duration


def test_saved_search_duration_holds_only_one_numeric_duration_filter() -> None:
    predicates = [
        {"type": "recording", "key": "duration", "operator": "gt", "value": 60},
        {"type": "recording", "key": "active_seconds", "operator": "gt", "value": 10},
        {"type": "recording", "key": "snapshot_source", "operator": "exact", "value": ["web"]},
    ]
    filters = saved_search_filters(
        RecordingsQuery.parse({"date_from": "-7d", "having_predicates": predicates})
    )
    assert filters["duration"] == [predicates[0]]
    leaves = filters["filter_group"]["values"][0]["values"]
    assert predicates[1] in leaves and predicates[2] in leaves
    check_saved_search(filters, "0000f87b")


def test_saved_search_never_writes_an_empty_duration() -> None:
    filters = saved_search_filters(RecordingsQuery.parse({"date_from": "-7d"}))
    assert filters["duration"] != []
    assert len(filters["duration"]) == 1 and filters["duration"][0]["key"] == "duration"
    check_saved_search(filters, "0000f87b")


# ---------------------------------------------------------------- 5. hide_viewed in a saved search


def test_saved_search_refuses_hide_viewed_recordings() -> None:
    query = RecordingsQuery.parse({"date_from": "-7d", "hide_viewed_recordings": "any-user"})
    with pytest.raises(PostHogConfigError, match="hide_viewed_recordings"):
        saved_search_filters(query)
