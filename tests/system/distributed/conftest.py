"""The distributed tier's fixtures: Postgres, Redis, the emulator and Airflow on the
CeleryExecutor with two workers in namespaces of their own, one set for the whole session,
stopped by process group however the tests end (:mod:`.cluster`).

The tier runs only when asked for (``-m distributed``, ``make test-distributed``): it needs
root, two Debian packages and the ``distributed`` extra. The PostHog minute is scaled down as
in the system tier (``WINDOW_SCALE``), and a task whose worker died is failed after 20 s
without a heartbeat (300 s by default).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.conftest import OVERRIDES, PER_MINUTE, WINDOW_SCALE
from tests.system.deployment import EmulatorProcess
from tests.system.distributed.cluster import (
    CeleryDeployment,
    PostgresServer,
    RedisServer,
    missing_prerequisites,
    tier_root,
)

HERE = Path(__file__).parent
DAG_IDS = {
    "distributed_purge",
    "distributed_purge_retried",
    "distributed_purge_local",
    "distributed_one_key",
    "distributed_sensor_wait",
}
#: How long after its last heartbeat the scheduler fails a task whose worker died.
HEARTBEAT_TIMEOUT = 20
#: The one-key scenario's pool.
ONE_SLOT_POOL = "posthog_one_slot"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tier unless its marker was asked for by name (``-m distributed``; not by
    ``-m system``, nor by no ``-m``, nor by ``-m "not distributed"``)."""
    if asks_for_the_tier(str(config.getoption("markexpr") or "")):
        return
    skip = pytest.mark.skip(reason="the distributed tier: make test-distributed")
    for item in items:
        if item.get_closest_marker("distributed") is not None:
            item.add_marker(skip)


def asks_for_the_tier(markexpr: str) -> bool:
    """Whether ``-m markexpr`` selects a test that has only the ``distributed`` marker."""
    if "distributed" not in markexpr:
        return False
    from _pytest.mark.expression import Expression

    return bool(Expression.compile(markexpr).evaluate(lambda name, **_: name == "distributed"))


@pytest.fixture(scope="session")
def cluster_root() -> Iterator[Path]:
    """The deployment's folder, outside /tmp (a worker's /tmp is its own); removed after a
    passing session, kept (with every process log) after a failure."""
    missing = missing_prerequisites()
    if missing:
        pytest.fail(f"the distributed tier needs: {', '.join(missing)} (make distributed)")
    root = tier_root()
    yield root


@pytest.fixture(scope="session")
def tier_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """The emulator as a process on the Cloud profile, with no recordings of its own."""
    emulator = EmulatorProcess(
        tmp_path_factory.mktemp("distributed-emulator"),
        profile="cloud",
        rate_limit=PER_MINUTE,
        window_scale=WINDOW_SCALE,
    )
    try:
        yield emulator.start()
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def postgres(cluster_root: Path) -> Iterator[PostgresServer]:
    # The cluster's folder must be reachable by the postgres user: its own, under /tmp
    # (Postgres is not one of the "hosts").
    folder = Path(tempfile.mkdtemp(prefix="posthog-tier-pg-"))
    server = PostgresServer(folder)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def broker(cluster_root: Path) -> Iterator[RedisServer]:
    server = RedisServer(cluster_root / "redis")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cluster(
    request: pytest.FixtureRequest,
    cluster_root: Path,
    tier_emulator: EmulatorProcess,
    postgres: PostgresServer,
    broker: RedisServer,
) -> Iterator[CeleryDeployment]:
    """api-server, scheduler, dag-processor, triggerer and workers ``worker-a`` and
    ``worker-b``; connections ``posthog_default`` (the purges), ``posthog_one_key`` (the
    one-key scenario) and ``posthog_sensors``, each its own key with budgets of its own."""
    extra = {"project_id": tier_emulator.project_id, "requests_per_minute": PER_MINUTE}

    def connection(key: str) -> dict[str, str]:
        return {
            "conn-type": "posthog",
            "conn-host": tier_emulator.url,
            "conn-password": key,
            "conn-extra": json.dumps(extra),
        }

    airflow = CeleryDeployment(
        root=cluster_root,
        dag_files=sorted((HERE / "dags").glob("*.py")),
        dag_ids=DAG_IDS,
        connections={
            "posthog_default": connection(tier_emulator.api_key),
            "posthog_one_key": connection(tier_emulator.add_key("phx_distributed_one_key")),
            "posthog_sensors": connection(tier_emulator.add_key("phx_distributed_sensors")),
        },
        pools={ONE_SLOT_POOL: 1},
        window_scale=WINDOW_SCALE,
        overrides=OVERRIDES,
        postgres=postgres,
        redis=broker,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
    )
    try:
        airflow.start()
        airflow.wait_for_workers()
        yield airflow
    finally:
        airflow.stop()
    left = airflow.leftover_pids()
    assert not left, f"processes of the deployment still running: {left}"
    if request.session.testsfailed == 0:
        shutil.rmtree(cluster_root, ignore_errors=True)
    else:
        print(f"\n[distributed tier] logs kept in {cluster_root}")
