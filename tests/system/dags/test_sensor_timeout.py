"""A deferrable sensor whose query never matches ends at its timeout in a local run.

``dag.test()`` runs triggers in line and, on Airflow 3, does not enforce the deferral's
timeout: only the trigger's own deadline ends the wait.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from posthog_recordings_emulator import PostHogEmulator

from tests.system.dags.conftest import EXAMPLE_DAGS


@pytest.mark.dagrun
def test_deferrable_sensor_times_out_in_dag_test(
    posthog_for_dags: PostHogEmulator, capsys: Any, caplog: Any
) -> None:
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(EXAMPLE_DAGS / "posthog_daily_triage.py"))
    dag = copy.deepcopy(bag.dags["posthog_daily_triage"])
    sensor = dag.get_task("wait_for_error_sessions")
    assert sensor.deferrable
    sensor.timeout = 15
    sensor.poke_interval = 2
    sensor.soft_fail = False  # the example skips on timeout; here the timeout must show

    started = time.monotonic()
    run = dag.test()
    elapsed = time.monotonic() - started

    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed", states
    assert states["wait_for_error_sessions"] == "failed"
    assert elapsed < 60
    logged = caplog.text + capsys.readouterr().out
    assert "Waiting for PostHog recordings timed out" in logged
    # It polled until the deadline, not once and not forever.
    assert 3 <= posthog_for_dags.request_count <= 15
