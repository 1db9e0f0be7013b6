"""A deferred archive resumed in a new process keeps the plan's snapshots budget (issue 25,
item 4), as Airflow runs the operator: each resumed leg starts with no process-wide budget,
as a task resumed on another worker does."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.http import key_budget
from airflow_provider_posthog_recordings.jobs.archive import verified_entry
from airflow_provider_posthog_recordings.operators import (
    PostHogArchiveRecordingsOperator,
    budgeted,
)
from tests.helpers import connection_json, deferred_run

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
#: The emulator's and the client's minute: 3 s.
SCALE = 0.05


@pytest.fixture
def fast_windows(mocker: Any) -> None:
    """The client's minute is 3 s here (a clock, scaled down); no scheduler to race with."""
    mocker.patch.object(key_budget, "WINDOW_SECONDS", 60.0 * SCALE)
    mocker.patch.object(budgeted, "MIN_DEFERRAL_SECONDS", 0.0)


@pytest.mark.usefixtures("fast_windows")
def test_a_leg_resumed_in_a_new_process_gets_no_429_from_the_snapshots_budget(
    emulator_factory: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    server = emulator_factory(
        profile="cloud",
        snapshot_plan="none",
        snapshot_rate_limit_per_minute=5,
        snapshot_rate_limit_per_hour=10_000,
        window_scale=SCALE,
        clock=lambda: START,
    )
    ids = server.seed_recordings(8, days=5, seed=35, end=START)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, snapshot_requests_per_minute=5)
    )
    op = PostHogArchiveRecordingsOperator(
        task_id="archive",
        archive_path=str(tmp_path),
        recording_ids=ids,
        deferrable=True,
        max_wait_in_worker=0.2,
    )
    resume = op.execute_resume
    new_processes = []

    def in_a_new_process(*args: Any, **kwargs: Any) -> Any:
        key_budget._SHARED.clear()  # the budgets a new worker process starts with
        new_processes.append(1)
        return resume(*args, **kwargs)

    monkeypatch.setattr(op, "execute_resume", in_a_new_process)
    manifest, legs = deferred_run(op, {})
    assert legs >= 2 and len(new_processes) == legs
    assert manifest["archived"] == len(ids)
    assert all(verified_entry(tmp_path, rid) is not None for rid in ids)
    assert dict(server.throttles) == {}
