"""The system tier's fixtures: one real Airflow deployment and one emulator process for the
whole session (starting Airflow costs 15 to 30 s), stopped however the tests end.

The emulator is PostHog Cloud for a personal key with its minute scaled down to 6 s
(``WINDOW_SCALE``) and 12 requests in it, so purges defer for seconds, not minutes; the
deployment's processes see the same scale. See :mod:`tests.system.deployment`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.system.deployment import (
    AIRFLOW_MAJOR,
    EXAMPLE_DAGS,
    Deployment,
    EmulatorProcess,
    wait_until,
)

SYSTEM_DAGS = Path(__file__).parent / "dags"
#: PostHog's minute lasts 6 s here, on both sides: a deferral then outlasts the worker that
#: deferred (a shorter one can race Airflow 3.3's LocalExecutor on a loaded machine: the
#: first try's late "success" event fails the resumed try).
WINDOW_SCALE = 0.1
#: The key's budget in that minute (the emulator's and the connection's).
PER_MINUTE = 12
#: The approval DAG needs Airflow 3.1's human-in-the-loop operators: on Airflow 2 its file
#: defines no DAG.
APPROVAL_DAG_ID = "posthog_purge_with_approval"
EXAMPLE_DAG_IDS = {path.stem for path in EXAMPLE_DAGS.glob("*.py")} - (
    {APPROVAL_DAG_ID} if AIRFLOW_MAJOR < 3 else set()
)
#: Sizes scaled down with the data. A purge deletes 4 ids a group and a paused one carries
#: the next 4 (500 and 2,000 for real): its later legs list the rest again from where the
#: carried ids end, the path on which later legs took later cutoffs (issue 16).
OVERRIDES: dict[str, dict[str, Any]] = {
    "airflow_provider_posthog_recordings.jobs.purge": {"GROUP_SIZE": 4, "PENDING_IN_STATE": 4}
}
if AIRFLOW_MAJOR < 3:
    # Deferrals last at least 15 s against an Airflow 3 scheduler race; 2.11's
    # SequentialExecutor reports a task's exit before anything else happens: no race, and
    # the tier stays within its time.
    OVERRIDES["airflow_provider_posthog_recordings.operators.budgeted"] = {
        "MIN_DEFERRAL_SECONDS": 0.0
    }
SYSTEM_DAG_IDS = {"system_purge", "system_sensor_wait", "system_sensor_timeout"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Each phase's report on the item (``rep_setup``, ``rep_call``: the browser tier keeps its
    screenshots when the test failed), and a failed browser test's report names the folder."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    folder = getattr(item, "browser_artifacts", None)
    if folder is not None and report.failed:
        report.sections.append(("browser screenshots", f"kept in {folder}"))


@pytest.fixture(scope="session")
def system_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("system")


@pytest.fixture(scope="session")
def posthog_process(system_root: Path) -> Iterator[EmulatorProcess]:
    """The emulator as a process, seeded with 40 recordings over 60 days."""
    emulator = EmulatorProcess(
        system_root,
        profile="cloud",
        rate_limit=PER_MINUTE,
        window_scale=WINDOW_SCALE,
        seed_args=("--recordings", "40", "--days", "60", "--seed", "7"),
    )
    try:
        emulator.start()
        plant_for_the_scheduled_triage(emulator)
        yield emulator
    finally:
        emulator.stop()


def plant_for_the_scheduled_triage(emulator: EmulatorProcess) -> None:
    """Two sessions with console errors in the interval the triage DAG's scheduled run covers
    (the day that ended at the last 06:00 UTC), or its sensor would wait for hours."""
    now = datetime.now(timezone.utc)
    end = now.replace(hour=6, minute=0, second=0, microsecond=0)
    if end > now:
        end -= timedelta(days=1)
    for hours in (1, 2):
        start = end - timedelta(days=1) + timedelta(hours=hours)
        emulator.add({"start_time": start.isoformat(), "console_error_count": 3, "ongoing": False})


@pytest.fixture(scope="session")
def deployment(system_root: Path, posthog_process: EmulatorProcess) -> Iterator[Deployment]:
    """Airflow's components as processes, the example DAGs and the tier's own, the
    connection in the metadata database, the pool counting deferred tasks."""
    extra = {"project_id": posthog_process.project_id, "requests_per_minute": PER_MINUTE}

    def connection(key: str) -> dict[str, str]:
        return {
            "conn-type": "posthog",
            "conn-host": posthog_process.url,  # http to loopback needs no allow_insecure_http
            "conn-password": key,
            "conn-extra": json.dumps(extra),
        }

    airflow = Deployment(
        root=system_root,
        dag_files=[*sorted(EXAMPLE_DAGS.glob("*.py")), *sorted(SYSTEM_DAGS.glob("*.py"))],
        dag_ids=EXAMPLE_DAG_IDS | SYSTEM_DAG_IDS,
        connections={
            "posthog_default": connection(posthog_process.api_key),
            # The sensor scenarios' own key: their triggers poll outside any pool, and run
            # while the others do; with a key of their own they spend nobody else's budget.
            "posthog_sensors": connection(posthog_process.add_key("phx_system_sensors_key")),
        },
        pools={"posthog_api": 1},
        window_scale=WINDOW_SCALE,
        overrides=OVERRIDES,
    )
    try:
        yield airflow.start()
    finally:
        airflow.stop()
    left = airflow.leftover_pids()
    assert not left, f"processes of the deployment still running: {left}"


def api_session(deployment: Deployment) -> requests.Session:
    """A session with a token of the simple auth manager (all users are admins here)."""
    answer = requests.get(f"{deployment.api_url}/auth/token", timeout=30)
    assert answer.status_code in (200, 201), answer.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return session


#: The states of a human-in-the-loop task waiting for its answer (3.3 parks it in
#: ``awaiting_input``; 3.1 and 3.2 defer it).
AWAITING_INPUT = {"awaiting_input", "deferred"}


def wait_for_approval_request(deployment: Deployment, dag_id: str, run_id: str) -> None:
    """Wait until ``approve_purge`` waits for its answer and the scheduler has taken the exit
    of the process that parked it. On Airflow 3.3.2 an answer given before that (within about
    a second of parking) re-queues the task, and the late executor event then fails it
    ("finished with state success, but the task instance's state attribute is queued")."""
    deployment.wait_for_task(dag_id, run_id, "approve_purge", AWAITING_INPUT, timeout=180)
    event = (
        "Received executor event with state success for task instance TaskInstanceKey("
        f"dag_id='{dag_id}', task_id='approve_purge', run_id='{run_id}'"
    )

    def taken() -> bool:
        deployment.check_alive()
        return event in deployment.processes["scheduler"].output()

    wait_until(taken, 60, f"the scheduler to take the exit of {dag_id}.approve_purge")
