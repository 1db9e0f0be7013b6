"""Purges that live with PostHog's budget: per-run budget and backlog, deferral and resume,
the durable deletion record. On the Cloud profile (bulk deletes refused to the key)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.client.http import key_budget
from airflow_provider_posthog_recordings.jobs.deletion import read_deletion_record
from airflow_provider_posthog_recordings.operators import (
    PostHogDeleteRecordingsOperator,
    PostHogPurgeRecordingsOperator,
    budgeted,
)
from airflow_provider_posthog_recordings.triggers.budget_wait_trigger import (
    PostHogBudgetWaitTrigger,
)
from tests.helpers import connection_json, deferred_run

DAY = timedelta(days=1)
START = datetime(2026, 3, 1, tzinfo=timezone.utc)


def _old_by_age(server: Any, cutoff: datetime, keep: set[str]) -> list[str]:
    """Recordings the policy deletes, oldest first (computed from the emulator's data)."""
    rows = []
    for rid in server.recording_ids() - keep:
        rec = server.recording(rid)
        start = datetime.fromisoformat(rec["start_time"].replace("Z", "+00:00"))
        if start < cutoff and not rec.get("ongoing"):
            rows.append((start, rid))
    return [rid for _, rid in sorted(rows)]


def _deletes(server: Any) -> list[str]:
    return [r.path.rstrip("/").rsplit("/", 1)[1] for r in server.requests if r.method == "DELETE"]


def test_three_daily_runs_with_a_budget_delete_the_backlog_oldest_first(
    cloud_conn: Any,
) -> None:
    server = cloud_conn
    server.seed_recordings(260, days=40, seed=41, end=START)
    protected = sorted(server.recording_ids())[:12]
    server.create_playlist("Legal hold", pinned=True, recording_ids=protected)
    deleted_so_far: list[str] = []
    manifests = []
    for day in range(3):
        reference = START + day * DAY
        cutoff = reference - 10 * DAY
        expected = _old_by_age(server, cutoff, set(protected))[:50]
        server.reset_requests()
        op = PostHogPurgeRecordingsOperator(
            task_id="purge", older_than_days=10, max_deletions=500, max_deletions_per_run=50
        )
        manifest = op.execute({"data_interval_end": reference})
        manifests.append(manifest)
        this_run = _deletes(server)
        assert set(this_run) == set(expected)  # the oldest 50 the policy allows, no other
        assert manifest["deleted"] == 50 and manifest["already_gone"] == 0
        assert not set(this_run) & set(deleted_so_far)  # none deleted or reported twice
        deleted_so_far += this_run
    assert [m["backlog"] for m in manifests] == [
        m["candidates"] - 50 for m in manifests
    ] and manifests[0]["backlog"] > 50
    assert manifests[2]["candidates"] < manifests[1]["candidates"] < manifests[0]["candidates"]
    assert server.deleted_ids == set(deleted_so_far)
    assert set(protected) <= server.recording_ids()
    assert sum(server.throttles.values()) == 0


@pytest.fixture
def fast_windows(mocker: Any) -> None:
    """The key's minute is 3 s here (a clock, scaled down): budget waits stay short, and so
    do deferrals (no 15 s floor: no scheduler here to race with)."""
    mocker.patch.object(key_budget, "WINDOW_SECONDS", 3.0)
    mocker.patch.object(budgeted, "MIN_DEFERRAL_SECONDS", 0.0)


@pytest.mark.usefixtures("fast_windows")
def test_a_deferred_purge_resumes_and_matches_an_uninterrupted_run(
    emulator_factory: Any, monkeypatch: Any, no_sleep: Any
) -> None:
    manifests = {}
    for budget in (None, 25):
        server = emulator_factory(profile="cloud", rate_limits=False, clock=lambda: START)
        server.seed_recordings(70, days=40, seed=43, end=START)
        hold = sorted(server.recording_ids())[:7]
        server.create_playlist("Legal hold", pinned=True, recording_ids=hold)
        extra = {} if budget is None else {"requests_per_minute": budget}
        monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, **extra))
        op = PostHogPurgeRecordingsOperator(
            task_id="purge",
            older_than_days=10,
            max_deletions=500,
            deferrable=True,
            max_wait_in_worker=0.5,
            posthog_conn_id="posthog_default",
        )
        manifest, legs = deferred_run(op, {"data_interval_end": START})
        assert (legs >= 1) == (budget is not None)
        assert manifest["legs"] == legs + 1
        assert manifest["deleted"] == len(server.deleted_ids) == len(_deletes(server))
        manifests[budget] = manifest
    first, deferred = manifests[None], manifests[25]
    for manifest in (first, deferred):
        manifest.pop("requests")
        manifest.pop("legs")
        # Which ids of a group go before a pause depends on when each got its turn: the same
        # ids, maybe not in the same order.
        manifest["deleted_ids"] = sorted(manifest["deleted_ids"])
    assert deferred == first


def test_the_deletion_record_lists_exactly_what_was_deleted(
    cloud_conn: Any, tmp_path: Path
) -> None:
    server = cloud_conn
    server.seed_recordings(90, days=40, seed=44, end=START)
    server.inject("recording_api_failure", times=4, method="DELETE", skip=20)
    op = PostHogPurgeRecordingsOperator(
        task_id="purge",
        older_than_days=10,
        max_deletions=500,
        deletion_record_path=str(tmp_path / "record"),
    )
    context = {"data_interval_end": START, "run_id": "scheduled__2026-03-01T00:00:00+00:00"}
    with pytest.raises(PostHogError, match="4 recordings could not be deleted"):
        op.execute(context)  # a run that fails half-way ...
    lines = read_deletion_record(tmp_path / "record", context["run_id"])
    # ... leaves a record of exactly what it did delete.
    assert sorted(line["recording_id"] for line in lines) == sorted(server.deleted_ids)
    assert len(lines) == len(server.deleted_ids) > 0
    assert {line["outcome"] for line in lines} == {"deleted"}
    assert {line["run_id"] for line in lines} == {context["run_id"]}
    assert {line["cutoff"] for line in lines} == {(START - 10 * DAY).isoformat()}
    assert lines[0]["policy"]["older_than_days"] == 10

    again = op.execute(context)  # the rerun deletes the 4 and adds them to the record
    lines = read_deletion_record(tmp_path / "record", context["run_id"])
    # This try deleted the 4; the run (both executions, one record) deleted them all.
    assert again["this_try"]["deleted"] == 4
    assert again["deleted"] == again["run_totals"]["deleted"] == len(server.deleted_ids)
    assert sorted(line["recording_id"] for line in lines) == sorted(server.deleted_ids)


def test_erasure_writes_the_record_too(cloud_conn: Any, tmp_path: Path) -> None:
    server = cloud_conn
    theirs = [server.add_recording(distinct_id="user-7")["id"] for _ in range(3)]
    op = PostHogDeleteRecordingsOperator(
        task_id="erase", distinct_ids=["user-7"], deletion_record_path=str(tmp_path)
    )
    manifest = op.execute({"run_id": "manual__1"})
    assert manifest["deleted"] == 3 and manifest["remaining"] == 0
    lines = read_deletion_record(tmp_path, "manual__1")
    assert sorted(line["recording_id"] for line in lines) == sorted(theirs)
    assert lines[0]["policy"]["distinct_ids"] == ["user-7"]


@pytest.mark.asyncio
async def test_the_budget_trigger_waits_then_hands_the_state_back() -> None:
    resume_at = (datetime.now(timezone.utc) + timedelta(seconds=0.2)).isoformat()
    trigger = PostHogBudgetWaitTrigger(resume_at=resume_at, state={"leg": 2})
    path, kwargs = trigger.serialize()
    assert path.endswith("budget_wait_trigger.PostHogBudgetWaitTrigger")
    assert kwargs == {"resume_at": resume_at, "state": {"leg": 2}}
    started = time.monotonic()
    event = await trigger.run().asend(None)
    assert time.monotonic() - started >= 0.15
    assert event.payload == {"status": "resume", "resume_at": resume_at, "state": {"leg": 2}}


def test_a_deferral_lasts_at_least_the_floor(
    emulator_factory: Any, monkeypatch: Any, no_sleep: Any, mocker: Any
) -> None:
    """A wait of a second still defers for 15 s: on Airflow 3 a task queued again before the
    executor reported the exit of the process that deferred is failed by the scheduler."""
    mocker.patch.object(key_budget, "WINDOW_SECONDS", 3.0)
    server = emulator_factory(profile="cloud", rate_limits=False, clock=lambda: START)
    server.seed_recordings(30, days=40, seed=50, end=START)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, requests_per_minute=10)
    )
    op = PostHogPurgeRecordingsOperator(
        task_id="purge", older_than_days=10, deferrable=True, max_wait_in_worker=0.5
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({"data_interval_end": START})
    resume_at = datetime.fromisoformat(deferred.value.trigger.resume_at)
    wait = (resume_at - datetime.now(timezone.utc)).total_seconds()
    assert budgeted.MIN_DEFERRAL_SECONDS == 15.0
    assert 14 < wait <= 15


def test_resume_without_state_fails_clearly(cloud_conn: Any) -> None:
    op = PostHogPurgeRecordingsOperator(task_id="purge", older_than_days=10)
    with pytest.raises(PostHogError, match="without the state"):
        op.execute_resume({}, event={"status": "resume"})
    assert cloud_conn.request_count == 0


class _DagRun:
    """What Airflow 3 puts in a manual run's context: no data interval, a fixed run_after."""

    def __init__(self, run_after: datetime, run_type: str = "manual") -> None:
        self.run_after = run_after
        self.run_type = run_type
        self.data_interval_end = None
        self.logical_date = None


def test_a_manual_run_takes_its_reference_from_run_after() -> None:
    from airflow_provider_posthog_recordings.operators.base import run_reference_time

    run_after = datetime(2026, 3, 4, 5, 6, tzinfo=timezone.utc)
    manual = {"data_interval_end": None, "logical_date": None, "dag_run": _DagRun(run_after)}
    assert run_reference_time(manual) == run_after
    scheduled = _DagRun(run_after, run_type="scheduled")
    assert run_reference_time({"data_interval_end": START, "dag_run": scheduled}) == START


def test_a_manual_run_from_the_ui_is_taken_when_triggered_not_at_its_inferred_interval() -> None:
    """Airflow 3's UI gives a manual run a logical date, so the last completed interval."""
    from airflow_provider_posthog_recordings.operators.base import run_reference_time

    triggered = datetime(2026, 12, 8, 9, 30, tzinfo=timezone.utc)
    inferred_end = datetime(2026, 12, 8, 6, 0, tzinfo=timezone.utc)
    from_the_ui = {
        "data_interval_end": inferred_end,
        "logical_date": triggered,
        "dag_run": _DagRun(triggered),
    }
    assert run_reference_time(from_the_ui) == triggered
    # Airflow 2.11: no run_after; a manual run's logical date is when it was triggered.
    airflow2 = _DagRun(triggered)
    del airflow2.run_after
    manual2 = {"data_interval_end": inferred_end, "logical_date": triggered, "dag_run": airflow2}
    assert run_reference_time(manual2) == triggered


@pytest.mark.usefixtures("fast_windows")
def test_resumed_legs_keep_the_first_legs_cutoff(
    emulator_factory: Any, monkeypatch: Any, no_sleep: Any, tmp_path: Path
) -> None:
    """The drift seen on a real deployment: each resumed leg read a later 'now'.

    Every leg here is given a context two days later than the leg before (as a clock read per
    leg gave on a long manual purge). Between legs someone else deletes planned candidates,
    and recordings are planted just after the first cutoff: none of them may be deleted, and
    every part of the deletion record carries the one cutoff the manifest reports.
    """
    server = emulator_factory(profile="cloud", rate_limits=False, clock=lambda: START)
    server.seed_recordings(80, days=40, seed=47, end=START)
    cutoff = START - 10 * DAY
    planted = [
        server.add_recording(start_time=cutoff + timedelta(hours=h), end_time=None)["id"]
        for h in (0, 1, 5, 20)
    ]
    young = set(planted) | {rid for rid in server.recording_ids() if _start(server, rid) >= cutoff}
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, requests_per_minute=12)
    )
    op = PostHogPurgeRecordingsOperator(
        task_id="purge",
        older_than_days=10,
        max_deletions=500,
        deferrable=True,
        max_wait_in_worker=0.5,
        deletion_record_path=str(tmp_path),
    )
    context: dict[str, Any] = {"data_interval_end": START, "run_id": "manual__drift"}
    legs = 0
    try:
        manifest = op.execute(context)
    except TaskDeferred as first:
        pending = first
        while True:
            legs += 1
            # Someone else deletes two planned candidates; more young recordings appear.
            for rid in (pending.kwargs or {})["state"].get("pending", [])[-2:]:
                server.delete_recording(rid[0])
            planted.append(server.add_recording(start_time=cutoff + timedelta(minutes=legs))["id"])
            young.add(planted[-1])
            context = {**context, "data_interval_end": START + 2 * legs * DAY}
            time.sleep(3.1)  # the key's (scaled) minute
            try:
                manifest = op.execute_resume(context, event={"status": "resume"}, **pending.kwargs)
                break
            except TaskDeferred as again:
                pending = again
    assert legs >= 2
    assert manifest["cutoff"] == cutoff.isoformat()
    deleted_here = set(_deletes(server))
    assert not deleted_here & young, "a leg deleted recordings younger than the cutoff"
    assert all(_start(server, rid) >= cutoff for rid in young if rid in server.recording_ids())
    record = read_deletion_record(tmp_path, "manual__drift")
    assert {line["cutoff"] for line in record} == {cutoff.isoformat()}
    assert {line["recording_id"] for line in record if line["outcome"] == "deleted"} <= (
        deleted_here
    )


def _start(server: Any, rid: str) -> datetime:
    rec = server.recording(rid)
    return datetime.fromisoformat(rec["start_time"].replace("Z", "+00:00"))


# ---------------------------------------------------------------- logs of a long purge


@pytest.mark.usefixtures("fast_windows")
def test_each_leg_logs_progress_legs_left_and_a_finish_time(
    emulator_factory: Any, monkeypatch: Any, no_sleep: Any, caplog: Any, capsys: Any
) -> None:
    """A person following a long purge sees, at each pause: done / planned, the legs left and
    when it should end (from the key's budget), and no 'waiting' line before a deferral."""
    import logging

    server = emulator_factory(profile="cloud", rate_limits=False, clock=lambda: START)
    server.seed_recordings(60, days=40, seed=48, end=START)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, requests_per_minute=15)
    )
    op = PostHogPurgeRecordingsOperator(
        task_id="purge",
        older_than_days=10,
        max_deletions=500,
        deferrable=True,
        max_wait_in_worker=0.5,
    )
    with caplog.at_level(logging.INFO), pytest.raises(TaskDeferred) as deferred:
        op.execute({"data_interval_end": START})
    logged = caplog.text + capsys.readouterr().out
    trigger = deferred.value.trigger
    planned = deferred.value.kwargs["state"]["plan"]["planned"]
    line = next(line for line in logged.splitlines() if "Leg 1: " in line)
    assert f"of {planned} planned deletions done" in line
    assert "more leg(s), done around" in line and "15/minute" in line
    legs_left = int(line.split("requests left at ")[1].split(": ")[1].split(" more")[0])
    assert 2 <= legs_left <= planned
    assert "waiting" not in logged.lower()
    # The trigger's event carries the state for dag.test(), but is logged without it.
    event = _first_event(trigger)
    assert event.payload["state"] == trigger.state
    assert "characters, not shown" in repr(event) and "pending" not in str(event)


def _first_event(trigger: PostHogBudgetWaitTrigger) -> Any:
    import asyncio

    async def first() -> Any:
        return await trigger.run().asend(None)

    return asyncio.run(first())


def test_a_429_that_defers_the_task_logs_no_waiting_line(
    cloud_conn: Any, monkeypatch: Any, caplog: Any, capsys: Any
) -> None:
    """A DELETE's 429 says 40 s, more than the task may wait in its worker: it defers at once,
    and its log says so instead of 'waiting 40 s (retry 1/20)'. (While planning, waits of up
    to 90 s are slept through, and logged as waits.)"""
    import logging

    server = cloud_conn
    server.seed_recordings(5, days=40, seed=49, end=START)
    server.inject("429_detail", seconds=40, method="DELETE")
    op = PostHogPurgeRecordingsOperator(
        task_id="purge", older_than_days=10, max_deletions=500, deferrable=True
    )
    with caplog.at_level(logging.INFO), pytest.raises(TaskDeferred) as deferred:
        op.execute({"data_interval_end": START})
    logged = caplog.text + capsys.readouterr().out
    assert re.search(r"throttled \(429\): the key's budget is back in 4\d s", logged)
    assert "waiting" not in logged.lower() and "retry" not in logged.lower()
    assert re.search(r"Leg 1: 0 of 5 planned deletions done \(0%\); next leg in 4\d s", logged)
    assert len(deferred.value.kwargs["state"]["pending"]) == 5
    assert sum(1 for r in server.requests if r.status == 429) == 1
