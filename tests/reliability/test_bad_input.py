"""Bad input gets a clear error before any request reaches the server."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import PostHogConfigError, PostHogError
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook
from airflow_provider_posthog_recordings.jobs import purge
from airflow_provider_posthog_recordings.jobs.curation import CurationSettings
from airflow_provider_posthog_recordings.jobs.curation import run as curate_playlist
from airflow_provider_posthog_recordings.jobs.purge import PurgeSettings
from airflow_provider_posthog_recordings.operators import (
    PostHogListRecordingsOperator,
    PostHogPurgeRecordingsOperator,
)
from airflow_provider_posthog_recordings.operators.playlist_operators import (
    PostHogCuratePlaylistOperator,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
CONTEXT = {"data_interval_end": NOW}


@pytest.fixture
def server(emulator_factory: Any) -> Any:
    emulator = emulator_factory(clock=lambda: NOW)
    emulator.seed_recordings(30, days=60, seed=9, end=NOW)
    emulator.create_playlist("Legal hold", pinned=True)
    return emulator


def _set_connection(monkeypatch: Any, server: Any, **changes: Any) -> None:
    conn: dict[str, Any] = {
        "conn_type": "posthog",
        "host": server.url,
        "password": server.api_key,
        "extra": {"project_id": server.project_id},
    }
    conn.update(changes)
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(conn))


# ------------------------------------------------------------------ the purge's settings


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"older_than_days": 0}, "older_than_days must be at least 1"),
        ({"older_than_days": -7}, "older_than_days must be at least 1"),
        ({"older_than_days": "0"}, "older_than_days must be at least 1"),
        ({"older_than_days": 2.5}, "older_than_days must be a whole number"),
        ({"older_than_days": True}, "older_than_days must be a whole number"),
        ({"max_deletions": -1}, "max_deletions must be 0 or more"),
        ({"max_deletions": "-5"}, "max_deletions must be 0 or more"),
        ({"max_deletions": "many"}, "max_deletions must be a whole number"),
        ({"query": {"date_form": "-7d"}}, "date_form"),
        ({"query": {"date_from": 7}}, "is a number, not a date"),
        ({"query": {"order": "loudness"}}, "order"),
        ({"query": {"extra_params": {"tags": {"a", "b"}}}}, "'tags' has a value of type set"),
        ({"query": {"extra_params": {"when": object()}}}, "'when' has a value of type object"),
        (
            {
                "query": {
                    "properties": [{"type": "event", "key": "k", "operator": "exact", "value": {1}}]
                }
            },
            "not JSON serialisable",
        ),
        ({"query": {"session_ids": ["a"]}}, "cannot use session_ids"),
        ({"query": {"date_to": "-1d"}}, "date_to must be an ISO datetime"),
    ],
)
def test_bad_purge_settings_fail_before_any_request(
    server: Any, client_for: Any, changes: dict[str, Any], match: str
) -> None:
    settings: dict[str, Any] = {"older_than_days": 30, "reference": NOW, "max_deletions": None}
    settings.update(changes)
    with pytest.raises(PostHogConfigError, match=match):
        purge.run(client_for(server), PurgeSettings(**settings))
    assert server.request_count == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"older_than_days": 0}, "at least 1"),
        ({"older_than_days": -1}, "at least 1"),
        ({"older_than_days": 30, "max_deletions": -1}, "0 or more"),
        ({"older_than_days": 30, "query": {"extra_params": {"x": {1}}}}, "type set"),
        ({"older_than_days": 30, "query": {"nonsense": 1}}, "nonsense"),
    ],
)
def test_bad_purge_operator_arguments_fail_at_run_time_before_any_request(
    server: Any, monkeypatch: Any, no_sleep: Any, kwargs: dict[str, Any], match: str
) -> None:
    """Airflow's rule: __init__ only stores arguments (templates are rendered after it), so
    bad values fail when the task runs, before any request."""
    _set_connection(monkeypatch, server)
    op = PostHogPurgeRecordingsOperator(task_id="purge", **kwargs)
    with pytest.raises(PostHogError, match=match):
        op.execute(CONTEXT)
    assert server.request_count == 0


@pytest.mark.parametrize(
    ("field", "rendered", "match"),
    [
        ("older_than_days", "0", "at least 1"),
        ("older_than_days", "-3", "at least 1"),
        ("older_than_days", "thirty", "whole number"),
        ("max_deletions", "-1", "0 or more"),
    ],
)
def test_bad_templated_values_fail_at_run_time_before_any_request(
    server: Any, monkeypatch: Any, no_sleep: Any, field: str, rendered: str, match: str
) -> None:
    _set_connection(monkeypatch, server)
    op = PostHogPurgeRecordingsOperator(
        task_id="purge", older_than_days="{{ params.days }}", max_deletions="{{ params.cap }}"
    )
    op.older_than_days, op.max_deletions = "30", "100"
    setattr(op, field, rendered)  # what a bad param renders to
    with pytest.raises(PostHogError, match=match):
        op.execute(CONTEXT)
    assert server.request_count == 0


def test_a_query_of_an_unsendable_type_fails_before_curation_creates_a_playlist(
    server: Any, client_for: Any, monkeypatch: Any, no_sleep: Any
) -> None:
    """Found by this suite: the value was only encoded for the first list request, after the
    purge had listed playlists and curation had looked up (and created) its playlist."""
    query = {"date_from": "-7d", "extra_params": {"tags": {"a", "b"}}}
    with pytest.raises(PostHogConfigError, match="type set"):
        curate_playlist(client_for(server), CurationSettings(name="Errors", query=query))
    _set_connection(monkeypatch, server)
    with pytest.raises(PostHogError, match="type set"):
        PostHogCuratePlaylistOperator(task_id="c", name="Errors", query=query).execute({})
    with pytest.raises(PostHogError, match="type set"):
        PostHogListRecordingsOperator(task_id="l", query=query).execute({})
    assert server.request_count == 0
    assert [p["name"] for p in server.playlists()] == ["Legal hold"]


# ------------------------------------------------------------------ the connection


@pytest.mark.parametrize(
    ("host", "match"),
    [
        ("posthog.example.com", "must start with https://"),
        ("127.0.0.1:8000", "must start with https://"),
        ("localhost:8000", "must start with https://"),
        ("ftp://posthog.example.com", "must start with https://"),
        ("http://posthog.example.com", "allow_insecure_http"),
        ("http://10.0.0.5:8000", "allow_insecure_http"),
        ("http://127.0.0.1.example.com", "allow_insecure_http"),
        ("https://us.posthog.com/api/projects/1", "only scheme and host"),
        ("https://us.i.posthog.com", "ingestion host"),
    ],
)
def test_bad_hosts_are_refused_by_the_client(host: str, match: str) -> None:
    with pytest.raises(PostHogConfigError, match=match):
        PostHogClient(host, "phx_key_for_host_checks", 1)


@pytest.mark.parametrize(
    "host", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"]
)
def test_plain_http_to_loopback_is_allowed(host: str) -> None:
    assert PostHogClient(host, "phx_key_for_host_checks", 1).base_url == host


def test_plain_http_elsewhere_only_with_allow_insecure_http() -> None:
    client = PostHogClient(
        "http://posthog.internal.example", "phx_key", 1, allow_insecure_http=True
    )
    assert client.base_url == "http://posthog.internal.example"


@pytest.mark.parametrize(
    ("project_id", "match"),
    [
        (None, "project id is missing"),
        ("", "project id is missing"),
        ("  ", "project id is missing"),
        ("abc", "must be a number"),
        ("12abc", "must be a number"),
        ("1.5", "must be a number"),
        (True, "must be a number"),
        (0, "must be a positive number"),
        (-4, "must be a positive number"),
    ],
)
def test_bad_project_ids_are_refused_by_the_client(project_id: Any, match: str) -> None:
    with pytest.raises(PostHogConfigError, match=match):
        PostHogClient("https://us.posthog.com", "phx_key", project_id)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"extra": {}}, "project id is missing"),
        ({"extra": {"project_id": "abc"}}, "must be a number"),
        ({"extra": {"project_id": "1e3"}}, "must be a number"),
        ({"host": "ftp://posthog.example.com"}, "must start with https://"),
        ({"host": "posthog.example.com", "schema": "postgres"}, "schema field must be http"),
        ({"host": "http://posthog.example.com"}, "allow_insecure_http"),
        ({"password": None}, "no personal API key"),
        ({"password": "phx_with space"}, "whitespace"),
    ],
)
def test_bad_connections_fail_before_any_request(
    server: Any, monkeypatch: Any, no_sleep: Any, changes: dict[str, Any], match: str
) -> None:
    _set_connection(monkeypatch, server, **changes)
    with pytest.raises(PostHogConfigError, match=match):
        PostHogHook().get_client()
    ok, message = PostHogHook().test_connection()
    assert not ok and match.split()[0] in message
    for op in (
        PostHogPurgeRecordingsOperator(task_id="purge", older_than_days=30),
        PostHogListRecordingsOperator(task_id="list", query={"date_from": "-7d"}),
    ):
        with pytest.raises(PostHogError, match=match):
            op.execute(CONTEXT)
    assert server.request_count == 0


def test_allow_insecure_http_in_extra_lets_plain_http_through(
    server: Any, monkeypatch: Any
) -> None:
    _set_connection(
        monkeypatch,
        server,
        host="http://posthog.internal.example",
        extra={"project_id": 1, "allow_insecure_http": "true"},
    )
    assert PostHogHook().get_client().base_url == "http://posthog.internal.example"
    assert server.request_count == 0
