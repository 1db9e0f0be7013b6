"""The provider on a many-host Airflow: CeleryExecutor, Postgres, Redis, two workers that
share no /tmp (:mod:`.cluster`), the emulator on the Cloud profile as a process.

What only a deployment whose legs and tries land on other hosts shows (issue 25): a local
path refused before anything is deleted; legs on alternating workers with exact counts; a
worker killed mid-leg and the retry's exact record and totals; two tasks on one key in a
one-slot pool; the sensor across a triggerer kill. The tests run in file order on one
deployment, one at a time (each leaves both workers running); each prints its figures.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_posthog_recordings.jobs.deletion import read_deletion_record
from tests.system.deployment import EmulatorProcess, wait_until
from tests.system.distributed.cluster import CeleryDeployment, namespace_pids
from tests.system.distributed.conftest import HEARTBEAT_TIMEOUT

pytestmark = [pytest.mark.distributed, pytest.mark.system, pytest.mark.timeout(420)]

#: The first line Airflow writes to a task's log each time a process starts to run it.
START_MARKERS = ("::group::Pre Execute", "::group::Pre task execution logs")
#: How the client logs a 429: retried, deferred, or given up.
THROTTLED = ("was throttled (429)", "answered 429")


def _describe(cluster: CeleryDeployment, dag_id: str, run_id: str) -> str:
    states = cluster.task_states(dag_id, run_id)
    logs = {
        task_id: cluster.task_log(dag_id, run_id, task_id)[-3000:]
        for task_id, state in states.items()
        if state not in ("success", "skipped")
    }
    details = "\n".join(f"--- {task_id}\n{log}" for task_id, log in logs.items())
    return f"{dag_id} {run_id}: {states}\n{details}"


def _figures(name: str, **figures: Any) -> None:
    shown = ", ".join(f"{key}={value}" for key, value in figures.items())
    print(f"\n[distributed tier] {name}: {shown}")


# ---------------------------------------------------------------- the deployment itself


@pytest.fixture(scope="module")
def sensor_run(cluster: CeleryDeployment) -> dict[str, Any]:
    """The sensor's run, started first: it waits deferred while the other scenarios run."""
    marker = f"distributed-sensor-{time.time_ns()}"
    run_id = cluster.trigger("distributed_sensor_wait", {"distinct_id": marker})
    return {"marker": marker, "run_id": run_id}


def _sensor_parked(cluster: CeleryDeployment, sensor_run: dict[str, Any]) -> None:
    """Wait until the sensor is deferred (in the triggerer), before a worker is stopped: a
    worker stopped while the sensor starts on it fails the sensor."""
    run_id = sensor_run["run_id"]
    cluster.wait_for_task("distributed_sensor_wait", run_id, "wait", {"deferred"}, timeout=180)


@pytest.mark.usefixtures("sensor_run")
def test_the_workers_are_separate_hosts(cluster: CeleryDeployment) -> None:
    """Two Celery workers, each with its own hostname and a /tmp nobody else sees."""
    names = cluster.worker_names()
    assert names == ["worker-a", "worker-b"]
    hostnames = set()
    for name in names:
        pid = cluster.processes[name].pid
        hostnames.add(cluster_hostname(pid))
        assert cluster_tmp_device(pid) != cluster_tmp_device(None), f"{name} sees the host /tmp"
    assert hostnames == {"worker-a", "worker-b"}
    a, b = (cluster_tmp_device(cluster.processes[name].pid) for name in names)
    assert a != b


def cluster_hostname(pid: int) -> str:
    """The hostname in the UTS namespace of process ``pid``."""
    answer = subprocess.run(
        ["nsenter", "-t", str(pid), "-u", "hostname"], capture_output=True, text=True, check=True
    )
    return answer.stdout.strip()


def cluster_tmp_device(pid: int | None) -> str:
    """What is mounted on /tmp for process ``pid`` (None: this process): device and id."""
    mountinfo = Path(f"/proc/{pid or 'self'}/mountinfo").read_text().splitlines()
    tmp = [line.split() for line in mountinfo if line.split()[4] == "/tmp"]
    return " ".join(tmp[-1][:3]) if tmp else "/"


# ---------------------------------------------------------------- populations


#: Old recordings each purge scenario plants: about 30 requests, so 3 legs at 12 a window.
POPULATION = 22
#: The purge's cutoff: recordings older than this many days are deleted.
OLDER_THAN_DAYS = 10


def _plant(emulator: EmulatorProcess, population: str, old: int, young: int) -> dict[str, str]:
    """``old`` recordings of ``population`` 12 days old and more (to delete), ``young`` of 9
    days and less (to keep); id -> "old" or "young"."""
    now = datetime.now(timezone.utc)
    ages = [timedelta(days=12 + day, hours=day % 7) for day in range(old)]
    ages += [timedelta(days=OLDER_THAN_DAYS - 1, hours=-hour) for hour in range(young)]
    planted = emulator.add(
        *(
            {"distinct_id": population, "start_time": (now - age).isoformat(), "ongoing": False}
            for age in ages
        )
    )
    return {
        r["id"]: ("old" if age > timedelta(days=OLDER_THAN_DAYS) else "young")
        for r, age in zip(planted, ages, strict=True)
    }


def _deleted_of(emulator: EmulatorProcess, population: dict[str, str]) -> set[str]:
    return emulator.deleted_ids() & set(population)


def _recorded_deletions(record: Path, run_id: str) -> list[str]:
    """The ids the run's deletion record says were deleted (a list: duplicates show)."""
    lines = read_deletion_record(record, run_id)
    return [
        line["recording_id"] for line in lines if str(line.get("outcome", "")).startswith("deleted")
    ]


def _run_totals(manifest: dict[str, Any]) -> dict[str, Any]:
    """The run's totals across its tries: a ``run`` (or ``run_totals``) part of the manifest
    when it has one (issue 25, item 3), else its own counts."""
    for key in ("run_totals", "run"):
        part = manifest.get(key)
        if isinstance(part, dict) and "deleted" in part:
            return part
    return manifest


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _purge_ti(cluster: CeleryDeployment, dag_id: str, run_id: str) -> dict[str, Any] | None:
    return cluster.task_instances(dag_id, run_id).get("purge")


# ---------------------------------------------------------------- (a) a local path refused


def test_a_local_record_path_is_refused_on_celery_before_any_deletion(
    cluster: CeleryDeployment, tier_emulator: EmulatorProcess
) -> None:
    """``deletion_record_path`` under /tmp on the CeleryExecutor: the next leg may run on the
    other worker, whose /tmp does not hold the plan or the record. The purge must fail before
    any request that deletes, saying another worker cannot read the path (issue 25, item 1)."""
    population = _plant(tier_emulator, "distributed-local-path", old=8, young=2)
    local = f"/tmp/posthog-deletions-{secrets.token_hex(3)}"
    run_id = cluster.trigger(
        "distributed_purge_local",
        {"population": "distributed-local-path", "deletion_record_path": local},
    )
    state = cluster.wait_for_run("distributed_purge_local", run_id, timeout=240)
    log = cluster.task_log("distributed_purge_local", run_id, "purge")
    deleted = _deleted_of(tier_emulator, population)
    deletes = [r for r in tier_emulator.requests() if r["method"] == "DELETE"]
    _figures(
        "local path on Celery",
        run=state,
        deleted=len(deleted),
        says_another_worker="another worker" in log,
    )
    assert state == "failed", _describe(cluster, "distributed_purge_local", run_id)
    assert not deleted, f"deleted {len(deleted)} recordings before refusing the local path"
    assert not deletes
    assert "another worker" in log, log[-3000:]
    assert local in log or "CeleryExecutor" in log  # it names the path or the executor


# ---------------------------------------------------------------- (b) alternating workers


@pytest.mark.parametrize("storage", ["shared-folder", "xcom"])
def test_legs_on_alternating_workers_with_shared_storage_count_exactly(
    cluster: CeleryDeployment,
    tier_emulator: EmulatorProcess,
    storage: str,
    sensor_run: dict[str, Any],
) -> None:
    """The plan and record in a folder both workers see (outside /tmp), or no path (the
    plan in the task's XCom, the manifest's ids the only record); only one worker runs at a
    time, and the other takes over at each deferral, so consecutive legs run on different
    hosts. Every planned recording is deleted once and counted once: the emulator's
    deletions, the manifest's and the record's are the same ids; no young one is touched."""
    name = f"distributed-alternating-{storage}"
    population = _plant(tier_emulator, name, old=POPULATION, young=3)
    old = {rid for rid, age in population.items() if age == "old"}
    record = cluster.root / "shared" / "deletions" if storage == "shared-folder" else None
    _sensor_parked(cluster, sensor_run)
    cluster.stop_worker("worker-b")
    started = time.monotonic()
    hosts: list[str] = []
    try:
        path = None if record is None else str(record)
        run_id = cluster.trigger(
            "distributed_purge", {"population": name, "deletion_record_path": path}
        )
        running = "worker-a"
        while True:
            ti = wait_until(
                lambda: _next_deferral_or_end(cluster, "distributed_purge", run_id, len(hosts)),
                240,
                f"leg {len(hosts) + 1} of the purge, or its end",
                interval=0.1,
            )
            hosts.append(str(ti["hostname"]))
            if ti["state"] != "deferred":
                break
            # The leg's worker goes away (as a host replaced); the other takes the next leg.
            other = "worker-b" if running == "worker-a" else "worker-a"
            cluster.stop_worker(running)
            cluster.start_worker(other)
            running = other
    finally:
        for worker in ("worker-a", "worker-b"):
            if worker not in cluster.processes:
                cluster.start_worker(worker)
    elapsed = time.monotonic() - started
    assert ti["state"] == "success", _describe(cluster, "distributed_purge", run_id)
    manifest = cluster.xcom("distributed_purge", run_id, "purge")
    deleted = _deleted_of(tier_emulator, population)
    if record is None:
        recorded = list(manifest["deleted_ids"])
    else:
        recorded = _recorded_deletions(record, run_id)
    _figures(
        f"alternating workers, {storage}",
        legs=len(hosts),
        hosts="/".join(hosts),
        planned=manifest["planned"],
        emulator_deleted=len(deleted),
        manifest_deleted=manifest["deleted"],
        recorded=len(recorded),
        seconds=round(elapsed, 1),
    )
    assert len(hosts) >= 3, "the purge should have taken at least three legs"
    assert all(a != b for a, b in zip(hosts, hosts[1:], strict=False)), hosts
    assert set(hosts) == {"worker-a", "worker-b"}
    assert deleted == old
    assert manifest["planned"] == len(old)
    assert manifest["deleted"] == len(deleted) and manifest["already_gone"] == 0
    assert set(manifest["deleted_ids"]) == deleted
    assert sorted(recorded) == sorted(deleted)  # each id once
    assert manifest["legs"] == len(hosts)


def _next_deferral_or_end(
    cluster: CeleryDeployment, dag_id: str, run_id: str, seen: int
) -> dict[str, Any] | None:
    """The purge's task instance once deferred for a leg after the ``seen`` ones, or once
    finished."""
    cluster.check_alive()
    ti = _purge_ti(cluster, dag_id, run_id)
    if ti is None:
        return None
    if ti["state"] in ("success", "failed", "upstream_failed"):
        return ti
    if ti["state"] == "deferred" and ti.get("next_kwargs"):
        state = cluster.next_kwargs(ti).get("state") or {}
        if int(state.get("leg", 0)) > seen:
            return ti
    return None


# ---------------------------------------------------------------- (c) a worker killed mid-leg


def test_a_worker_killed_mid_leg_then_the_retry_completes_with_an_exact_record(
    cluster: CeleryDeployment, tier_emulator: EmulatorProcess, sensor_run: dict[str, Any]
) -> None:
    """The worker running the purge is SIGKILLed (its whole process group: the host dies)
    while a DELETE is in flight (the emulator holds the third one for 6 s, then deletes: the
    recording is gone, the dead worker never learnt it); the worker is restarted. After the
    heartbeat timeout the try fails and the retry runs on a worker. Nothing young is deleted,
    every old recording is gone, the record's deleted ids are exactly what the emulator
    deleted (each once), and the manifest's run totals add up to it (issue 25, items 2-3)."""
    name = "distributed-killed"
    dag_id = "distributed_purge_retried"
    population = _plant(tier_emulator, name, old=POPULATION, young=3)
    old = {rid for rid, age in population.items() if age == "old"}
    record = cluster.root / "shared" / "deletions"
    key = tier_emulator.api_key
    _sensor_parked(cluster, sensor_run)

    def deletes() -> list[dict[str, Any]]:
        return [
            r
            for r in tier_emulator.requests()
            if r["method"] == "DELETE" and r["key"] == key and r["status"] < 300
        ]

    before = len(deletes())
    tier_emulator.admin(
        "POST",
        "faults",
        {"kind": "slow", "seconds": 6, "method": "DELETE", "path_contains": "session_recordings"}
        | {"skip": 2, "times": 1},
    )
    run_id = cluster.trigger(dag_id, {"population": name, "deletion_record_path": str(record)})
    wait_until(lambda: len(deletes()) >= before + 2, 180, "two DELETEs of the purge", 0.05)
    time.sleep(1.0)  # the third is in flight, held by the emulator
    ti = _purge_ti(cluster, dag_id, run_id)
    assert ti is not None and ti["state"] == "running", ti
    victim = str(ti["hostname"])
    killed_at, killed_epoch = time.monotonic(), time.time()
    host = namespace_pids(cluster.processes[victim].pid)
    cluster.stop_worker(victim, kill=True)
    deleted_at_kill = len(_deleted_of(tier_emulator, population))
    wait_until(lambda: not [pid for pid in host if _running(pid)], 15, "the host's processes")
    cluster.start_worker(victim)
    state = cluster.wait_for_run(dag_id, run_id, timeout=300)
    finished = time.monotonic()
    assert state == "success", _describe(cluster, dag_id, run_id)
    ti = _purge_ti(cluster, dag_id, run_id)
    assert ti is not None
    manifest = cluster.xcom(dag_id, run_id, "purge")
    deleted = _deleted_of(tier_emulator, population)
    recorded = _recorded_deletions(record, run_id)
    totals = _run_totals(manifest)
    # What the retry deleted, as the emulator saw it: DELETEs answered well after the kill
    # (the one held in flight is answered 6 s after it; the retry starts after the timeout).
    by_retry = {
        rid
        for r in tier_emulator.requests()
        if r["method"] == "DELETE" and r["key"] == key and r["status"] < 300
        if r["at"] > killed_epoch + HEARTBEAT_TIMEOUT / 2
        for rid in population
        if rid in r["path"]
    }
    _figures(
        "worker SIGKILLed mid-leg",
        killed=victim,
        deleted_before_kill=deleted_at_kill,
        try_number=ti["try_number"],
        retry_on=ti["hostname"],
        recovery_s=round(finished - killed_at, 1),
        heartbeat_timeout_s=HEARTBEAT_TIMEOUT,
        emulator_deleted=len(deleted),
        recorded=len(recorded),
        recorded_distinct=len(set(recorded)),
        this_try_deleted=(manifest.get("this_try") or manifest)["deleted"],
        deleted_by_the_retry_per_emulator=len(by_retry),
        the_retrys_legs=manifest.get("legs"),
        run_totals_deleted=totals["deleted"],
        missing_from_record=len(deleted - set(recorded)),
    )
    assert ti["try_number"] >= 2, "the killed try should have been retried"
    assert deleted == old  # every candidate gone, nothing young touched
    assert sorted(recorded) == sorted(deleted), "the record is not what the emulator deleted"
    assert totals["deleted"] + totals.get("already_gone", 0) == len(deleted)
    assert totals["deleted"] == len(set(recorded))
    this_try = manifest.get("this_try") or {}
    assert 0 < this_try.get("deleted", 0) < len(deleted), "the retry's own count, beside the run's"


# ---------------------------------------------------------------- (d) two tasks on one key


def test_two_tasks_on_one_key_in_a_one_slot_pool(
    cluster: CeleryDeployment, tier_emulator: EmulatorProcess
) -> None:
    """A purge and an archive on one key, in a pool of one slot that counts deferred tasks,
    with nothing else ordering them. Each task start or resume begins with an empty budget
    in a new process: at most one 429 each. Whether the pool kept them apart (one task
    running or deferred at a time) is measured and printed, not assumed: on Airflow 3.3 the
    slot is released when a deferral ends."""
    purged = _plant(tier_emulator, "one-key-purged", old=POPULATION, young=2)
    now = datetime.now(timezone.utc)
    archived = tier_emulator.add(
        *(
            {
                "distinct_id": "one-key-archived",
                "start_time": (now - timedelta(days=3, hours=hour)).isoformat(),
                "ongoing": False,
            }
            for hour in range(6)
        )
    )
    archive_path = cluster.root / "shared" / "archive"
    dag_id = "distributed_one_key"
    key = "phx_distributed_one_key"
    run_id = f"manual__distributed_one_key_{secrets.token_hex(3)}"
    conf = json.dumps({"archive_path": str(archive_path)})
    # Triggered in the background: the CLI takes seconds, and the timeline starts now.
    trigger = ThreadPoolExecutor(max_workers=1)
    triggered = trigger.submit(cluster.airflow, "dags", "trigger", dag_id, "-r", run_id, "-c", conf)
    trigger.shutdown(wait=False)
    timeline: list[tuple[float, str, str]] = []
    last: dict[str, str | None] = {"purge": None, "archive": None}
    started = time.monotonic()

    def finished() -> bool:
        cluster.check_alive()
        states = cluster.task_states(dag_id, run_id)
        for task_id in last:
            if states.get(task_id) != last[task_id]:
                last[task_id] = states.get(task_id)
                timeline.append((time.monotonic() - started, task_id, str(states.get(task_id))))
        return all(state in ("success", "failed") for state in states.values()) and len(states) == 2

    wait_until(finished, 360, f"{dag_id} {run_id}", interval=0.1)
    triggered.result()
    states = cluster.task_states(dag_id, run_id)
    assert states == {"purge": "success", "archive": "success"}, _describe(cluster, dag_id, run_id)

    per_start: dict[str, list[int]] = {}
    for task_id in ("purge", "archive"):
        per_start[task_id] = _throttled_per_start(cluster.task_log(dag_id, run_id, task_id))
    throttled = [r for r in tier_emulator.requests() if r["key"] == key and r["status"] == 429]
    overlaps, taken = _pool_figures(timeline)
    manifest = cluster.xcom(dag_id, run_id, "purge")
    archive = cluster.xcom(dag_id, run_id, "archive")
    _figures(
        "two tasks on one key, one-slot pool",
        starts={task: len(counts) for task, counts in per_start.items()},
        per_start_429s={task: counts for task, counts in per_start.items()},
        emulator_429s=len(throttled),
        requests=len([r for r in tier_emulator.requests() if r["key"] == key]),
        both_busy_at_once=overlaps,
        slot_taken_when_a_deferral_ended=taken,
        seconds=round(time.monotonic() - started, 1),
    )
    print(
        "[distributed tier] one-key timeline: "
        + ", ".join(f"{at:.1f}s {task}={state}" for at, task, state in timeline)
    )
    assert manifest["deleted"] == len({rid for rid, age in purged.items() if age == "old"})
    assert archive["archived"] == len(archived)
    assert max(max(counts, default=0) for counts in per_start.values()) <= 1, per_start
    assert sum(sum(counts) for counts in per_start.values()) == len(throttled)


def _throttled_per_start(log: str) -> list[int]:
    """429s logged by each process start of a task (its log, every try and leg in order)."""
    counts: list[int] = []
    for line in log.splitlines():
        if any(marker in line for marker in START_MARKERS):
            counts.append(0)
        elif any(mark in line for mark in THROTTLED) and counts:
            counts[-1] += 1
    return counts


def _pool_figures(timeline: list[tuple[float, str, str]]) -> tuple[int, int]:
    """From the tasks' state changes: how often both held work at once (queued, running or
    deferred), and how often, after one task's deferral ended (deferred -> scheduled), the
    other task was queued or running before it ran again (it took the slot)."""
    busy = {"queued", "running", "deferred"}
    state: dict[str, str] = {}
    waiting_after_deferral: set[str] = set()
    overlaps = taken = 0
    for _at, task_id, new in timeline:
        other = "archive" if task_id == "purge" else "purge"
        if state.get(task_id) == "deferred" and new == "scheduled":
            waiting_after_deferral.add(task_id)
        if new in ("queued", "running"):
            if other in waiting_after_deferral:
                taken += 1
                waiting_after_deferral.discard(other)
            waiting_after_deferral.discard(task_id)
        state[task_id] = new
        if new in busy and state.get(other) in busy:
            overlaps += 1
    return overlaps, taken


# ---------------------------------------------------------------- (e) the sensor


def test_the_sensor_succeeds_across_a_triggerer_kill(
    cluster: CeleryDeployment, tier_emulator: EmulatorProcess, sensor_run: dict[str, Any]
) -> None:
    """The sensor (started with the first test, deferred since) waits in the triggerer; the
    triggerer is SIGKILLed and a new one started; only then does the awaited recording
    appear, so only the new triggerer can have seen it, and the resumed sensor completes on a
    worker. (Last: the other scenarios' budget triggers run in that triggerer too.)"""
    marker, run_id = sensor_run["marker"], sensor_run["run_id"]
    cluster.wait_for_task("distributed_sensor_wait", run_id, "wait", {"deferred"}, timeout=120)
    killed = time.monotonic()
    old = cluster.processes["triggerer"]
    cluster.restart("triggerer", kill=True)
    assert not old.alive()
    [recording] = tier_emulator.add(
        {"distinct_id": marker, "start_time": datetime.now(timezone.utc).isoformat()}
    )
    added = time.monotonic()
    state = cluster.wait_for_run("distributed_sensor_wait", run_id, timeout=120)
    assert state == "success", _describe(cluster, "distributed_sensor_wait", run_id)
    assert cluster.xcom("distributed_sensor_wait", run_id, "wait") == [recording["id"]]
    ti = cluster.task_instances("distributed_sensor_wait", run_id)["wait"]
    assert ti["hostname"] in {"worker-a", "worker-b"}
    _figures(
        "sensor across a triggerer kill",
        found_after_recording_s=round(time.monotonic() - added, 1),
        from_kill_to_success_s=round(time.monotonic() - killed, 1),
        resumed_on=ti["hostname"],
    )
