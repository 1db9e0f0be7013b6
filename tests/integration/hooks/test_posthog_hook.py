"""The hook reads the Airflow connection and builds a working client."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.get_provider_info import get_provider_info
from airflow_provider_posthog_recordings.hooks.connection_form import (
    EXTRA_FIELDS,
    HIDDEN_FIELDS,
    RELABELING,
)
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook
from tests.helpers import connection_json


def test_hook_builds_a_client_from_the_connection(posthog_conn: Any) -> None:
    hook = PostHogHook()
    client = hook.get_client()
    assert client.base_url == posthog_conn.url and client.project_id == posthog_conn.project_id
    assert hook.get_client() is client and hook.get_conn() is client
    posthog_conn.seed_recordings(3, days=1)
    assert len(list(client.iter_recordings({"date_from": "-2d"}))) == 3
    assert client.request_count == 1


def test_the_hook_is_thin(posthog_conn: Any) -> None:
    """Connection to client, the form and the connection test: the client does the rest.

    The hook mirrors none of the client's API, builds its client once, and closing it closes
    that client's session (the next call builds a new one).
    """
    api = {name for name in vars(PostHogClient) if not name.startswith("_")} - {"close"}
    assert not api & set(dir(PostHogHook))
    hook = PostHogHook()
    client = hook.get_client()
    assert hook.get_conn() is client
    hook.close()
    assert hook.get_client() is not client


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
    assert client.page_size == 100 and client.transport.timeout == 3.0


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
        ({"host": "ftp://posthog.example.com"}, "must start with https://"),
        ({"host": "posthog.example.com", "schema": "ftp"}, "schema field must be http or https"),
        ({"host": "http://posthog.example.com"}, "allow_insecure_http"),
        ({"host": "posthog.example.com", "schema": "http"}, "allow_insecure_http"),
        ({"extra": {"project_id": 1, "page_size": "ten"}}, "page_size must be a whole number"),
        ({"extra": {"project_id": 1, "max_retries": -1}}, "max_retries must be 0 or more"),
        ({"extra": {"project_id": 1, "timeout": "0"}}, "timeout must be more than 0"),
        ({"extra": {"project_id": 1, "allow_insecure_http": "maybe"}}, "true or false"),
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


# ------------------------------------------------------------------ connection forms


def _uri_for(emulator: Any, scheme_field: str = "") -> str:
    """The URI form of an emulator's connection (``scheme_field`` is the URI's path)."""
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    path = f"/{scheme_field}" if scheme_field else ""
    return f"posthog://:{emulator.api_key}@{host}:{port}{path}?project_id={emulator.project_id}"


def test_uri_and_json_forms_build_the_same_cloud_client(monkeypatch: Any) -> None:
    key = "phx_uriFormKey0123456789"
    monkeypatch.setenv("AIRFLOW_CONN_BY_URI", f"posthog://:{key}@us.posthog.com?project_id=1")
    monkeypatch.setenv(
        "AIRFLOW_CONN_BY_JSON",
        json.dumps(
            {
                "conn_type": "posthog",
                "host": "https://us.posthog.com",
                "password": key,
                "extra": {"project_id": 1},
            }
        ),
    )
    by_uri = PostHogHook("by_uri").get_client()
    by_json = PostHogHook("by_json").get_client()
    assert (
        repr(by_uri)
        == repr(by_json)
        == ("PostHogClient(host='https://us.posthog.com', project_id=1, api_key=***)")
    )
    assert PostHogHook("by_uri").client_settings() == PostHogHook("by_json").client_settings()


def test_uri_form_works_against_a_server(posthog: Any, monkeypatch: Any) -> None:
    """The schema field (the URI's path) chooses http; the port is kept."""
    monkeypatch.setenv("AIRFLOW_CONN_BY_URI", _uri_for(posthog, "http"))
    monkeypatch.setenv("AIRFLOW_CONN_BY_JSON", connection_json(posthog))
    by_uri = PostHogHook("by_uri").get_client()
    assert by_uri.base_url == PostHogHook("by_json").get_client().base_url == posthog.url
    assert by_uri.project_id == posthog.project_id
    ok, message = PostHogHook("by_uri").test_connection()
    assert ok, message
    assert posthog.request_count == 1


def test_uri_form_defaults_to_https_and_shows_the_port(posthog: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", "posthog://:phx_k@posthog.example.com:8443?project_id=1"
    )
    assert PostHogHook().get_client().base_url == "https://posthog.example.com:8443"
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT",
        "posthog://:phx_k@posthog.example.com:8000/http?project_id=1",
    )
    with pytest.raises(PostHogConfigError) as info:
        PostHogHook().get_client()
    assert "'http://posthog.example.com:8000' uses plain http" in str(info.value)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT",
        "posthog://:phx_k@posthog.example.com:8000/http?project_id=1&allow_insecure_http=true",
    )
    assert PostHogHook().get_client().base_url == "http://posthog.example.com:8000"


def test_json_form_with_a_separate_port(posthog: Any, monkeypatch: Any) -> None:
    conn = json.loads(connection_json(posthog))
    conn["host"], port = posthog.url.rsplit(":", 1)
    conn["port"] = int(port)
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(conn))
    assert PostHogHook().get_client().base_url == posthog.url


def test_every_extra_is_read_and_unset_ones_are_left_out(posthog: Any, monkeypatch: Any) -> None:
    """The new hourly budgets reach the client only when the connection sets them."""
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(posthog))
    plain = PostHogHook().client_settings()
    assert set(plain) == {"host", "api_key", "project_id"}
    extras = {
        "allow_insecure_http": "on",
        "requests_per_minute": "120",
        "requests_per_hour": 1000,
        "list_requests_per_minute": 12,
        "list_requests_per_hour": "60",
        "snapshot_requests_per_minute": "60",
        "snapshot_requests_per_hour": 300,
        "page_size": 50,
        "timeout": "2.5",
        "max_retries": "0",
        "concurrency": 2,
    }
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(posthog, **extras))
    settings = PostHogHook().client_settings()
    assert {name: settings[name] for name in extras} == {
        "allow_insecure_http": True,
        "requests_per_minute": 120,
        "requests_per_hour": 1000,
        "list_requests_per_minute": 12,
        "list_requests_per_hour": 60,
        "snapshot_requests_per_minute": 60,
        "snapshot_requests_per_hour": 300,
        "page_size": 50,
        "timeout": 2.5,
        "max_retries": 0,
        "concurrency": 2,
    }
    assert {field.name for field in EXTRA_FIELDS} == set(extras) | {"project_id"}


def test_hourly_budgets_reach_the_client(posthog: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT",
        connection_json(posthog, requests_per_hour=1000, list_requests_per_hour=60),
    )
    client = PostHogHook().get_client()
    assert client.transport.budget.per_hour == 1000
    assert client.transport.list_budget is not None
    assert client.transport.list_budget.per_hour == 60
    assert client.check_access()


def test_provider_info_and_hook_describe_the_same_form() -> None:
    [conn_type] = get_provider_info()["connection-types"]
    behaviour = conn_type["ui-field-behaviour"]
    hook_behaviour = PostHogHook.get_ui_field_behaviour()
    assert hook_behaviour == {
        "hidden_fields": behaviour["hidden-fields"],
        "relabeling": behaviour["relabeling"],
        "placeholders": behaviour["placeholders"],
    }
    fields = conn_type["conn-fields"]
    assert list(fields) == [field.name for field in EXTRA_FIELDS]
    for field in EXTRA_FIELDS:
        assert fields[field.name]["label"] == field.label
        assert fields[field.name]["description"] == field.description
        assert field.kind in fields[field.name]["schema"]["type"]
    # Every extra the README documents is a form field, so nothing needs the hidden extra.
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme.split("### Connection extras", 1)[1].split("\n#", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))
    assert documented == set(fields)


def test_airflow2_form_widgets_match_the_provider_info() -> None:
    pytest.importorskip("wtforms", reason="Airflow 2's form classes (not installed on 3.x)")
    pytest.importorskip("flask_appbuilder", reason="Airflow 2's form classes")
    widgets = PostHogHook.get_connection_form_widgets()
    [conn_type] = get_provider_info()["connection-types"]
    assert list(widgets) == list(conn_type["conn-fields"])
    for name, widget in widgets.items():
        spec = conn_type["conn-fields"][name]
        bound = widget.bind(form=None, name=name, _meta=_Meta())
        assert str(bound.label.text) == spec["label"]
        assert bound.description == spec["description"]
        kind = {"BooleanField": "boolean", "IntegerField": "integer", "StringField": "number"}
        assert kind[type(bound).__name__] in spec["schema"]["type"]


class _Meta:
    """Just enough of a wtforms form's meta to bind an unbound field."""

    def bind_field(self, form: Any, unbound: Any, options: dict[str, Any]) -> Any:
        return unbound.bind(form=form, **options)


def test_airflow_shows_every_extra_in_the_form() -> None:
    """What Airflow itself read: 3.x from the provider info, 2.x from the hook."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = manager.connection_form_widgets
    for field in EXTRA_FIELDS:
        assert f"extra__posthog__{field.name}" in widgets, field.name
    behaviour = manager.field_behaviours["posthog"]
    assert behaviour["hidden_fields"] == list(HIDDEN_FIELDS)
    assert behaviour["relabeling"] == RELABELING


def test_test_connection_makes_one_short_attempt_on_a_silent_host(monkeypatch: Any) -> None:
    """A host that accepts the connection but never answers (a wrong host behind a firewall,
    a proxy that hangs): the Test button gets its answer within 5 s, after one attempt."""
    import socket
    import threading
    import time

    accepted: list[socket.socket] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)  # never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    conn = {
        "conn_type": "posthog",
        "host": f"http://127.0.0.1:{port}",
        "password": "phx_silent_host_key_123",
        "extra": {"project_id": 1},
    }
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_SILENT", json.dumps(conn))
    started = time.monotonic()
    try:
        ok, message = PostHogHook("posthog_silent").test_connection()
    finally:
        elapsed = time.monotonic() - started
        stop.set()
        thread.join(2)
        listener.close()
        for sock in accepted:
            sock.close()
    assert not ok and "check the host" in message
    assert "1 attempt" in message
    assert elapsed < 5.0, f"the connection test took {elapsed:.1f} s"
    assert len(accepted) == 1


def test_the_form_requires_the_project_id_and_shows_each_default() -> None:
    """Airflow 3's form marks a field required only when its schema type excludes null; every
    extra but the checkbox shows its default (or an example) as a placeholder."""
    from airflow_provider_posthog_recordings.hooks.connection_form import (
        EXTRA_FIELDS,
        provider_conn_fields,
        provider_ui_field_behaviour,
    )

    fields = provider_conn_fields()
    assert fields["project_id"]["schema"]["type"] == "integer"
    others = [f.name for f in EXTRA_FIELDS if f.name != "project_id"]
    assert all("null" in fields[name]["schema"]["type"] for name in others)
    placeholders = provider_ui_field_behaviour()["placeholders"]
    for field in EXTRA_FIELDS:
        assert (field.name in placeholders) == (field.kind != "boolean"), field.name
    assert placeholders["requests_per_minute"] == "240"
    assert "http://" in placeholders["host"]


def test_the_too_short_masking_warning_is_airflows_own_lookup(
    posthog: Any, monkeypatch: Any, caplog: Any, capsys: Any
) -> None:
    """Airflow 3's connection lookup (``Connection.get``, which caches the connection's URI)
    gives every extra's value to the secret masker, which warns "Skipping masking for a
    secret as it's too short (<5 chars)" once per process for short text such as "1": every
    extra of a URI is text. The hook adds nothing of its own: with the JSON form's numbers
    (``--conn-extra '{"project_id": 1}'``) nothing warns."""
    import logging

    masker = pytest.importorskip("airflow.sdk._shared.secrets_masker.secrets_masker")
    from airflow.providers.common.compat.sdk import BaseHook

    def warned(conn_id: str, read: Any) -> bool:
        monkeypatch.setattr(masker.SecretsMasker, "_has_warned_short_secret", False)
        caplog.clear()
        capsys.readouterr()
        with caplog.at_level(logging.WARNING):
            read(conn_id)
        return "too short" in caplog.text + capsys.readouterr().out

    monkeypatch.setenv("AIRFLOW_CONN_BY_URI", _uri_for(posthog, "http"))
    monkeypatch.setenv("AIRFLOW_CONN_BY_JSON", connection_json(posthog, requests_per_minute=12))
    assert warned("by_uri", BaseHook.get_connection)  # Airflow's lookup alone
    assert not warned("by_json", lambda conn_id: PostHogHook(conn_id).get_client())
