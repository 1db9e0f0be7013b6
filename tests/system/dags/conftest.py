"""Fixtures for running the example DAGs on a real Airflow (SQLite in a temporary home).

The metadata database is migrated once per session, by ``airflow db migrate`` in a child
process. Each DAG-run test then points this process's Airflow at it (environment and ORM)
and puts everything back afterwards, so no Airflow setting leaks into other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from posthog_recordings_emulator import PostHogEmulator

EXAMPLE_DAGS = Path(__file__).resolve().parents[3] / "example_dags"


@pytest.fixture(scope="session")
def airflow_home_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a migrated Airflow home (SQLite) whose DAGs folder is example_dags."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(home / "airflow.cfg"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**child_env, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"airflow db migrate failed:\n{result.stdout[-3000:]}"
    return env


def _reconfigure_airflow() -> None:
    """Make this process's Airflow read the database settings of the environment again."""
    from airflow import settings

    settings.configure_vars()
    settings.reconfigure_orm()


@pytest.fixture
def airflow_db(airflow_home_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """This process's Airflow on the migrated home, for one test; restored afterwards.

    Running tasks in this process also sets ``AIRFLOW_CTX_*`` variables: every ``AIRFLOW*``
    variable is put back as it was.
    """
    saved = {name: value for name, value in os.environ.items() if name.startswith("AIRFLOW")}
    try:
        os.environ.update(airflow_home_env)
        _reconfigure_airflow()
        yield airflow_home_env
    finally:
        for name in [name for name in os.environ if name.startswith("AIRFLOW")]:
            if name not in saved:
                del os.environ[name]
        os.environ.update(saved)
        _reconfigure_airflow()


def give_to_airflow(
    emulator: PostHogEmulator, monkeypatch: pytest.MonkeyPatch, **extra: object
) -> None:
    """Make a running emulator Airflow's ``posthog_default`` connection (for one test)."""
    connection = {
        "conn_type": "posthog",
        "host": emulator.url,
        "password": emulator.api_key,
        "extra": {"project_id": emulator.project_id, **extra},
    }
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(connection))


@pytest.fixture
def posthog_for_dags(
    airflow_db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[PostHogEmulator]:
    """A running emulator, Airflow's ``posthog_default`` connection, on the migrated home."""
    # PostHog Cloud for a personal API key, with PostHog's budgets (the emulator's default).
    with PostHogEmulator() as emulator:
        give_to_airflow(emulator, monkeypatch)
        yield emulator
