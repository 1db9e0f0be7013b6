"""Helpers shared by the tests (fixtures are in tests/conftest.py)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from posthog_recordings_emulator import PostHogEmulator

from airflow_provider_posthog_recordings.jobs import archive
from airflow_provider_posthog_recordings.jobs.playback import load_problems


def connection_json(emulator: PostHogEmulator, **extra: Any) -> str:
    """The AIRFLOW_CONN_... value for an emulator."""
    return json.dumps(
        {
            "conn_type": "posthog",
            "host": emulator.url,
            "password": emulator.api_key,
            "extra": {"project_id": emulator.project_id, **extra},
        }
    )


def check_archive(server: Any, root: Path, rid: str) -> dict[str, Any]:
    """The archive of ``rid`` holds the emulator's events, event by event, and loads."""
    back = archive.read_archive(root, rid)
    expected = [json.loads(line) for line in server.snapshot_lines(rid)]
    assert back["events"] == expected
    assert back["manifest"]["lines"] == len(expected)
    info = server.snapshot_info(rid)
    if info["mobile"]:
        assert back["playback"] is None and back["manifest"]["mobile"] is True
    else:
        assert load_problems(back["playback"], len(expected)) == []
        assert back["playback"]["data"]["id"] == rid
    assert back["metadata"]["recording"]["id"] == rid
    assert "expiry_time" in back["metadata"]["recording"]
    return back


def deferred_run(op: Any, context: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Run an operator as Airflow would: each deferral waits its trigger out, then resumes."""
    legs = 0
    from airflow.providers.common.compat.sdk import TaskDeferred

    from airflow_provider_posthog_recordings.triggers.budget_wait_trigger import (
        PostHogBudgetWaitTrigger,
    )

    try:
        return op.execute(context), legs
    except TaskDeferred as deferred:
        pending = deferred
    while True:
        legs += 1
        trigger = pending.trigger
        assert isinstance(trigger, PostHogBudgetWaitTrigger)
        assert json.dumps(trigger.serialize()[1])  # what the triggerer stores
        assert json.dumps(pending.kwargs)  # the state travels through the database
        wait = (
            datetime.fromisoformat(trigger.resume_at) - datetime.now(timezone.utc)
        ).total_seconds()
        assert wait <= 5
        time.sleep(max(0.0, wait))  # the triggerer's wait (the key's minute is 3 s here)
        try:
            method = getattr(op, pending.method_name)
            return method(context, event={"status": "resume"}, **(pending.kwargs or {})), legs
        except TaskDeferred as again:
            pending = again
