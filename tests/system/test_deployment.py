"""The provider on a real Airflow deployment: scheduler, triggerer, separate task processes.

What ``dag.test()`` hides, checked on Airflow's own components (:mod:`.deployment`): manual
runs without a data interval (Airflow 3), a task resumed after a deferral in a new process
with only its ``next_kwargs``, a triggerer that reads the connection from the metadata
database and can be restarted, a pool that counts deferred tasks, and a key's budget that
processes started one after another share. The tests run in file order on one deployment;
each starts runs of its own (``airflow dags trigger``) and waits for them.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_posthog_recordings.jobs.deletion import read_deletion_record
from tests.system.conftest import APPROVAL_DAG_ID, EXAMPLE_DAG_IDS
from tests.system.deployment import (
    AIRFLOW_MAJOR,
    Deployment,
    EmulatorProcess,
    log_lines,
    wait_until,
)

pytestmark = pytest.mark.system

#: The first line Airflow writes to a task's log each time a process starts to run it.
START_MARKERS = ("::group::Pre Execute", "::group::Pre task execution logs")
#: How the client logs a 429: retried, deferred, or given up.
THROTTLED = ("was throttled (429)", "answered 429")
SCHEDULED = ("posthog_retention_policy", "posthog_playlist_curation", "posthog_daily_triage")
#: Old recordings the purge scenario plants: about 30 requests, so 3 legs at 12 per window.
POPULATION = 22


def _utc(value: Any) -> datetime | None:
    """A datetime of the metadata database (SQLite text, UTC) as an aware datetime."""
    if value in (None, ""):
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _reference(run: dict[str, Any]) -> datetime:
    """What the provider takes a run's cutoff from: a manual run's logical date (Airflow 2.11,
    the UI's), else its run_after (Airflow 3's CLI runs), never its inferred interval; any
    other run's data_interval_end, else its logical date."""
    manual = ("logical_date", "execution_date", "run_after")
    other = ("data_interval_end", "logical_date", "execution_date", "run_after")
    for column in manual if run.get("run_type") == "manual" else other:
        value = _utc(run.get(column))
        if value is not None:
            return value
    raise AssertionError(f"the run has no reference time: {run}")


def _scheduled_run(deployment: Deployment, dag_id: str, timeout: float = 180) -> dict[str, Any]:
    """The scheduled run the scheduler made when the DAG appeared, once it is finished."""

    def finished() -> dict[str, Any] | None:
        deployment.check_alive()
        runs = [r for r in deployment.dag_runs(dag_id) if r["run_type"] == "scheduled"]
        return runs[0] if runs and runs[0]["state"] in ("success", "failed") else None

    return dict(wait_until(finished, timeout, f"the scheduled run of {dag_id}", interval=0.5))


def _describe(deployment: Deployment, dag_id: str, run_id: str) -> str:
    states = deployment.task_states(dag_id, run_id)
    logs = {
        task_id: deployment.task_log(dag_id, run_id, task_id)[-2500:]
        for task_id, state in states.items()
        if state not in ("success", "skipped")
    }
    details = "\n".join(f"--- {task_id}\n{log}" for task_id, log in logs.items())
    return f"{dag_id} {run_id}: {states}\n{details}"


# ---------------------------------------------------------------- runs started early


@pytest.fixture(scope="module")
def early_runs(deployment: Deployment, posthog_process: EmulatorProcess) -> dict[str, Any]:
    """Manual runs whose order does not matter, triggered at once so that they wait in the
    queue (or in the triggerer) while the scheduled runs work; the tests check them later.

    The triage DAG's manual run is not among them: it must follow the scheduled one, which
    marks the sessions it finds viewed.
    """
    now = datetime.now(timezone.utc)
    person = [
        posthog_process.add({"distinct_id": "system-user-42", "start_time": when.isoformat()})[0][
            "id"
        ]
        for when in (now - timedelta(days=1), now - timedelta(days=45), now - timedelta(days=400))
    ]
    marker = f"sensor-{time.time_ns()}"
    runs: dict[str, tuple[str, dict[str, Any] | None]] = {
        "retention": ("posthog_retention_policy", None),
        "curation": ("posthog_playlist_curation", None),
        "erasure_defaults": ("posthog_gdpr_erasure", None),
        "erasure": ("posthog_gdpr_erasure", {"distinct_id": "system-user-42"}),
        "archive": ("posthog_archive_then_purge", None),
        "sensor_timeout": ("system_sensor_timeout", {"distinct_id": "never-seen"}),
        "sensor_wait": ("system_sensor_wait", {"distinct_id": marker}),
    }
    with ThreadPoolExecutor(max_workers=3) as pool:
        started = dict(
            zip(runs, pool.map(lambda run: deployment.trigger(*run), runs.values()), strict=True)
        )
    return {"run_ids": started, "person": person, "marker": marker}


# ---------------------------------------------------------------- scheduled and manual runs


@pytest.mark.usefixtures("early_runs")
def test_the_scheduled_runs_of_the_example_dags_succeed(deployment: Deployment) -> None:
    """Unpaused at creation, each daily DAG gets its latest scheduled run at once."""
    for dag_id in SCHEDULED:
        run = _scheduled_run(deployment, dag_id)
        assert run["state"] == "success", _describe(deployment, dag_id, run["run_id"])
        assert _utc(run["data_interval_end"]) is not None
    run = _scheduled_run(deployment, "posthog_retention_policy")
    report = deployment.xcom("posthog_retention_policy", run["run_id"], "report")
    expected = _reference(run) - timedelta(days=30)
    assert report["report_only"] is True
    assert _utc(report["cutoff"]) == expected  # a scheduled run: its data interval's end
    triage = _scheduled_run(deployment, "posthog_daily_triage")
    assert deployment.xcom("posthog_daily_triage", triage["run_id"], "report") >= 2


def test_every_example_dag_succeeds_when_triggered_by_hand(
    deployment: Deployment, posthog_process: EmulatorProcess, early_runs: dict[str, Any]
) -> None:
    """``airflow dags trigger`` with the defaults (as the UI's Trigger button): no data
    interval on Airflow 3. The erasure also with a person, as a request would start it."""
    for dag_id in SCHEDULED:  # their scheduled runs first: the triage marks sessions viewed
        _scheduled_run(deployment, dag_id)
    now = datetime.now(timezone.utc)
    [session] = posthog_process.add(
        {"start_time": (now - timedelta(minutes=2)).isoformat(), "console_error_count": 2}
    )
    run_ids = dict(early_runs["run_ids"])
    run_ids["triage"] = deployment.trigger("posthog_daily_triage")
    dags = {
        "retention": "posthog_retention_policy",
        "curation": "posthog_playlist_curation",
        "triage": "posthog_daily_triage",
        "erasure_defaults": "posthog_gdpr_erasure",
        "erasure": "posthog_gdpr_erasure",
        "archive": "posthog_archive_then_purge",
    }
    # The approval DAG waits for a person: test_the_approval_dag_plans_waits_then_applies.
    assert set(dags.values()) == EXAMPLE_DAG_IDS - {APPROVAL_DAG_ID}
    for name, dag_id in dags.items():
        state = deployment.wait_for_run(dag_id, run_ids[name], timeout=240)
        assert state == "success", _describe(deployment, dag_id, run_ids[name])

    retention = deployment.dag_run("posthog_retention_policy", run_ids["retention"])
    assert retention is not None and retention["run_type"] == "manual"
    if AIRFLOW_MAJOR >= 3:
        assert retention["data_interval_end"] is None and retention["logical_date"] is None
    report = deployment.xcom("posthog_retention_policy", retention["run_id"], "report")
    assert report["report_only"] is True
    assert _utc(report["cutoff"]) == _reference(retention) - timedelta(days=30)

    triage = run_ids["triage"]
    assert deployment.xcom("posthog_daily_triage", triage, "report") >= 1
    assert session["id"] in deployment.xcom("posthog_daily_triage", triage, "list_error_sessions")

    assert deployment.task_states("posthog_gdpr_erasure", run_ids["erasure_defaults"]) == {
        "check_request": "success",
        "erase_recordings": "skipped",
        "report": "skipped",
    }
    archive = deployment.xcom("posthog_archive_then_purge", run_ids["archive"], "report")
    assert archive["report_only"] is True and archive["deleted"] == 0
    erased = deployment.xcom("posthog_gdpr_erasure", run_ids["erasure"], "report")
    assert erased["deleted"] == 3 and erased["remaining"] == 0
    assert set(early_runs["person"]) <= posthog_process.deleted_ids()


# ---------------------------------------------------------------- the purge across legs


def test_a_deferred_purge_resumes_in_new_processes_with_one_cutoff(
    deployment: Deployment, posthog_process: EmulatorProcess, system_root: Path
) -> None:
    """A manual purge that defers several times. Between legs someone else deletes planned
    candidates and recordings appear just after the cutoff: no leg may delete anything that
    started at or after the manifest's cutoff, and every part of the deletion record carries
    that one cutoff (with a clock read per leg, later legs took later cutoffs)."""
    population = "purge-population"
    now = datetime.now(timezone.utc)
    starts: dict[str, datetime] = {}

    def plant(when: datetime) -> str:
        [recording] = posthog_process.add(
            {"distinct_id": population, "start_time": when.isoformat(), "ongoing": False}
        )
        starts[recording["id"]] = when
        return str(recording["id"])

    for day in range(POPULATION):
        plant(now - timedelta(days=12 + day, hours=day % 7))
    for minutes in (1, 2, 3):  # just after the cutoff this run will take (about now - 10 d)
        plant(now - timedelta(days=10) + timedelta(minutes=minutes))
    deleted_before = posthog_process.deleted_ids()
    record = system_root / "deletion-record"
    run_id = deployment.trigger("system_purge", {"deletion_record_path": str(record)})

    legs: list[dict[str, Any]] = []
    by_someone_else: set[str] = set()
    while True:
        ti = wait_until(
            lambda: _next_deferral_or_end(deployment, run_id, len(legs)),
            180,
            f"leg {len(legs) + 2} of the purge, or its end",
            interval=0.1,
        )
        if ti["state"] != "deferred":
            break
        state = deployment.next_kwargs(ti)["state"]
        legs.append(state)
        cutoff = _utc(state["plan"]["cutoff"])
        assert cutoff is not None
        # Someone else deletes a planned candidate this leg carries, and one a later leg will
        # list again (a gap); recordings appear just after the cutoff.
        pending = [rid for rid, _start in state.get("pending", [])]
        later = sorted(
            (start, rid)
            for rid, start in starts.items()
            if start < cutoff and rid not in pending and rid not in by_someone_else
        )
        gone = pending[-1:] + [rid for _start, rid in later[-1:]]
        by_someone_else.update(posthog_process.delete(gone))
        plant(cutoff + timedelta(seconds=1))
        plant(cutoff + timedelta(minutes=len(legs)))
    assert ti["state"] == "success", _describe(deployment, "system_purge", run_id)
    assert len(legs) >= 2, "the purge should have deferred at least twice"

    run = deployment.dag_run("system_purge", run_id)
    assert run is not None
    manifest = deployment.xcom("system_purge", run_id, "purge")
    cutoff = _utc(manifest["cutoff"])
    assert cutoff == _reference(run) - timedelta(days=10)
    assert {leg["plan"]["cutoff"] for leg in legs} == {manifest["cutoff"]}
    assert [leg["leg"] for leg in legs] == list(range(1, len(legs) + 1))
    assert manifest["legs"] == len(legs) + 1

    deleted = posthog_process.deleted_ids() - deleted_before - by_someone_else
    assert deleted, "the purge deleted nothing"
    assert deleted <= set(starts), "the purge deleted outside its population"
    too_young = {rid for rid in deleted if starts[rid] >= cutoff}
    assert not too_young, f"deleted recordings that started after the cutoff: {too_young}"
    kept = {rid for rid, start in starts.items() if start >= cutoff}
    assert kept <= set(posthog_process.recordings())
    assert manifest["deleted"] == len(deleted) and manifest["planned"] == POPULATION
    old = {rid for rid, start in starts.items() if start < cutoff}
    assert old <= deleted | by_someone_else  # every planned recording is gone
    assert manifest["deleted"] + manifest["already_gone"] <= POPULATION

    lines = read_deletion_record(record, run_id)
    assert {line["recording_id"] for line in lines} == deleted
    assert {line["cutoff"] for line in lines} == {manifest["cutoff"]}
    parts = sorted((record / _safe(run_id)).iterdir())
    assert len({part.name.split("-")[2] for part in parts}) >= 2  # parts of several legs

    log = deployment.task_log("system_purge", run_id, "purge")
    assert _process_starts(log) == len(legs) + 1  # every leg in a process of its own
    pattern = rf"Leg \d+: \d+ of {POPULATION} planned deletions done"
    assert len(re.findall(pattern, log)) == len(legs)
    assert "more leg(s), done around" in log


def _next_deferral_or_end(deployment: Deployment, run_id: str, seen: int) -> dict[str, Any] | None:
    """The purge's task instance once it is deferred for a leg after the ``seen`` ones, or
    once it is finished."""
    deployment.check_alive()
    ti = deployment.task_instances("system_purge", run_id).get("purge")
    if ti is None:
        return None
    if ti["state"] in ("success", "failed", "upstream_failed"):
        return ti
    if ti["state"] == "deferred" and ti.get("next_kwargs"):
        state = deployment.next_kwargs(ti).get("state") or {}
        if int(state.get("leg", 0)) > seen:
            return ti
    return None


def _safe(run_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in run_id) or "run"


def _process_starts(log: str) -> int:
    return sum(1 for line in log.splitlines() if any(m in line for m in START_MARKERS))


# ---------------------------------------------------------------- the triggerer and the sensor


def test_the_sensor_succeeds_after_the_triggerer_is_restarted(
    deployment: Deployment, posthog_process: EmulatorProcess, early_runs: dict[str, Any]
) -> None:
    """The sensor is deferred; the triggerer dies (SIGKILL) and a new one starts; only then does
    the awaited recording appear, so only the new triggerer, reading the connection from the
    metadata database, can have seen it."""
    run_id = early_runs["run_ids"]["sensor_wait"]
    deployment.wait_for_task("system_sensor_wait", run_id, "wait", {"deferred"}, timeout=120)
    old = deployment.processes["triggerer"]
    deployment.restart("triggerer", kill=True)
    assert not old.alive()
    [recording] = posthog_process.add(
        {"distinct_id": early_runs["marker"], "start_time": datetime.now(timezone.utc).isoformat()}
    )
    state = deployment.wait_for_run("system_sensor_wait", run_id, timeout=120)
    assert state == "success", _describe(deployment, "system_sensor_wait", run_id)
    assert deployment.xcom("system_sensor_wait", run_id, "wait") == [recording["id"]]


def test_the_sensor_times_out_naming_its_timeout_and_query(
    deployment: Deployment, early_runs: dict[str, Any]
) -> None:
    run_id = early_runs["run_ids"]["sensor_timeout"]
    state = deployment.wait_for_run("system_sensor_timeout", run_id, timeout=120)
    assert state == "failed"
    assert deployment.task_states("system_sensor_timeout", run_id) == {
        "hard": "failed",
        "soft": "skipped",
    }
    for task_id in ("hard", "soft"):
        log = deployment.task_log("system_sensor_timeout", run_id, task_id)
        assert "timed out after 15 s (timeout=15 s)" in log, log[-3000:]
        assert "never-seen" in log and "distinct_ids" in log


# ---------------------------------------------------------------- the key's budget, the logs


def test_at_most_one_429_per_task_start_and_no_state_in_the_triggers_logs(
    deployment: Deployment, posthog_process: EmulatorProcess
) -> None:
    """Every task that used the key ran in the pool, one after another, each starting in a
    new process with an empty budget: each start got at most one 429. (Runs after the other
    tests: it reads every task log of the session.)"""
    starts = 0
    per_start: list[int] = []
    for path, text in deployment.all_task_logs().items():
        count = None
        for line in text.splitlines():
            if any(marker in line for marker in START_MARKERS):
                if count is not None:
                    per_start.append(count)
                count = 0
                starts += 1
            elif any(mark in line for mark in THROTTLED) and count is not None:
                count += 1
        if count is not None:
            per_start.append(count)
        assert "too short" not in text, path
    requests = posthog_process.requests()
    # The tasks' key; the sensor scenarios' triggers poll with a key of their own.
    throttled = sum(
        1 for r in requests if r["status"] == 429 and r["key"] == posthog_process.api_key
    )
    print(
        f"\n[system tier, Airflow {AIRFLOW_MAJOR}] {starts} task starts, 429s per start: "
        f"max {max(per_start, default=0)}, total {sum(per_start)}; emulator 429s: {throttled} "
        f"of {len(requests)} requests"
    )
    assert starts >= 20
    assert max(per_start, default=0) <= 1
    assert sum(per_start) == throttled  # every 429 the key got is in a task's log

    # The budget trigger's event carries the purge's state for dag.test(); a real triggerer
    # logs the event ("Trigger fired event"), without the state.
    texts = {
        str(path): "\n".join(log_lines(path.read_text(errors="replace")))
        for path in (deployment.home / "logs").glob("dag_id=system_purge/**/*")
        if path.is_file()
    }
    for process in [deployment.processes["triggerer"], *deployment.retired]:
        texts[process.name] = process.output()
    fired = [line for text in texts.values() for line in text.splitlines() if "resume at" in line]
    assert fired, "no budget trigger fired"
    for where, text in texts.items():
        assert '"pending"' not in text and "'pending'" not in text, where
