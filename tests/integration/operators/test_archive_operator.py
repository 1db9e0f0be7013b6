"""The archive operator and the purge's archive_path, as Airflow runs them (Cloud profile)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.client.http import key_budget
from airflow_provider_posthog_recordings.jobs.archive import read_archive, verified_entry
from airflow_provider_posthog_recordings.jobs.deletion import read_deletion_record
from airflow_provider_posthog_recordings.jobs.playback import load_problems
from airflow_provider_posthog_recordings.operators import (
    PostHogArchiveRecordingsOperator,
    PostHogPurgeRecordingsOperator,
    budgeted,
)
from tests.helpers import connection_json, deferred_run

START = datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.fixture
def server(emulator_factory: Any, monkeypatch: Any, no_sleep: Any) -> Any:
    """Cloud, its snapshots budget off (the deferral tests set a client-side one)."""
    emulator = emulator_factory(
        profile="cloud", snapshot_plan="none", rate_limits=False, clock=lambda: START
    )
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(emulator))
    return emulator


def _same_events(server: Any, root: Path, rid: str) -> None:
    back = read_archive(root, rid)
    assert back["events"] == [json.loads(line) for line in server.snapshot_lines(rid)]
    if back["playback"] is not None:
        assert load_problems(back["playback"], len(back["events"])) == []


def test_archive_by_query(server: Any, tmp_path: Path) -> None:
    ids = server.seed_recordings(8, days=5, seed=31, end=START)
    op = PostHogArchiveRecordingsOperator(
        task_id="archive",
        archive_path=str(tmp_path),
        query={"date_from": "-7d"},
    )
    manifest = op.execute({})
    assert manifest["archived"] == 8 and sorted(manifest["archived_ids"]) == sorted(ids)
    for rid in ids:
        _same_events(server, tmp_path, rid)


def test_a_recording_not_archived_fails_the_task_after_the_others(
    server: Any, tmp_path: Path
) -> None:
    ids = server.seed_recordings(4, days=5, seed=32, end=START)
    server.empty_snapshot_sources(ids[1], times=1)
    op = PostHogArchiveRecordingsOperator(
        task_id="archive", archive_path=str(tmp_path), recording_ids=ids
    )
    with pytest.raises(PostHogError, match="1 recordings could not be archived"):
        op.execute({})
    assert [verified_entry(tmp_path, rid) is not None for rid in ids] == [True, False, True, True]
    server.reset_requests()
    assert op.execute({})["archived"] == 1  # the rerun archives only the missing one


@pytest.fixture
def fast_windows(mocker: Any) -> None:
    """The client's minute is 3 s here (a clock, scaled down)."""
    mocker.patch.object(key_budget, "WINDOW_SECONDS", 3.0)
    mocker.patch.object(budgeted, "MIN_DEFERRAL_SECONDS", 0.0)  # no scheduler here


@pytest.mark.usefixtures("fast_windows")
def test_the_archive_operator_defers_and_resumes(
    server: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    ids = server.seed_recordings(6, days=5, seed=33, end=START)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, snapshot_requests_per_minute=5)
    )
    op = PostHogArchiveRecordingsOperator(
        task_id="archive",
        archive_path=str(tmp_path),
        recording_ids=ids,
        deferrable=True,
        max_wait_in_worker=0.5,
    )
    manifest, legs = deferred_run(op, {})
    assert legs >= 1 and manifest["legs"] == legs + 1
    assert manifest["archived"] == 6 and manifest["already_archived"] == 0
    for rid in ids:
        _same_events(server, tmp_path, rid)


@pytest.mark.usefixtures("fast_windows")
def test_the_purge_archives_first_across_deferrals(
    server: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    ids = server.seed_recordings(10, days=20, seed=34, end=START - timedelta(days=12))
    broken = next(r for r in ids if server.snapshot_info(r)["blocks"] >= 2)
    server.fail_snapshot_blocks(broken, [0, 1], times=-1)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, snapshot_requests_per_minute=6)
    )
    op = PostHogPurgeRecordingsOperator(
        task_id="purge",
        older_than_days=10,
        max_deletions=100,
        archive_path=str(tmp_path / "archive"),
        deletion_record_path=str(tmp_path / "record"),
        deferrable=True,
        max_wait_in_worker=0.5,
    )
    context = {"data_interval_end": START, "run_id": "manual__archive"}
    manifest, legs = deferred_run(op, context)
    assert legs >= 1
    assert server.recording_ids() == {broken}
    assert manifest["deleted"] == 9 and manifest["archived"] == 9
    assert manifest["archive_failed"] == 1 and list(manifest["archive_failed_ids"]) == [broken]
    for rid in server.deleted_ids:
        _same_events(server, tmp_path / "archive", rid)
    record = read_deletion_record(tmp_path / "record", "manual__archive")
    assert {Path(line["archive"]).name for line in record} == server.deleted_ids
