"""The system tier's fixtures: one real Airflow deployment and one emulator process for the
whole session (starting Airflow costs 15 to 30 s), stopped however the tests end.

The emulator is PostHog Cloud for a personal key with its minute scaled down to 3 s
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

from tests.system.deployment import AIRFLOW_MAJOR, EXAMPLE_DAGS, Deployment, EmulatorProcess

SYSTEM_DAGS = Path(__file__).parent / "dags"
#: PostHog's minute lasts 3 s here, on both sides.
WINDOW_SCALE = 0.05
#: The key's budget in that minute (the emulator's and the connection's).
PER_MINUTE = 12
EXAMPLE_DAG_IDS = {path.stem for path in EXAMPLE_DAGS.glob("*.py")}
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
    OVERRIDES["airflow_provider_posthog_recordings.operators.deletion_operators"] = {
        "MIN_DEFERRAL_SECONDS": 0.0
    }
SYSTEM_DAG_IDS = {"system_purge", "system_sensor_wait", "system_sensor_timeout"}


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
