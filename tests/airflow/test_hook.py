"""The hook reads the Airflow connection and builds a working client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_posthog_recordings.errors import PostHogConfigError
from airflow_provider_posthog_recordings.get_provider_info import get_provider_info
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook
from tests.airflow.conftest import connection_json


def test_hook_builds_a_client_from_the_connection(posthog_conn: Any) -> None:
    hook = PostHogHook()
    client = hook.get_client()
    assert client.base_url == posthog_conn.url and client.project_id == posthog_conn.project_id
    assert hook.get_client() is client
    posthog_conn.seed_recordings(3, days=1)
    assert len(list(hook.iter_recordings({"date_from": "-2d"}))) == 3
    assert hook.request_count == 1


def test_test_connection_success_and_failure(posthog_conn: Any, monkeypatch: Any) -> None:
    ok, message = PostHogHook().test_connection()
    assert ok and "Connected to" in message
    bad = json.loads(connection_json(posthog_conn))
    bad["password"] = "phx_not_valid_at_all"
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_BAD", json.dumps(bad))
    ok, message = PostHogHook("posthog_bad").test_connection()
    assert not ok and "401" in message and "phx_not_valid_at_all" not in message


def test_extras_tune_the_client(posthog: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT",
        connection_json(posthog, page_size="100", requests_per_minute=60, timeout=3),
    )
    client = PostHogHook().get_client()
    assert client.page_size == 100 and client.timeout == 3.0


def test_airflow2_form_field_names_are_read(posthog: Any, monkeypatch: Any) -> None:
    conn = json.loads(connection_json(posthog))
    conn["extra"] = {"extra__posthog__project_id": "1"}
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(conn))
    assert PostHogHook().get_client().project_id == 1


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"extra": {}}, "project id is missing"),
        ({"extra": {"project_id": "abc"}}, "must be a number"),
        ({"password": None}, "no personal API key"),
        ({"host": "posthog.example.com"}, "https://"),
        ({"host": "http://posthog.example.com"}, "allow_insecure_http"),
    ],
)
def test_bad_connections_fail_clearly(
    posthog: Any, monkeypatch: Any, change: dict[str, Any], match: str
) -> None:
    conn = json.loads(connection_json(posthog))
    conn.update(change)
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(conn))
    with pytest.raises(PostHogConfigError, match=match):
        PostHogHook().get_client()
    assert posthog.request_count == 0


def test_key_in_extra_is_used_and_masked(posthog: Any, monkeypatch: Any, mocker: Any) -> None:
    conn = json.loads(connection_json(posthog))
    conn.pop("password")
    conn["extra"]["api_key"] = posthog.api_key
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(conn))
    masked = mocker.patch("airflow_provider_posthog_recordings.hooks.posthog.mask_secret")
    assert PostHogHook().get_client().check_access()
    masked.assert_called_with(posthog.api_key)


def test_provider_info_declares_the_connection_type() -> None:
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-posthog-recordings"
    [conn_type] = info["connection-types"]
    assert conn_type["connection-type"] == "posthog"
    assert conn_type["hook-class-name"].endswith("hooks.posthog.PostHogHook")
    assert conn_type["ui-field-behaviour"]["relabeling"]["password"] == "Personal API key"


def test_airflow_discovers_the_provider() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-posthog-recordings" in manager.providers
    assert "posthog" in manager.hooks
    assert manager.hooks["posthog"].hook_class_name.endswith("PostHogHook")
