"""A many-host Airflow on one machine, for the distributed tier.

What a team that outgrew one machine runs, from real components started here and stopped by
process group however the tests end:

* :class:`PostgresServer`: a private Postgres cluster (``initdb`` in a temporary folder, run as
  the ``postgres`` user, on a free port of 127.0.0.1) as Airflow's metadata database;
* :class:`RedisServer`: ``redis-server`` on a free port, the Celery broker;
* :class:`CeleryDeployment`: :class:`~tests.system.deployment.Deployment` on the
  CeleryExecutor: ``api-server``, ``scheduler``, ``dag-processor``, ``triggerer``, and Celery
  workers, each in its own mount and UTS namespace (``unshare -m -u``) with a private
  ``/tmp`` (a tmpfs only it sees) and its own hostname, as two machines have. The home, the
  DAGs, the logs and the virtualenv are outside ``/tmp`` (every "host" sees them, as a
  deployment's shared DAG folder and remote logs); a folder under ``/tmp`` is one host's.

The Debian packages ``postgresql`` and ``redis-server`` are needed (``make distributed``
installs them as root), and the ``distributed`` extra (the Celery provider, ``redis``,
``psycopg2-binary``). Must run as root (``unshare``, ``mount``, running Postgres as its user).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.system.deployment import (
    VENV_BIN,
    Deployment,
    Process,
    free_port,
    start_process,
    wait_until,
)

#: Where Debian puts a Postgres' programs (``/usr/lib/postgresql/<major>/bin``).
POSTGRES_LIBS = Path("/usr/lib/postgresql")


def postgres_bin() -> Path:
    """The newest installed Postgres' ``bin`` folder."""
    found = sorted(POSTGRES_LIBS.glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("Postgres is not installed: make distributed (apt: postgresql)")
    return found[-1].parent


def missing_prerequisites() -> list[str]:
    """What this machine lacks for the tier (empty: nothing)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (unshare, mount, Postgres as its user)")
    if not list(POSTGRES_LIBS.glob("*/bin/postgres")):
        missing.append("postgresql (apt)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server (apt)")
    for module in ("psycopg2", "redis", "airflow.providers.celery"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"{module} (pip install -e '.[distributed]')")
    return missing


def _as_postgres() -> list[str]:
    """A prefix that runs a command as the ``postgres`` user, in this process (no fork)."""
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]


@dataclass
class PostgresServer:
    """A private Postgres cluster on 127.0.0.1, user ``airflow`` (trust), database ``airflow``."""

    root: Path
    port: int = 0
    process: Process | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy's address of the ``airflow`` database."""
        return f"postgresql+psycopg2://airflow@127.0.0.1:{self.port}/airflow"

    def dsn(self, database: str = "airflow") -> str:
        return f"host=127.0.0.1 port={self.port} user=airflow dbname={database}"

    def start(self) -> PostgresServer:
        self.port = free_port()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self.data.mkdir(mode=0o700)
        shutil.chown(self.data, "postgres", "postgres")
        bin_dir = postgres_bin()
        subprocess.run(
            [*_as_postgres(), str(bin_dir / "initdb"), "-D", str(self.data), "-U", "airflow"]
            + ["--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        command = [
            *_as_postgres(),
            str(bin_dir / "postgres"),
            "-D",
            str(self.data),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            str(self.data),  # its unix socket in its own folder, not /var/run/postgresql
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ]
        self.process = start_process("postgres", command, os.environ, self.root / "logs", self.root)
        import psycopg2

        def ready() -> bool:
            if not self.process or not self.process.alive():
                raise RuntimeError(f"postgres exited:\n{self.output()[-3000:]}")
            try:
                psycopg2.connect(self.dsn("postgres"), connect_timeout=2).close()
            except psycopg2.OperationalError:
                return False
            return True

        wait_until(ready, 60, "postgres", interval=0.2)
        connection = psycopg2.connect(self.dsn("postgres"))
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE airflow")
        connection.close()
        return self

    def output(self) -> str:
        return self.process.output() if self.process else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@dataclass
class RedisServer:
    """``redis-server`` on 127.0.0.1, nothing saved to disk."""

    root: Path
    port: int = 0
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.port = free_port()
        self.root.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.root)]
        self.process = start_process("redis", command, os.environ, self.root / "logs", self.root)
        import redis

        def ready() -> bool:
            if not self.process or not self.process.alive():
                output = self.process.output() if self.process else ""
                raise RuntimeError(f"redis exited:\n{output}")
            try:
                return bool(redis.Redis(port=self.port, socket_timeout=2).ping())
            except redis.RedisError:
                return False

        wait_until(ready, 30, "redis", interval=0.1)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


WORKER_PREFIX = "worker-"


@dataclass
class CeleryDeployment(Deployment):
    """Airflow 3 on the CeleryExecutor, Postgres and Redis; workers as separate "hosts".

    :param postgres: the started metadata database.
    :param redis: the started broker.
    :param workers: the workers' names (also their hostnames), started with the rest; more
        can be started and stopped with :meth:`start_worker` and :meth:`stop_worker`.
    :param heartbeat_timeout: ``[scheduler] task_instance_heartbeat_timeout``: how long after
        its last heartbeat a task whose worker died is failed (and retried).
    """

    postgres: PostgresServer | None = None
    redis: RedisServer | None = None
    workers: tuple[str, ...] = ("worker-a", "worker-b")
    heartbeat_timeout: int = 20
    worker_concurrency: int = 2
    _db: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if under_tmp(self.root) and not self.root.resolve().is_relative_to(checkout()):
            raise ValueError(
                f"{self.root} is under /tmp: each worker has a /tmp of its own; put the "
                "deployment (home, DAGs, logs) where every worker sees it"
            )

    @property
    def components(self) -> list[str]:
        return ["api-server", "scheduler", "dag-processor", "triggerer", *self.workers]

    def environment(self) -> dict[str, str]:
        assert self.postgres is not None and self.redis is not None
        env = super().environment()
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
                "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.postgres.url,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
                # The worker's hostname, not a DNS lookup of it (there is no DNS here).
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "socket.gethostname",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(self.heartbeat_timeout),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
                "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
                # Other deployments on this machine may hold the default log-server ports.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._log_ports[0]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self._log_ports[1]),
            }
        )
        env.update(self.env)
        return env

    def start(self) -> CeleryDeployment:
        self._log_ports = (free_port(), free_port())
        super().start()
        return self

    def _start(self, component: str) -> Process:
        if not component.startswith(WORKER_PREFIX):
            return super()._start(component)
        name = component
        script = (
            f'hostname {name} && {private_tmp(name)} && exec "$0" celery '
            f"worker --celery-hostname celery@{name} --concurrency {self.worker_concurrency} "
            "--skip-serve-logs --without-mingle --without-gossip"
        )
        command = ["unshare", "-m", "-u", "--propagation", "private", "sh", "-c", script]
        command.append(str(VENV_BIN / "airflow"))
        process = start_process(name, command, self.environment(), self.logs, self.root)
        self.processes[name] = process
        return process

    # ------------------------------------------------------------ workers

    def start_worker(self, name: str, *, wait: bool = True) -> Process:
        """Start a worker (a new "host" of that name); wait until it consumes tasks."""
        if name in self.processes:
            raise RuntimeError(f"{name} is running")
        process = self._start(name)
        if wait:
            wait_until(lambda: self._worker_ready(process), 90, f"worker {name}", interval=0.2)
        return process

    def _worker_ready(self, process: Process) -> bool:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.output()[-4000:]}")
        return " ready." in process.output()

    def wait_for_workers(self) -> None:
        for name in self.workers:
            process = self.processes[name]
            wait_until(lambda p=process: self._worker_ready(p), 90, f"worker {name}", interval=0.2)

    def stop_worker(self, name: str, *, kill: bool = False) -> Process:
        """Stop a worker: SIGKILL of its whole process group with ``kill`` (the host dies
        with the task it runs), else SIGTERM to the worker alone (Celery's warm shutdown: the
        task it runs finishes first), then what is left of its group."""
        process = self.processes.pop(name)
        if kill:
            # Every process of the "host": the task process runs in a session of its own,
            # outside the worker's process group, but in its mount namespace.
            for pid in [process.pid, *namespace_pids(process.pid)]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=60)
        process.stop(grace=30)
        self.retired.append(process)
        return process

    def worker_names(self) -> list[str]:
        return [name for name in self.processes if name.startswith(WORKER_PREFIX)]

    # ------------------------------------------------------------ the metadata database

    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Rows of the Postgres metadata database (``?`` placeholders, as for SQLite)."""
        import psycopg2
        import psycopg2.extras

        assert self.postgres is not None
        sql = re.sub(r"\?", "%s", sql)
        for attempt in range(5):
            try:
                if self._db is None or self._db.closed:
                    self._db = psycopg2.connect(self.postgres.dsn())
                    self._db.autocommit = True
                with self._db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                    cursor.execute(sql, params)
                    return [dict(row) for row in cursor.fetchall()]
            except psycopg2.OperationalError:
                self._db = None
                if attempt == 4:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def _parsed_dags(self) -> set[str]:
        import psycopg2

        self.check_alive()
        try:
            rows = self.query("SELECT dag_id FROM serialized_dag")
        except psycopg2.Error:  # before the migration made the table
            return set()
        return {row["dag_id"] for row in rows}

    def stop(self) -> None:
        if self._db is not None:
            with contextlib.suppress(Exception):
                self._db.close()
            self._db = None
        super().stop()


def namespace_pids(pid: int) -> list[int]:
    """Other processes in the mount namespace of ``pid`` (a worker's "host"), none when it
    shares this process's namespace."""
    try:
        namespace = os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return []
    if namespace == os.readlink("/proc/self/ns/mnt"):
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pid:
            continue
        with contextlib.suppress(OSError):
            if os.readlink(entry / "ns" / "mnt") == namespace:
                found.append(int(entry.name))
    return found


def under_tmp(path: Path) -> bool:
    """Whether ``path`` is in /tmp, which every worker has a private one of."""
    return path.resolve().is_relative_to("/tmp")


def checkout() -> Path:
    """The repository's folder (its venv, its DAGs and, by default, the tier's folder)."""
    from tests.system.deployment import REPO_ROOT

    return Path(REPO_ROOT).resolve()


#: Where a worker keeps the checkout while it mounts its private /tmp (see private_tmp).
HOLD = Path("/run/posthog-distributed-hold")


def private_tmp(name: str) -> str:
    """The shell commands that give a worker a /tmp of its own (a tmpfs only it sees).

    A checkout under /tmp (``git clone . /tmp/x``, as the developers' guide runs
    ``make test``) would vanish under the tmpfs with the venv the worker runs from: it is
    bind-mounted aside first, then back to the same path, so the worker sees the checkout
    and nothing else of the machine's /tmp.
    """
    mount = "mount -t tmpfs -o mode=1777 tmpfs /tmp"
    repo = checkout()
    if not under_tmp(repo):
        return mount
    hold = HOLD / name
    return (
        f"mkdir -p {hold} && mount --bind {repo} {hold} && {mount} && mkdir -p {repo} && "
        f"mount --bind {hold} {repo}"
    )


def tier_root() -> Path:
    """A fresh folder for one deployment, outside /tmp (``DISTRIBUTED_TIER_ROOT``, default
    ``.distributed`` in the repository)."""
    from tests.system.deployment import REPO_ROOT

    base = Path(os.environ.get("DISTRIBUTED_TIER_ROOT", REPO_ROOT / ".distributed"))
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="run-", dir=base))
