"""`make demo`: the provider's main jobs, end to end, on a real Airflow.

1. starts the PostHog emulator (a local HTTP server that behaves like PostHog's session
   recordings API) on a free loopback port, seeded with a few thousand recordings over
   90 days, some ongoing, some in a pinned playlist, some with console errors;
2. prepares an Airflow home in ``airflow_home/`` (SQLite, no example DAGs, the DAGs folder
   ``example_dags/``) and runs ``airflow db migrate``; the emulator is given to Airflow as
   the ``posthog_default`` connection through ``AIRFLOW_CONN_POSTHOG_DEFAULT``;
3. runs ``airflow dags test`` on the retention DAG (a dry run, then for real) and on the
   playlist curation DAG;
4. reads the emulator's state back over HTTP, checks that exactly the old recordings
   outside a pinned playlist were deleted, and prints a summary.

Airflow's own output goes to ``airflow_home/demo.log``. Standard library and this package
only; every process it starts is stopped before it exits, also on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.models import Recording

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = ROOT / "airflow_home"
DAGS_FOLDER = ROOT / "example_dags"
LOG = AIRFLOW_HOME / "demo.log"
READY_FILE = AIRFLOW_HOME / "emulator-ready.json"

# The seeded PostHog project.
RECORDINGS = 3000
DAYS = 90
ONGOING = 12
PINNED = 150
SEED = 2024

# The retention DAG's params for this demo (the DAG's defaults: 30 days, dry run, cap 1000).
OLDER_THAN_DAYS = 30
MAX_DELETIONS = 5000
DAG_DEFAULT_MAX_DELETIONS = 1000

RETENTION_DAG = "posthog_retention_policy"
CURATION_DAG = "posthog_playlist_curation"
ERRORS_PLAYLIST = "Sessions with console errors"
LONG_PLAYLIST = "Long sessions"
LONG_SESSION_SECONDS = 300
CURATION_DAYS = 7

STEP_TIMEOUT = 600.0
EMULATOR_START_TIMEOUT = 60.0


class DemoError(Exception):
    """A step failed: the message says which, and the log has the details."""


# ---------------------------------------------------------------- output


def say(text: str = "", end: str = "\n") -> None:
    print(text, end=end, flush=True)


def num(value: int) -> str:
    return f"{value:,}"


def log_tail(lines: int = 40) -> str:
    try:
        text = LOG.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def append_log(text: str) -> None:
    with LOG.open("a", encoding="utf-8") as handle:
        handle.write(text)


@dataclass
class Timings:
    steps: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def step(self, number: int, total: int, title: str) -> Iterator[dict[str, str]]:
        """Print ``[n/total] title ... result (time)``; the body sets ``result['text']``."""
        result = {"text": "ok"}
        print(f"[{number}/{total}] {title:<44}", end="", flush=True)
        started = time.monotonic()
        try:
            yield result
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            raise
        except BaseException:
            print("FAILED", flush=True)
            raise
        elapsed = time.monotonic() - started
        self.steps.append((title, elapsed))
        print(f"{result['text']}  ({elapsed:.1f} s)", flush=True)


# ---------------------------------------------------------------- child processes


class Children:
    """Processes started by the demo, each the leader of its own process group.

    Own process groups keep Ctrl-C away from them (the demo stops them itself, in order)
    and let the demo stop whatever a child started in turn.
    """

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], output: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> bool:
        """Signal the child's process group; False when nothing is left in it."""
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
        """Stop the child and anything left in its process group (SIGTERM, then SIGKILL)."""
        if proc.poll() is None:
            self._signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=grace)
        # The leader is gone; members of its group may remain (task processes).
        if self._signal_group(proc, signal.SIGTERM):
            time.sleep(0.5)
            self._signal_group(proc, signal.SIGKILL)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            with suppress(Exception):
                self.stop(proc)


# ---------------------------------------------------------------- the emulator


@dataclass
class Emulator:
    proc: subprocess.Popen[bytes]
    url: str
    api_key: str
    project_id: int

    def client(self) -> PostHogClient:
        return PostHogClient(
            self.url, self.api_key, self.project_id, requests_per_minute=None, max_retries=2
        )

    def connection_json(self) -> str:
        return json.dumps(
            {
                "conn_type": "posthog",
                "host": self.url,
                "password": self.api_key,
                "extra": {"project_id": self.project_id},
            }
        )


def start_emulator(children: Children) -> Emulator:
    READY_FILE.unlink(missing_ok=True)
    args = [
        sys.executable,
        "-m",
        "airflow_provider_posthog_recordings.testing",
        "--profile",  # pinned until the client copes with the cloud profile
        "permissive",
        "--no-rate-limits",
        "--port",
        "0",
        "--recordings",
        str(RECORDINGS),
        "--days",
        str(DAYS),
        "--ongoing",
        str(ONGOING),
        "--pinned-playlist-size",
        str(PINNED),
        "--seed",
        str(SEED),
        "--ready-file",
        str(READY_FILE),
    ]
    append_log(f"\n===== PostHog emulator: {shlex.join(args)}\n")
    with LOG.open("ab") as output:
        proc = children.start(args, dict(os.environ), output)
    deadline = time.monotonic() + EMULATOR_START_TIMEOUT
    while not READY_FILE.exists():
        if proc.poll() is not None:
            raise DemoError(f"the PostHog emulator exited early (code {proc.returncode})")
        if time.monotonic() > deadline:
            raise DemoError(f"the PostHog emulator was not ready in {EMULATOR_START_TIMEOUT}s")
        time.sleep(0.05)
    ready = json.loads(READY_FILE.read_text(encoding="utf-8"))
    return Emulator(proc, ready["url"], ready["api_key"], int(ready["project_id"]))


@dataclass
class Snapshot:
    """The project's recordings and playlists, as the API shows them."""

    recordings: dict[str, Recording]
    playlists: dict[str, dict[str, Any]]  # name -> {"pinned", "short_id", "ids"}


def snapshot(emulator: Emulator) -> Snapshot:
    since = datetime.now(timezone.utc) - timedelta(days=DAYS + 365)
    with emulator.client() as client:
        recordings = {rec.id: rec for rec in client.iter_recordings({"date_from": since})}
        playlists = {}
        for playlist in client.iter_playlists():
            if playlist.deleted or not playlist.is_collection:
                continue
            ids = [rec.id for rec in client.iter_playlist_recordings(playlist.short_id)]
            playlists[playlist.name or playlist.short_id] = {
                "pinned": playlist.pinned,
                "short_id": playlist.short_id,
                "ids": ids,
            }
    return Snapshot(recordings, playlists)


# ---------------------------------------------------------------- Airflow


def airflow_env(emulator: Emulator) -> dict[str, str]:
    """The environment of every airflow command: this project's home, nothing of the user's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW_CONFIG": str(AIRFLOW_HOME / "airflow.cfg"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            "AIRFLOW_CONN_POSTHOG_DEFAULT": emulator.connection_json(),
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


def run_airflow(children: Children, env: dict[str, str], *args: str) -> str:
    """Run ``airflow <args>``, output appended to the log; return that output."""
    command = [sys.executable, "-m", "airflow", *args]
    append_log(f"\n===== airflow {shlex.join(args)}\n")
    start = LOG.stat().st_size
    with LOG.open("ab") as output:
        proc = children.start(command, env, output)
        try:
            code = proc.wait(timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise DemoError(f"airflow {args[0]} {args[1]} took more than {STEP_TIMEOUT}s") from None
        finally:
            children.stop(proc)
    with LOG.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode("utf-8", errors="replace")
    if code != 0:
        causes = [line for line in text.splitlines() if "Exception: " in line or "Error: " in line]
        cause = f"\n  {causes[-1].strip()}" if causes else ""
        raise DemoError(f"`airflow {shlex.join(args)}` failed (exit code {code}){cause}")
    return text


def manifest_from(output: str) -> dict[str, Any]:
    """The JSON the retention DAG's ``report`` task logs after ``Manifest: ``."""
    marker = "Manifest: "
    position = output.rfind(marker)
    if position < 0:
        raise DemoError("the retention DAG's report task logged no manifest")
    start = output.index("{", position)
    manifest, _ = json.JSONDecoder().raw_decode(output, start)
    return manifest


def dags_test(children: Children, env: dict[str, str], dag_id: str, conf: Any = None) -> str:
    args = ["dags", "test", dag_id]
    if conf is not None:
        args += ["-c", json.dumps(conf)]
    return run_airflow(children, env, *args)


# ---------------------------------------------------------------- checks


def keep_reason(rec: Recording, cutoff: datetime, protected: set[str]) -> str | None:
    """The retention policy's verdict, recomputed here: why it is kept, or None (delete)."""
    if rec.start_time is None:
        return "no start time"
    if rec.start_time >= cutoff:
        return "newer than the cutoff"
    if rec.ongoing:
        return "ongoing"
    if rec.id in protected:
        return "in a pinned playlist"
    return None


def is_older(rec: Recording, cutoff: datetime) -> bool:
    return rec.start_time is not None and rec.start_time < cutoff


def check(condition: bool, message: str) -> None:
    if not condition:
        raise DemoError(f"check failed: {message}")


def check_curated(name: str, ids: list[str], recordings: dict[str, Recording]) -> None:
    """Every item of a curated playlist exists, is recent and matches the playlist's search."""
    window_start = datetime.now(timezone.utc) - timedelta(days=CURATION_DAYS, minutes=5)
    check(bool(ids), f"playlist {name!r} is empty")
    check(all(rid in recordings for rid in ids), f"{name!r} holds deleted recordings")
    items = [recordings[rid] for rid in ids]
    check(
        all(r.start_time is not None and r.start_time >= window_start for r in items),
        f"{name!r} holds recordings older than {CURATION_DAYS} days",
    )
    if name == ERRORS_PLAYLIST:
        check(all(r.console_error_count for r in items), f"{name!r} holds one without errors")
    if name == LONG_PLAYLIST:
        check(
            all((r.recording_duration or 0) > LONG_SESSION_SECONDS for r in items),
            f"{name!r} holds a short recording",
        )


# ---------------------------------------------------------------- the demo


def run_demo(children: Children) -> None:
    AIRFLOW_HOME.mkdir(exist_ok=True)
    LOG.write_text(f"make demo, {datetime.now(timezone.utc).isoformat()}\n", encoding="utf-8")
    timings = Timings()
    total_steps = 5
    started = time.monotonic()
    say("PostHog session recordings provider: demo on a real Airflow")
    say(f"  Airflow home {AIRFLOW_HOME.relative_to(ROOT)}/, log {LOG.relative_to(ROOT)}")
    say()

    with timings.step(1, total_steps, "Start the PostHog emulator") as result:
        emulator = start_emulator(children)
        before = snapshot(emulator)
        errors = sum(1 for r in before.recordings.values() if r.console_error_count)
        ongoing = sum(1 for r in before.recordings.values() if r.ongoing)
        pinned = {name: p for name, p in before.playlists.items() if p["pinned"]}
        protected = {rid for p in pinned.values() for rid in p["ids"]}
        check(len(before.recordings) == RECORDINGS, "the emulator did not list every recording")
        result["text"] = (
            f"{num(len(before.recordings))} recordings over {DAYS} days, {ongoing} ongoing, "
            f"{num(errors)} with errors, {len(protected)} pinned"
        )

    env = airflow_env(emulator)
    with timings.step(2, total_steps, "airflow db migrate (SQLite)") as result:
        run_airflow(children, env, "db", "migrate")
        result["text"] = f"ok: {AIRFLOW_HOME.relative_to(ROOT)}/airflow.db"

    dry_conf = {"older_than_days": OLDER_THAN_DAYS, "dry_run": True, "max_deletions": MAX_DELETIONS}
    title = f"Retention DAG, dry run ({OLDER_THAN_DAYS} days)"
    with timings.step(3, total_steps, title) as result:
        dry = manifest_from(dags_test(children, env, RETENTION_DAG, dry_conf))
        after_dry = snapshot(emulator)
        check(dry["dry_run"] is True, "the dry run's manifest says it was not a dry run")
        check(
            after_dry.recordings.keys() == before.recordings.keys(),
            "the dry run deleted recordings",
        )
        result["text"] = f"would delete {num(dry['candidates'])}, deleted none"

    real_conf = {**dry_conf, "dry_run": False}
    title = f"Retention DAG, for real ({OLDER_THAN_DAYS} days)"
    with timings.step(4, total_steps, title) as result:
        real = manifest_from(dags_test(children, env, RETENTION_DAG, real_conf))
        after_purge = snapshot(emulator)
        cutoff = datetime.fromisoformat(real["cutoff"])
        reasons = {rid: keep_reason(r, cutoff, protected) for rid, r in before.recordings.items()}
        expected = {rid for rid, reason in reasons.items() if reason is None}
        deleted = set(before.recordings) - set(after_purge.recordings)
        appeared = set(after_purge.recordings) - set(before.recordings)
        check(not appeared, f"{len(appeared)} recordings appeared from nowhere")
        check(
            deleted == expected,
            f"deleted {len(deleted)} recordings, expected exactly {len(expected)} "
            f"({len(deleted - expected)} deleted wrongly, {len(expected - deleted)} not deleted)",
        )
        check(real["deleted"] == len(deleted), "the manifest's count differs from the emulator's")
        check(real["failed"] == 0, "some deletions failed")
        result["text"] = f"deleted {num(real['deleted'])}: exactly the old, unprotected ones"

    with timings.step(5, total_steps, f"Curation DAG (last {CURATION_DAYS} days)") as result:
        dags_test(children, env, CURATION_DAG)
        after = snapshot(emulator)
        for name in (ERRORS_PLAYLIST, LONG_PLAYLIST):
            check(name in after.playlists, f"playlist {name!r} was not created")
            check_curated(name, after.playlists[name]["ids"], after.recordings)
        result["text"] = ", ".join(
            f"{name!r}: {len(after.playlists[name]['ids'])}"
            for name in (ERRORS_PLAYLIST, LONG_PLAYLIST)
        )

    total = time.monotonic() - started
    print_summary(
        before=before,
        after=after,
        dry=dry,
        real=real,
        reasons=reasons,
        deleted=deleted,
        timings=timings,
        total=total,
    )


def print_summary(
    *,
    before: Snapshot,
    after: Snapshot,
    dry: dict[str, Any],
    real: dict[str, Any],
    reasons: dict[str, str | None],
    deleted: set[str],
    timings: Timings,
    total: float,
) -> None:
    cutoff = datetime.fromisoformat(real["cutoff"])
    old_before = sum(1 for r in before.recordings.values() if is_older(r, cutoff))
    old_after = sum(1 for r in after.recordings.values() if is_older(r, cutoff))
    kept = Counter(reason for reason in reasons.values() if reason is not None)

    say()
    say("Summary")
    say(f"  Retention policy: delete recordings started before {cutoff:%Y-%m-%d %H:%M} UTC")
    say(f"  ({OLDER_THAN_DAYS} days before the run), keep pinned playlists' recordings")
    say(f"  Run conf: {json.dumps({'dry_run': False, 'max_deletions': MAX_DELETIONS})}", end="")
    if real["candidates"] > DAG_DEFAULT_MAX_DELETIONS:
        say(f" (the DAG's default cap, {DAG_DEFAULT_MAX_DELETIONS}, would stop a purge this big)")
    else:
        say()
    say()
    say(f"  {'recordings':<36}{'before':>9}{'after':>9}")
    say(f"  {'all':<36}{num(len(before.recordings)):>9}{num(len(after.recordings)):>9}")
    say(f"  {'older than the cutoff':<36}{num(old_before):>9}{num(old_after):>9}")
    say()
    say(f"  Dry run:  would delete {num(dry['candidates'])}, deleted 0")
    say(
        f"  Purge:    deleted {num(real['deleted'])} in {real['requests']} API requests "
        f"({real['failed']} failed)"
    )
    say(
        f"            = exactly the {num(len(deleted))} recordings older than the cutoff "
        "outside pinned playlists (checked id by id)"
    )
    say("  Kept, and why:")
    ongoing = sum(1 for r in after.recordings.values() if r.ongoing)
    for reason in ("newer than the cutoff", "in a pinned playlist", "ongoing", "no start time"):
        if kept.get(reason):
            say(f"    {reason:<34}{num(kept[reason]):>7}")
        if reason == "newer than the cutoff" and ongoing and not kept.get("ongoing"):
            say(f"      (of which {ongoing} ongoing: they started minutes ago)")
    say("  Playlists after the run:")
    notes = {
        ERRORS_PLAYLIST: f"console errors, last {CURATION_DAYS} days",
        LONG_PLAYLIST: f"longer than {LONG_SESSION_SECONDS} s, last {CURATION_DAYS} days",
    }
    ordered = sorted(after.playlists.items(), key=lambda item: not item[1]["pinned"])
    for name, playlist in ordered:
        if playlist["pinned"]:
            note = "pinned: protected from the purge"
        else:
            note = "curated: " + notes.get(name, "")
        say(f"    {name:<32}{num(len(playlist['ids'])):>5} recordings  ({note})")
    say("  Time:")
    for title, seconds in timings.steps:
        say(f"    {title:<44}{seconds:>6.1f} s")
    say(f"    {'total':<44}{total:>6.1f} s")
    say()
    say(f"Everything Airflow printed is in {LOG.relative_to(ROOT)}.")


def main() -> int:
    children = Children()

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_demo(children)
    except KeyboardInterrupt:
        say("\nInterrupted: stopping the emulator and Airflow.")
        return 130
    except DemoError as exc:
        say(f"\nDemo failed: {exc}")
        say(f"Last lines of {LOG.relative_to(ROOT)}:")
        say(log_tail())
        return 1
    finally:
        children.stop_all()
        READY_FILE.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
