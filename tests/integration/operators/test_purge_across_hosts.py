"""The purge operator across hosts and tries: a local path refused on executors that spread a
task over hosts (before any request), and a retried try that carries on its run (the first
try's plan, cutoff and record; the run's totals in the manifest). On the Cloud profile."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.http import key_budget
from airflow_provider_posthog_recordings.jobs.deletion import read_deletion_record
from airflow_provider_posthog_recordings.operators import (
    PostHogDeleteRecordingsOperator,
    PostHogPurgeRecordingsOperator,
    budgeted,
)
from tests.helpers import connection_json, deferred_run

DAY = timedelta(days=1)
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
RUN_ID = "scheduled__2026-03-01T00:00:00+00:00"


class FakeTaskInstance:
    """What the operator reads of a task instance: its keys and its try number."""

    def __init__(self, try_number: int) -> None:
        self.dag_id = "retention"
        self.task_id = "purge"
        self.map_index = -1
        self.try_number = try_number
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = json.loads(json.dumps(value))

    def xcom_pull(self, task_ids: str, key: str, map_indexes: Any = None) -> Any:
        return self.xcoms.get(key)


def context(try_number: int, reference: datetime = START) -> dict[str, Any]:
    return {"data_interval_end": reference, "run_id": RUN_ID, "ti": FakeTaskInstance(try_number)}


@pytest.mark.parametrize(
    ("executor", "arguments"),
    [
        ("CeleryExecutor", {"deletion_record_path": "{tmp}/record"}),
        ("LocalExecutor,CeleryExecutor", {"plan_path": "file://{tmp}/plans"}),
        ("KubernetesExecutor", {"archive_path": "{tmp}/archive"}),
        ("LocalExecutor", {"executor": "CeleryExecutor", "plan_path": "{tmp}/plans"}),
    ],
)
def test_a_local_path_is_refused_before_any_request_where_tries_can_move(
    cloud_conn: Any, monkeypatch: Any, tmp_path: Path, executor: str, arguments: dict[str, str]
) -> None:
    server = cloud_conn
    server.seed_recordings(20, days=40, seed=3, end=START)
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    given = {name: value.format(tmp=tmp_path) for name, value in arguments.items()}
    op = PostHogPurgeRecordingsOperator(task_id="purge", older_than_days=10, **given)
    with pytest.raises(PostHogConfigError, match="another worker, which cannot read it") as error:
        op.execute(context(1))
    assert "s3://" in str(error.value) and "shared_storage=True" in str(error.value)
    assert server.request_count == 0 and not server.deleted_ids
    assert not list(tmp_path.iterdir())  # nothing written either
    erase = PostHogDeleteRecordingsOperator(
        task_id="erase", recording_ids=["x"], deletion_record_path=str(tmp_path / "record")
    )
    if "executor" not in arguments:
        with pytest.raises(PostHogConfigError, match="cannot read it"):
            erase.execute(context(1))
        assert server.request_count == 0


@pytest.mark.parametrize("declared", ["argument", "connection", "local executor"])
def test_a_declared_shared_mount_or_a_local_executor_keeps_local_paths(
    cloud_conn: Any, monkeypatch: Any, tmp_path: Path, declared: str
) -> None:
    server = cloud_conn
    server.seed_recordings(20, days=40, seed=3, end=START)
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    arguments: dict[str, Any] = {"deletion_record_path": str(tmp_path / "record")}
    if declared == "argument":
        arguments["shared_storage"] = True
    elif declared == "connection":
        conn = json.loads(connection_json(server))
        conn["extra"] = {**conn.get("extra", {}), "shared_storage": True}
        monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(conn))
    else:
        arguments["executor"] = "LocalExecutor"
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor,CeleryExecutor")
    op = PostHogPurgeRecordingsOperator(
        task_id="purge", older_than_days=10, max_deletions=None, **arguments
    )
    manifest = op.execute(context(1))
    assert manifest["deleted"] == len(server.deleted_ids) > 0


@pytest.fixture
def fast_windows(mocker: Any) -> None:
    """The key's minute is 3 s here: budget waits and deferrals stay short."""
    mocker.patch.object(key_budget, "WINDOW_SECONDS", 3.0)
    mocker.patch.object(budgeted, "MIN_DEFERRAL_SECONDS", 0.0)


@pytest.mark.usefixtures("fast_windows")
def test_a_retried_try_carries_on_the_run_with_the_first_try_s_cutoff_and_totals(
    emulator_factory: Any, monkeypatch: Any, no_sleep: Any, tmp_path: Path
) -> None:
    server = emulator_factory(profile="cloud", rate_limits=False, clock=lambda: START)
    server.seed_recordings(60, days=40, seed=45, end=START)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, requests_per_minute=25)
    )
    arguments: dict[str, Any] = {
        "task_id": "purge",
        "older_than_days": 10,
        "max_deletions": 500,
        "deferrable": True,
        "max_wait_in_worker": 0.5,
        "deletion_record_path": str(tmp_path / "record"),
    }
    first_cutoff = START - 10 * DAY
    with pytest.raises(TaskDeferred):  # try 1 deletes some, defers ... and its worker dies
        PostHogPurgeRecordingsOperator(**arguments).execute(context(1))
    by_try_1 = set(server.deleted_ids)
    assert by_try_1
    # Try 2 (a new process; here, a context whose reference moved on by 5 days).
    manifest, _ = deferred_run(
        PostHogPurgeRecordingsOperator(**arguments), context(2, START + 5 * DAY)
    )
    assert manifest["cutoff"] == first_cutoff.isoformat()
    assert manifest["continued"] is True
    deleted = server.deleted_ids
    for rid in server.recording_ids():  # nothing younger than the first try's cutoff went
        start = datetime.fromisoformat(server.recording(rid)["start_time"].replace("Z", "+00:00"))
        assert start >= first_cutoff or server.recording(rid).get("ongoing")
    assert manifest["deleted"] == manifest["run_totals"]["deleted"] == len(deleted)
    assert manifest["this_try"]["deleted"] == len(deleted - by_try_1) < len(deleted)
    assert manifest["already_gone"] == 0  # try 1's deletions are not counted again as gone
    assert manifest["run_totals_from"].endswith(RUN_ID.replace(":", "_"))
    lines = read_deletion_record(tmp_path / "record", RUN_ID)
    ids = [line["recording_id"] for line in lines]
    assert len(ids) == len(set(ids)) and set(ids) == deleted
    assert {line["task"] for line in lines} == {"retention/purge"}
    assert len({line["cutoff"] for line in lines}) == 1


@pytest.mark.usefixtures("fast_windows")
def test_a_resumed_leg_that_cannot_read_its_plan_says_where_it_was_written(
    emulator_factory: Any, monkeypatch: Any, no_sleep: Any, tmp_path: Path
) -> None:
    server = emulator_factory(profile="cloud", rate_limits=False, clock=lambda: START)
    server.seed_recordings(60, days=40, seed=46, end=START)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, requests_per_minute=25)
    )
    op = PostHogPurgeRecordingsOperator(
        task_id="purge",
        older_than_days=10,
        max_deletions=500,
        deferrable=True,
        max_wait_in_worker=0.5,
        plan_path=str(tmp_path / "plans"),
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context(1))
    deleted = set(server.deleted_ids)
    # The next leg lands on a host that does not have the first one's disk.
    for path in sorted((tmp_path / "plans").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    with pytest.raises(PostHogConfigError) as error:
        op.execute_resume(context(1), **(deferred.value.kwargs or {}))
    message = str(error.value)
    assert f"written at {tmp_path / 'plans'}" in message and "by an earlier leg" in message
    assert "not readable here" in message and "another host" in message
    assert "s3://" in message and "report-only" not in message
    assert server.deleted_ids == deleted  # nothing more was deleted
