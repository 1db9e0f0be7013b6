"""The recordings sensor, poking and deferrable, and its trigger."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    TaskDeferred,
)

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError, PostHogError
from airflow_provider_posthog_recordings.client.query import RecordingsQuery
from airflow_provider_posthog_recordings.sensors.recordings_sensor import PostHogRecordingsSensor
from airflow_provider_posthog_recordings.triggers.recordings_trigger import PostHogRecordingsTrigger

ERRORS = {
    "date_from": "-1d",
    "console_log_filters": [
        {"key": "level", "type": "log_entry", "operator": "exact", "value": ["error"]}
    ],
}


def _recent(emulator: Any, errors: int, **fields: Any) -> str:
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    return emulator.add_recording(start_time=start, console_error_count=errors, **fields)["id"]


def test_poke_not_done_then_done(posthog_conn: Any) -> None:
    sensor = PostHogRecordingsSensor(task_id="wait", query=ERRORS, min_count=2)
    _recent(posthog_conn, errors=0)
    first = _recent(posthog_conn, errors=3)
    assert sensor.poke({}).is_done is False
    second = _recent(posthog_conn, errors=1)
    result = sensor.poke({})
    assert result.is_done and set(result.xcom_value) == {first, second}


def test_ongoing_recordings_can_be_ignored(posthog_conn: Any) -> None:
    _recent(posthog_conn, errors=2, ongoing=True)
    ignoring = PostHogRecordingsSensor(task_id="w", query=ERRORS, include_ongoing=False)
    counting = PostHogRecordingsSensor(task_id="w2", query=ERRORS)
    assert ignoring.poke({}).is_done is False and counting.poke({}).is_done is True


def test_throttling_while_waiting_is_not_a_failure(posthog_conn: Any, monkeypatch: Any) -> None:
    posthog_conn.inject("429_detail", times=50, seconds=1)
    sensor = PostHogRecordingsSensor(task_id="w", query=ERRORS)
    assert sensor.poke({}).is_done is False


def test_auth_errors_fail_the_sensor(posthog_conn: Any, monkeypatch: Any) -> None:
    posthog_conn.add_api_key("phx_no_scopes", scopes=[])
    from tests.helpers import connection_json

    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT",
        connection_json(posthog_conn).replace(posthog_conn.api_key, "phx_no_scopes"),
    )
    with pytest.raises(PostHogError, match="session_recording:read"):
        PostHogRecordingsSensor(task_id="w", query=ERRORS).poke({})


def test_non_deferrable_execute_returns_ids(posthog_conn: Any) -> None:
    rid = _recent(posthog_conn, errors=1)
    sensor = PostHogRecordingsSensor(task_id="w", query=ERRORS, deferrable=False, timeout=5)
    assert sensor.execute({}) == [rid]


def test_deferrable_returns_at_once_when_already_done(posthog_conn: Any) -> None:
    rid = _recent(posthog_conn, errors=1)
    sensor = PostHogRecordingsSensor(task_id="w", query=ERRORS, deferrable=True)
    assert sensor.execute({}) == [rid]


def test_deferrable_defers_with_a_serialisable_trigger(posthog_conn: Any) -> None:
    sensor = PostHogRecordingsSensor(
        task_id="w", query=ERRORS, deferrable=True, poke_interval=30, timeout=600, min_count=3
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, PostHogRecordingsTrigger)
    assert deferred.value.method_name == "execute_complete"
    # The trigger's own deadline ends the wait; Airflow's deferral timeout is the backstop.
    assert deferred.value.timeout == timedelta(seconds=660)
    path, kwargs = trigger.serialize()
    module = "airflow_provider_posthog_recordings.triggers.recordings_trigger"
    assert path == f"{module}.PostHogRecordingsTrigger"
    assert kwargs["min_count"] == 3 and kwargs["poll_interval"] == 30.0
    assert time.time() + 590 < kwargs["end_time"] <= time.time() + 600
    assert kwargs["query"]["console_log_filters"] == ERRORS["console_log_filters"]
    rebuilt = PostHogRecordingsTrigger(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)


def test_execute_complete_returns_ids_or_fails(posthog_conn: Any) -> None:
    sensor = PostHogRecordingsSensor(task_id="w", query=ERRORS)
    event = {"status": "success", "recording_ids": ["a", "b"], "count": 2}
    assert sensor.execute_complete({}, event) == ["a", "b"]
    with pytest.raises(PostHogError, match="boom"):
        sensor.execute_complete({}, {"status": "error", "message": "boom"})
    with pytest.raises(AirflowSensorTimeout, match="timed out"):
        sensor.execute_complete({}, {"status": "timeout", "message": "timed out: none"})


@pytest.mark.asyncio
async def test_trigger_yields_success_when_recordings_arrive(posthog_conn: Any) -> None:
    trigger = PostHogRecordingsTrigger("posthog_default", ERRORS, min_count=1, poll_interval=0.05)
    task = asyncio.ensure_future(trigger.run().__anext__())
    await asyncio.sleep(0.3)
    assert not task.done()
    rid = _recent(posthog_conn, errors=2)
    event = await asyncio.wait_for(task, timeout=10)
    assert event.payload == {
        "status": "success",
        "recording_ids": [rid],
        "count": 1,
        "more": False,
    }


@pytest.mark.asyncio
async def test_trigger_does_not_block_the_event_loop(posthog_conn: Any) -> None:
    posthog_conn.inject("slow", seconds=0.5)
    _recent(posthog_conn, errors=2)
    trigger = PostHogRecordingsTrigger("posthog_default", ERRORS, poll_interval=0.05)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.ensure_future(ticker())
    event = await asyncio.wait_for(trigger.run().__anext__(), timeout=10)
    ticking.cancel()
    assert event.payload["status"] == "success"
    # The loop kept running during the 0.5 s request (blocked, it would not tick at all; the
    # bound is low because the system tier may load both cores meanwhile).
    assert ticks >= 5


@pytest.mark.asyncio
async def test_trigger_reports_errors(posthog_conn: Any, monkeypatch: Any) -> None:
    trigger = PostHogRecordingsTrigger("posthog_default", {"date_form": "-1d"})
    event = await asyncio.wait_for(trigger.run().__anext__(), timeout=10)
    assert event.payload["status"] == "error" and "date_form" in event.payload["message"]


@pytest.mark.asyncio
async def test_trigger_gives_up_at_its_deadline(posthog_conn: Any) -> None:
    """Even where nobody enforces the deferral's timeout, the wait ends."""
    trigger = PostHogRecordingsTrigger(
        "posthog_default", ERRORS, poll_interval=30, end_time=time.time() + 0.5
    )
    started = time.monotonic()
    event = await asyncio.wait_for(trigger.run().__anext__(), timeout=10)
    assert time.monotonic() - started < 5  # the 30 s poll interval was cut to the deadline
    assert event.payload["status"] == "timeout"
    assert "timed out" in event.payload["message"]
    assert posthog_conn.request_count == 2  # one poll, then a last one at the deadline


@pytest.mark.asyncio
async def test_the_trigger_log_names_its_window_and_deadline(
    posthog_conn: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person reading the triggerer's log sees what is waited for, and until when."""
    end_time = time.time() + 0.5
    trigger = PostHogRecordingsTrigger(
        "posthog_default",
        {**ERRORS, "date_from": "2026-12-07T06:00:00Z"},
        poll_interval=900,
        end_time=end_time,
    )
    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(trigger.run().__anext__(), timeout=10)
    deadline = datetime.fromtimestamp(end_time, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    logged = caplog.text + capsys.readouterr().out
    line = next(line for line in logged.splitlines() if "needed" in line)
    assert "0 matching recordings found, 1 needed" in line
    assert "window 2026-12-07 06:00 UTC to now" in line
    assert f"gives up at {deadline} (in " in line and "next poll in 15 min" in line


def test_the_deferring_sensor_logs_its_window_and_deadline(
    posthog_conn: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    sensor = PostHogRecordingsSensor(
        task_id="w", query=ERRORS, deferrable=True, poke_interval=900, timeout=12 * 3600
    )
    with caplog.at_level(logging.INFO), pytest.raises(TaskDeferred):
        sensor.execute({})
    logged = caplog.text + capsys.readouterr().out
    assert "in the window -1d to now" in logged
    assert "Waiting in the triggerer for 1 matching recordings (window -1d to now)" in logged
    assert "(in 12 h)" in logged and "polling every 15 min" in logged


def test_init_only_assigns_the_arguments() -> None:
    """Templates render after __init__: nothing is checked or converted there."""
    query = RecordingsQuery(date_from="-1d")
    sensor = PostHogRecordingsSensor(
        task_id="w", query=query, min_count="{{ params.n }}", max_ids=-1
    )
    assert sensor.query is query and sensor.min_count == "{{ params.n }}"
    assert sensor.template_fields_renderers == {"query": "json"}
    sensor.min_count = "1"  # as rendered
    with pytest.raises(PostHogError, match="max_ids must be 0 or more"):
        sensor.poke({})


@pytest.mark.parametrize(
    ("min_count", "match"),
    [("0", "min_count must be 1 or more"), ("many", "min_count must be a whole number")],
)
def test_rendered_min_count_is_checked_when_poking(
    posthog_conn: Any, min_count: str, match: str
) -> None:
    sensor = PostHogRecordingsSensor(task_id="w", query=ERRORS, min_count=min_count)
    with pytest.raises(PostHogError, match=match):
        sensor.poke({})
    assert posthog_conn.request_count == 0


def test_rendered_min_count_text_is_used(posthog_conn: Any) -> None:
    _recent(posthog_conn, errors=1)
    assert (
        PostHogRecordingsSensor(task_id="w", query=ERRORS, min_count="2").poke({}).is_done is False
    )


def test_config_errors_are_the_package_error() -> None:
    from airflow_provider_posthog_recordings.jobs.waiting import RecordingsCheck

    with pytest.raises(PostHogConfigError, match="min_count must be 1 or more"):
        RecordingsCheck(ERRORS, min_count=0)


def test_the_log_gives_the_real_match_count(posthog_conn: Any, caplog: Any, capsys: Any) -> None:
    """Airflow 2 logs through ``logging``, Airflow 3 through structlog to stdout."""
    for _ in range(151):
        _recent(posthog_conn, errors=1)
    sensor = PostHogRecordingsSensor(task_id="w", query=ERRORS, max_ids=100)
    with caplog.at_level(logging.INFO):
        result = sensor.poke({})
    assert result.is_done and len(result.xcom_value) == 100
    assert (
        "more than 100 matching recordings found (need 1)" in caplog.text + capsys.readouterr().out
    )
    caplog.clear()
    with caplog.at_level(logging.INFO):
        PostHogRecordingsSensor(task_id="w2", query=ERRORS, max_ids=200).poke({})
    logged = caplog.text + capsys.readouterr().out
    assert "151 matching recordings found (need 1)" in logged and "more than" not in logged


def test_the_timeout_message_names_the_timeout_and_the_query(posthog_conn: Any) -> None:
    """Deferred or not, a timed-out sensor says how long it waited and for what."""
    sensor = PostHogRecordingsSensor(
        task_id="w", query=ERRORS, deferrable=False, timeout=1, poke_interval=0.2, mode="poke"
    )
    with pytest.raises(AirflowSensorTimeout) as timed_out:
        sensor.execute({})
    message = str(timed_out.value)
    assert "after 1 s (timeout=1 s)" in message and "console_log_filters" in message
    trigger = PostHogRecordingsTrigger(
        "posthog_default", {"date_from": "-1d"}, timeout=43200, end_time=time.time()
    )
    event = asyncio.run(trigger.run().__anext__())
    assert event.payload["status"] == "timeout"
    assert "after 12 h (timeout=43200 s)" in event.payload["message"]
    assert "{'date_from': '-1d'}" in event.payload["message"]
