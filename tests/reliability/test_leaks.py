"""The API key never leaks: logs (DEBUG, requests and urllib3 included), XComs, exception
texts and rendered template fields, with the key taken from the password, from the extra,
or from an environment-variable connection in URI form; and Airflow's masker hides it."""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import redact
from posthog_recordings_emulator import PostHogEmulator

from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.hooks import posthog as hook_module
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook
from airflow_provider_posthog_recordings.operators import (
    PostHogDeleteRecordingsOperator,
    PostHogListRecordingsOperator,
    PostHogPurgeRecordingsOperator,
)
from airflow_provider_posthog_recordings.operators.playlist_operators import (
    PostHogCuratePlaylistOperator,
)
from tests.reliability.schedules import ALL_KINDS, NOW, WATCHED_LOGGERS

PROBE = "airflow_provider_posthog_recordings.leak_probe"
SOURCES = ("password", "extra", "extra_airflow2", "env_uri")


def _connection(emulator: PostHogEmulator, source: str) -> str:
    """The AIRFLOW_CONN_POSTHOG_DEFAULT value with the key in ``source``."""
    key = emulator.api_key
    if source == "env_uri":
        return f"posthog://:{key}@127.0.0.1:{emulator.port}/http?project_id={emulator.project_id}"
    conn: dict[str, Any] = {
        "conn_type": "posthog",
        "host": emulator.url,
        "extra": {"project_id": emulator.project_id},
    }
    if source == "password":
        conn["password"] = key
    elif source == "extra":
        conn["extra"]["api_key"] = key
    else:
        conn["extra"]["extra__posthog__api_key"] = key
    return json.dumps(conn)


def _fresh_key(source: str) -> str:
    # A new key per test: a key masked by an earlier test must not make this one pass.
    return f"phx_{source}_{uuid.uuid4().hex}"


@pytest.fixture
def world(request: Any, monkeypatch: Any, emulator_factory: Any, no_sleep: Any) -> Any:
    source = request.param
    emulator = emulator_factory(api_key=_fresh_key(source), clock=lambda: NOW)
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", _connection(emulator, source))
    return emulator


def _assert_no_key(key: str, texts: dict[str, Any]) -> None:
    secret = key.removeprefix("phx_")
    for name, value in texts.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        assert key not in text and secret not in text, f"the key leaked into {name}"


@pytest.mark.parametrize("world", SOURCES, indirect=True)
def test_the_hook_registers_the_key_with_airflows_masker(world: Any, mocker: Any) -> None:
    key = world.api_key
    assert key in redact(f"Authorization: Bearer {key}")  # not masked yet: the test can fail
    spy = mocker.spy(hook_module, "mask_secret")
    client = PostHogHook().get_client()
    assert client.base_url == world.url
    assert any(call.args[0] == key for call in spy.call_args_list)
    assert key not in redact(f"Authorization: Bearer {key}")
    assert key not in json.dumps(redact({"headers": {"x": f"Bearer {key}"}, "note": key}))
    other = _fresh_key("control")
    assert other in redact(f"Bearer {other}")  # the masker hides this key, not everything


def _run(op: Any, context: dict[str, Any], texts: dict[str, Any]) -> Any:
    name = f"{type(op).__name__} #{len(texts)}"
    try:
        result = op.execute(context)
    except PostHogError as exc:
        texts[f"{name} exception"] = "".join(traceback.format_exception(exc))
        assert "PostHog" in str(exc), f"unclear error: {exc}"
        return exc
    texts[f"{name} return value (XCom)"] = result
    return result


class _TaskInstance:
    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@pytest.mark.parametrize("world", SOURCES, indirect=True)
def test_no_log_xcom_exception_or_template_holds_the_key(
    world: Any, caplog: Any, capsys: Any
) -> None:
    key = world.api_key
    world.seed_recordings(120, days=60, seed=41, end=NOW, error_fraction=0.3)
    world.create_playlist("Legal hold", recording_ids=[])
    world.random_faults(seed=42, rate=0.3, kinds=list(ALL_KINDS), seconds=0.75)
    for name in (*WATCHED_LOGGERS, "airflow"):
        caplog.set_level(logging.DEBUG, logger=name)
    ti = _TaskInstance()
    context: dict[str, Any] = {
        "data_interval_end": NOW,
        "ds": NOW.date().isoformat(),
        "params": {"days": "30", "hold": "Legal hold", "cap": "1000"},
        "ti": ti,
    }
    texts: dict[str, Any] = {}
    purge = PostHogPurgeRecordingsOperator(
        task_id="purge",
        older_than_days="{{ params.days }}",
        max_deletions="{{ params.cap }}",
        keep_playlists=["{{ params.hold }}"],
        query={"filter_test_accounts": True},
    )
    purge.render_template_fields(context)
    assert purge.older_than_days == "30" and purge.keep_playlists == ["Legal hold"]
    texts["rendered template fields"] = {f: getattr(purge, f) for f in purge.template_fields}
    operators = [
        purge,
        PostHogListRecordingsOperator(task_id="list", query={"date_from": "-90d"}),
        PostHogCuratePlaylistOperator(
            task_id="curate", name="Errors", query={"date_from": "-7d"}, max_recordings=20
        ),
        PostHogDeleteRecordingsOperator(task_id="erase", distinct_ids=["user-41-1"]),
    ]
    for op in operators:
        _run(op, context, texts)
    # A run that gives up: every list request fails.
    random_faults = sum(world.faults_injected.values())
    world.clear_faults()
    world.inject("503", times=100, path_contains="/session_recordings/")
    failure = _run(PostHogListRecordingsOperator(task_id="l", query={}), context, texts)
    assert isinstance(failure, PostHogError)
    assert "GET /api/projects/1/session_recordings/" in str(failure) and "503" in str(failure)

    assert random_faults >= 3, world.faults_injected
    texts["xcom_push"] = ti.xcoms
    # Read stdout and stderr before the control line: Airflow 2's logging also prints it.
    captured = capsys.readouterr()
    texts["stdout"], texts["stderr"] = captured.out, captured.err
    # Control: the capture is not masked (even now that the key is registered with the
    # masker), so a leaked key would show.
    logging.getLogger(PROBE).debug("control %s", key)
    assert key in caplog.text
    records = [r for r in caplog.records if r.name != PROBE]
    texts["log records"] = [
        f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in records
    ]
    assert len(records) > 50, "too little was captured: the check would be vacuous"
    _assert_no_key(key, texts)


@pytest.mark.parametrize("world", ["password"], indirect=True)
def test_an_error_body_echoing_the_key_is_scrubbed(world: Any) -> None:
    """A proxy or server that echoes the Authorization header back in an error body."""
    from airflow_provider_posthog_recordings.client.errors import api_error_from_response

    key = world.api_key
    for body in (
        {"detail": f"bad header Authorization: Bearer {key}"},
        f"<html>Bearer {key}</html>",
        "x" * 190 + key,
    ):
        error = api_error_from_response(
            status=400, method="GET", path="/api/projects/1/x/", body=body, secret=key
        )
        _assert_no_key(key, {"message": str(error), "detail": error.detail})
