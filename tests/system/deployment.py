"""A real Airflow deployment for the system tests, and the PostHog emulator as a process.

:class:`Deployment` runs Airflow's own components as separate processes, as a user's
deployment does, from the virtualenv of the Python running the tests (``sys.executable``'s
``bin``: ``.venv`` for Airflow 3, ``.venv-airflow2`` for 2.11):

* Airflow 3: ``airflow api-server``, ``airflow scheduler``, ``airflow dag-processor`` and
  ``airflow triggerer``, with the LocalExecutor;
* Airflow 2.11: ``airflow scheduler`` and ``airflow triggerer``, with the SequentialExecutor
  (which runs ``airflow tasks run``: the venv's ``bin`` goes first on ``PATH``).

Each gets a temporary ``AIRFLOW_HOME`` with SQLite, Airflow's examples off, and a DAGs
folder holding copies of the given DAG files. Polls are short (scheduler, triggerer and DAG
processor intervals of about a second) so a test waits seconds, not minutes. The connection is
stored in the metadata database with ``airflow connections add``, so every component
(workers, triggerer) reads it from there; the pool is created with ``airflow pools set ...
--include-deferred``.

:class:`EmulatorProcess` runs ``python -m posthog_recordings_emulator`` with
its admin routes, so a test can plant, delete and look from outside, and with the key's
budget windows scaled down (``--window-scale``): the deployment's processes get the same
scale through a ``sitecustomize`` module on their ``PYTHONPATH``, so the client's budget and
the server's agree, and a purge defers for seconds instead of minutes.

Every process is started in its own process group and stopped by its pid (the whole group:
SIGTERM, then SIGKILL); :meth:`Deployment.stop` also stops any process left whose
environment names this deployment's ``AIRFLOW_HOME`` (a task process in a session of its own).
The API, for the tests and for tiers built on this one (a browser tier needs
:attr:`Deployment.api_url`):

``start()``, ``trigger(dag_id, conf)``, ``wait_for_run(dag_id, run_id)``,
``task_instances(dag_id, run_id)``, ``wait_for_task(...)``, ``task_log(...)``,
``xcom(...)``, ``restart(component)``, ``airflow(*args)``, ``stop()``.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO_ROOT / "example_dags"
#: The virtualenv's bin of the Python running the tests (not resolved: a venv's python is a
#: symlink, and its bin is what holds ``airflow``).
VENV_BIN = Path(sys.executable).parent
AIRFLOW_VERSION = importlib.metadata.version("apache-airflow")
AIRFLOW_MAJOR = int(AIRFLOW_VERSION.split(".")[0])

TERMINAL_RUN_STATES = frozenset({"success", "failed"})
TERMINAL_TASK_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.25
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Process:
    """A process started in its own process group, its output in ``log``."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self) -> None:
        """SIGTERM the whole group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGTERM)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole group, then SIGKILL what is left of it after ``grace`` s."""
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _die_with_the_tests() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGKILL when the test process dies without stopping it (killed
    by a timeout, say), so nothing is left running."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_process(
    name: str, command: list[str], env: Mapping[str, str], logs: Path, cwd: Path
) -> Process:
    """Start ``command`` in a new session (its own process group), output to a log file."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}-{time.strftime('%H%M%S')}-{secrets.token_hex(2)}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            command,
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_the_tests if sys.platform == "linux" else None,
        )
    return Process(name, popen, log)


# ---------------------------------------------------------------- the emulator


@dataclass
class EmulatorProcess:
    """``python -m posthog_recordings_emulator`` with its admin routes."""

    root: Path
    profile: str = "cloud"
    rate_limit: int = 12
    window_scale: float = 0.1
    seed_args: tuple[str, ...] = ()
    process: Process | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def start(self) -> EmulatorProcess:
        ready = self.root / "emulator-ready.json"
        command = [
            sys.executable,
            "-m",
            "posthog_recordings_emulator",
            "--profile",
            self.profile,
            "--port",
            "0",
            "--rate-limit",
            str(self.rate_limit),
            "--window-scale",
            str(self.window_scale),
            "--admin",
            "--ready-file",
            str(ready),
            *self.seed_args,
        ]
        env = {**os.environ, "PYTHONPATH": _pythonpath(os.environ.get("PYTHONPATH"))}
        self.process = start_process("emulator", command, env, self.root / "logs", self.root)
        process = self.process

        def is_ready() -> bool:
            if not process.alive():
                raise RuntimeError(f"the emulator exited:\n{process.output()[-3000:]}")
            return ready.exists()

        wait_until(is_ready, 30, "the emulator", interval=0.05)
        self.info = json.loads(ready.read_text())
        return self

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def api_key(self) -> str:
        return str(self.info["api_key"])

    @property
    def project_id(self) -> int:
        return int(self.info["project_id"])

    def admin(self, method: str, route: str, body: Any = None) -> Any:
        answer = requests.request(method, f"{self.url}/_emulator/{route}", json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def recordings(self) -> dict[str, dict[str, Any]]:
        """Every existing recording by id."""
        return {r["id"]: r for r in self.admin("GET", "recordings")["recordings"]}

    def deleted_ids(self) -> set[str]:
        return set(self.admin("GET", "recordings")["deleted_ids"])

    def add(self, *recordings: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Plant recordings (fields as :meth:`PostHogEmulator.add_recording` takes them)."""
        answer = self.admin("POST", "recordings", {"recordings": list(recordings)})
        return list(answer["recordings"])

    def add_key(self, key: str) -> str:
        """Another personal API key (every scope), with budgets of its own."""
        self.admin("POST", "keys", {"key": key})
        return key

    def seed(self, n: int, **options: Any) -> list[str]:
        return list(self.admin("POST", "seed", {"n": n, **options})["ids"])

    def delete(self, ids: Iterable[str]) -> list[str]:
        """Someone else deletes these recordings."""
        return list(self.admin("POST", "delete", {"ids": list(ids)})["deleted"])

    def requests(self) -> list[dict[str, Any]]:
        """Every API request so far: method, path, status, at (epoch seconds)."""
        return list(self.admin("GET", "requests")["requests"])

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


# ---------------------------------------------------------------- Airflow


def _pythonpath(existing: str | None, *first: Path) -> str:
    parts = [str(path) for path in first] + [str(REPO_ROOT)]
    if existing:
        parts.append(existing)
    return os.pathsep.join(parts)


SITECUSTOMIZE = '''\
"""Written by tests/system/deployment.py for this test deployment only: the key's budget
windows are scaled like the emulator's (--window-scale), so client and server agree, and
the sizes below are set."""
import importlib

from airflow_provider_posthog_recordings.client.http import key_budget

key_budget.WINDOW_SECONDS *= {scale!r}
key_budget.HOUR_SECONDS *= {scale!r}
for module, values in {overrides!r}.items():
    for name, value in values.items():
        setattr(importlib.import_module(module), name, value)
'''


@dataclass
class Deployment:
    """Airflow's components as processes, on a temporary home (see the module docstring).

    Args:
        root: an empty folder for the home, the DAGs, the logs.
        dag_files: DAG files copied into the DAGs folder.
        connections: conn id -> ``airflow connections add`` options, e.g.
            ``{"posthog_default": {"conn-type": "posthog", "conn-host": ...}}``.
        pools: pool name -> slots, each created with ``--include-deferred``.
        dag_ids: the DAGs to wait for at start (default: the files' names).
        window_scale: the key's budget windows, as the emulator's.
        overrides: module -> {name: value} set in every process of the deployment (sizes
            scaled down with the data, e.g. how many ids a paused purge carries).
        env: more environment for every component.
    """

    root: Path
    dag_files: list[Path]
    connections: dict[str, dict[str, str]]
    pools: dict[str, int] = field(default_factory=dict)
    dag_ids: set[str] = field(default_factory=set)
    window_scale: float = 1.0
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    retired: list[Process] = field(default_factory=list)
    api_port: int = 0

    def __post_init__(self) -> None:
        self.home = self.root / "airflow_home"
        self.dags = self.root / "dags"
        self.logs = self.root / "process_logs"
        self.db = self.home / "airflow.db"

    # ------------------------------------------------------------ setup

    @property
    def components(self) -> list[str]:
        if AIRFLOW_MAJOR >= 3:
            return ["api-server", "scheduler", "dag-processor", "triggerer"]
        return ["scheduler", "triggerer"]

    @property
    def api_url(self) -> str:
        """The api-server's address (Airflow 3)."""
        return f"http://127.0.0.1:{self.api_port}"

    def environment(self) -> dict[str, str]:
        """The environment of every component and CLI call."""
        site = self.root / "site"
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env = {
            **base,
            "PATH": os.pathsep.join([str(VENV_BIN), base.get("PATH", "")]),
            "PYTHONPATH": _pythonpath(base.get("PYTHONPATH"), site),
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW_CONFIG": str(self.home / "airflow.cfg"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__FERNET_KEY": self._fernet_key,
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__POOL_METRICS_INTERVAL": "60",
            "AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "6",
        }
        if AIRFLOW_MAJOR >= 3:
            env.update(
                {
                    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                    "AIRFLOW__API__HOST": "127.0.0.1",
                    "AIRFLOW__API__PORT": str(self.api_port),
                    "AIRFLOW__API__WORKERS": "1",
                    "AIRFLOW__API__SECRET_KEY": self._secret,
                    "AIRFLOW__API_AUTH__JWT_SECRET": self._secret,
                    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
                    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
                    "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "1",
                    "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "600",
                }
            )
        else:
            env.update(
                {
                    "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
                    "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "2",
                    "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "600",
                    "AIRFLOW__SCHEDULER__PRINT_STATS_INTERVAL": "600",
                    "AIRFLOW__SCHEDULER__PARSING_PROCESSES": "1",
                    "AIRFLOW__WEBSERVER__SECRET_KEY": self._secret,
                }
            )
        env.update(self.env)
        return env

    def start(self) -> Deployment:
        """Set up the home, then start every component and wait until the DAGs are parsed."""
        self._fernet_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        self._secret = secrets.token_hex(16)
        self.api_port = free_port()
        self.dags.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        for path in self.dag_files:
            shutil.copy(path, self.dags / path.name)
        site = self.root / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(
            SITECUSTOMIZE.format(scale=self.window_scale, overrides=self.overrides)
        )
        self.airflow("db", "migrate", timeout=300)
        if AIRFLOW_MAJOR < 3:
            # With SQLite, 2.11's scheduler parses one file per loop, and its
            # SequentialExecutor blocks the loop while a task runs: parse them all first.
            self.airflow("dags", "reserialize")
        for conn_id, options in self.connections.items():
            self.airflow("connections", "add", conn_id, *(f"--{k}={v}" for k, v in options.items()))
        for name, slots in self.pools.items():
            self.airflow("pools", "set", name, str(slots), "PostHog key", "--include-deferred")
        for component in self.components:
            self._start(component)
        if AIRFLOW_MAJOR >= 3:
            wait_until(self._api_up, 90, "the api-server")
        expected = self.dag_ids or {path.stem for path in self.dag_files}
        wait_until(lambda: expected <= self._parsed_dags(), 120, f"DAGs {sorted(expected)}")
        return self

    def _start(self, component: str) -> Process:
        process = start_process(
            component,
            [str(VENV_BIN / "airflow"), *component.split()],
            self.environment(),
            self.logs,
            self.root,
        )
        self.processes[component] = process
        return process

    def restart(self, component: str, *, kill: bool = False) -> Process:
        """Stop a component (SIGKILL with ``kill``, as a crash) and start a new one."""
        old = self.processes.pop(component)
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(old.pid, signal.SIGKILL)
        old.stop()
        self.retired.append(old)
        return self._start(component)

    def _api_up(self) -> bool:
        self.check_alive()
        try:
            return requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=2).ok
        except requests.RequestException:
            return False

    def check_alive(self) -> None:
        """Fail with its output when a component died."""
        for name, process in self.processes.items():
            if not process.alive():
                raise RuntimeError(f"airflow {name} exited:\n{process.output()[-4000:]}")

    # ------------------------------------------------------------ the CLI

    def airflow(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``airflow *args`` against this deployment; fail on a non-zero exit."""
        result = subprocess.run(
            [str(VENV_BIN / "airflow"), *args],
            env=self.environment(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """``airflow dags trigger`` (a manual run); returns its run id."""
        run_id = f"manual__system_{dag_id}_{secrets.token_hex(3)}"
        args = ["dags", "trigger", dag_id, "-r", run_id]
        if conf is not None:
            args += ["-c", json.dumps(conf)]
        self.airflow(*args)
        return run_id

    # ------------------------------------------------------------ the metadata database

    @contextlib.contextmanager
    def database(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection to the metadata database."""
        connection = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        try:
            yield connection
        finally:
            connection.close()

    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        for attempt in range(20):
            try:
                with self.database() as db:
                    return [dict(row) for row in db.execute(sql, params).fetchall()]
            except sqlite3.OperationalError as exc:  # "database is locked" while migrating
                if "locked" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def _parsed_dags(self) -> set[str]:
        self.check_alive()
        try:
            if AIRFLOW_MAJOR >= 3:
                rows = self.query("SELECT dag_id FROM serialized_dag")
            else:
                rows = self.query("SELECT dag_id FROM dag WHERE is_active = 1")
        except sqlite3.OperationalError:
            return set()
        return {row["dag_id"] for row in rows}

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM dag_run WHERE dag_id = ? ORDER BY id", dag_id)

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
        return rows[0] if rows else None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180) -> str:
        """Wait until the run is finished; return its state (``success`` or ``failed``)."""

        def finished() -> str | None:
            self.check_alive()
            run = self.dag_run(dag_id, run_id)
            return run["state"] if run and run["state"] in TERMINAL_RUN_STATES else None

        return str(wait_until(finished, timeout, f"run {dag_id} {run_id}", interval=0.5))

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        rows = self.query(
            "SELECT * FROM task_instance WHERE dag_id = ? AND run_id = ?", dag_id, run_id
        )
        return {row["task_id"]: row for row in rows}

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {tid: ti["state"] for tid, ti in self.task_instances(dag_id, run_id).items()}

    def wait_for_task(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        states: Iterable[str],
        timeout: float = 120,
        interval: float = 0.2,
    ) -> dict[str, Any]:
        """Wait until the task instance is in one of ``states``; return its row."""
        wanted = set(states)

        def reached() -> dict[str, Any] | None:
            self.check_alive()
            ti = self.task_instances(dag_id, run_id).get(task_id)
            if ti is not None and ti["state"] in TERMINAL_TASK_STATES - wanted:
                raise AssertionError(
                    f"{dag_id}.{task_id} ended {ti['state']} while waiting for {sorted(wanted)}:"
                    f"\n{self.task_log(dag_id, run_id, task_id)[-4000:]}"
                )
            return ti if ti is not None and ti["state"] in wanted else None

        return dict(
            wait_until(reached, timeout, f"{dag_id}.{task_id} in {sorted(wanted)}", interval)
        )

    def next_kwargs(self, ti: Mapping[str, Any]) -> dict[str, Any]:
        """A deferred task instance's ``next_kwargs``, decoded from Airflow's serialisation."""
        raw = ti.get("next_kwargs")
        value = json.loads(raw) if isinstance(raw, str | bytes) else raw
        return dict(_decode(value) or {})

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        rows = self.query(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = ?",
            dag_id,
            run_id,
            task_id,
            key,
        )
        if not rows:
            return None
        value = rows[0]["value"]
        if isinstance(value, bytes):
            value = value.decode()
        value = json.loads(value) if isinstance(value, str) else value
        # Airflow 3 may store a JSON text inside the JSON column.
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        return _decode(value)

    # ------------------------------------------------------------ logs

    def task_log_files(self, dag_id: str, run_id: str, task_id: str) -> list[Path]:
        """The task's log files (every try; Airflow 3 adds one per trigger)."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return sorted(folder.glob("attempt=*.log*")) if folder.exists() else []

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        """The task's log as text, every try in order (Airflow 3's JSON lines as text)."""
        lines: list[str] = []
        for path in self.task_log_files(dag_id, run_id, task_id):
            if ".trigger." in path.name:
                continue
            lines.extend(log_lines(path.read_text(errors="replace")))
        return "\n".join(lines)

    def all_task_logs(self) -> dict[Path, str]:
        """Every task log file of the deployment (triggers' logs excluded)."""
        root = self.home / "logs"
        files = sorted(p for p in root.glob("dag_id=*/**/attempt=*.log") if p.is_file())
        return {path: "\n".join(log_lines(path.read_text(errors="replace"))) for path in files}

    # ------------------------------------------------------------ stopping

    def stop(self) -> None:
        """Stop every component by its pid (its whole process group), then anything left that
        runs with this deployment's home (a task process in a session of its own)."""
        running = [*self.processes.values(), *self.retired]
        for process in running:
            process.terminate()
        # Nothing needs a clean shutdown here (Airflow 3's scheduler takes over 15 s to stop).
        deadline = time.monotonic() + 2
        for process in running:
            process.stop(grace=max(0.1, deadline - time.monotonic()))
        for pid in self.leftover_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def leftover_pids(self) -> list[int]:
        """Pids of processes whose environment has this deployment's AIRFLOW_HOME."""
        marker = f"AIRFLOW_HOME={self.home}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0"):
                found.append(int(entry.name))
        return found


def log_lines(text: str) -> list[str]:
    """Log lines as text: Airflow 3 writes JSON lines (``event`` and fields), 2.11 text."""
    lines = []
    for raw in text.splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            try:
                record = json.loads(raw)
            except ValueError:
                lines.append(raw)
                continue
            if isinstance(record, dict):
                extra = {
                    k: v
                    for k, v in record.items()
                    if k not in ("timestamp", "level", "event", "logger", "filename", "lineno")
                }
                line = f"{record.get('timestamp', '')} {record.get('level', '')} "
                line += str(record.get("event", ""))
                if extra:
                    line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
                lines.append(line)
                continue
        lines.append(raw)
    return lines


def _decode(value: Any) -> Any:
    """Undo Airflow's serialisation envelopes (``{"__var": ..., "__type": ...}``)."""
    if isinstance(value, dict):
        if set(value) >= {"__var", "__type"}:
            return _decode(value["__var"])
        if set(value) >= {"__data__", "__classname__"}:
            return _decode(value["__data__"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value
