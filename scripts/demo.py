"""`make demo`: the provider's main jobs, end to end, on a real Airflow.

1. starts the PostHog emulator (a local HTTP server that behaves like PostHog's session
   recordings API) on a free loopback port with its default profile, ``cloud``: PostHog Cloud
   as a personal API key sees it (bulk deletes refused, so one DELETE per recording; playlist
   item changes refused; 240 requests a minute and 1,200 an hour per key). It is seeded with
   a few thousand recordings over 90 days, some ongoing, some in a pinned playlist, some with
   console errors;
2. prepares an Airflow home in ``airflow_home/`` (SQLite, no example DAGs, the DAGs folder
   ``example_dags/``) and runs ``airflow db migrate``; the emulator is given to Airflow as
   the ``posthog_default`` connection through ``AIRFLOW_CONN_POSTHOG_DEFAULT``;
3. runs ``airflow dags test`` on the retention DAG (a report-only run, then a real run
   with a per-run budget: the oldest candidates go, the rest is the backlog of later
   runs), on the playlist curation DAG (two saved searches) and on the GDPR erasure DAG
   (one person's recordings);
4. after each step reads the emulator's state back over HTTP and checks it against the
   retention rule (:class:`RetentionPolicy`, the package's own), then prints a summary with
   what the backlog costs in the key's budget.

Every request of the demo goes to the emulator with the same key, so the demo is sized to
stay under the key's 240 requests a minute (see ``MAX_DELETIONS_PER_RUN``); the DAG runs log
each request (the client's transport at DEBUG), which the demo counts by status.

Airflow's own output goes to ``airflow_home/demo.log``. Standard library and this package
only; every process it starts is stopped before it exits, also on Ctrl-C.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.models import Recording
from airflow_provider_posthog_recordings.jobs.retention import RetentionPolicy

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = ROOT / "airflow_home"
DAGS_FOLDER = ROOT / "example_dags"
LOG = AIRFLOW_HOME / "demo.log"
READY_FILE = AIRFLOW_HOME / "emulator-ready.json"

# Which PostHog the emulator is: its default profile, with PostHog's budgets on.
PROFILE = "cloud"
PROFILE_TEXT = "PostHog Cloud, personal API key: bulk deletes refused, 240/min and 1,200/h"
KEY_PER_MINUTE = 240
KEY_PER_HOUR = 1200

# The seeded PostHog project.
RECORDINGS = 3000
DAYS = 90
ONGOING = 12
PINNED = 150
SEED = 2024

# The retention DAG's params for this demo. With 3,000 recordings over 90 days about 1,900
# are older than 30 days: at one DELETE each and 240 a minute (1,200 an hour) that is a
# purge of over an hour and a half. The real run deletes the oldest MAX_DELETIONS_PER_RUN and
# reports the rest as the backlog that the next daily runs take.
OLDER_THAN_DAYS = 30
MAX_DELETIONS_PER_RUN = 150
MAX_DELETIONS = 5000  # the typo guard on the number of candidates: above the ~1,900

# Every request of the demo, with the one key (measured on this seed; the emulator counts
# all processes together against 240/minute and 1,200/hour):
#   the demo's snapshots: 8 each (6 pages of 500 recordings, the playlists, the pinned
#     playlist's items) before and after each of the report-only run, the purge and the erasure
#     (4 snapshots), and 1 to read the playlists after the curation            33
#   retention report-only run: the pinned playlist and its items, 5 pages of candidates  7
#   retention real run: those 7, a check after deleting, 1 bulk_delete refused
#     (403: the client falls back to single deletes), 150 DELETEs             159
#   curation: per playlist, a search by name and a create                        4
#   erasure (a person with 3 to 5 recordings): 3 lists, 1 refused bulk_delete,
#     1 DELETE per recording                                                 <= 9
#   in all                                                                   <= 212
# so the whole demo stays under the key's 240 a minute, whatever its pace; the demo counts
# the requests again as it runs and reports any 429.
SNAPSHOT_LOOKBACK_DAYS = DAYS + 365

RETENTION_DAG = "posthog_retention_policy"
CURATION_DAG = "posthog_playlist_curation"
ERASURE_DAG = "posthog_gdpr_erasure"
ERRORS_PLAYLIST = "Sessions with console errors"
LONG_PLAYLIST = "Long sessions"
LONG_SESSION_SECONDS = 300
CURATION_DAYS = 7
# The erasure's person: a distinct id with this many recordings (the most, then by name).
ERASURE_RECORDINGS = range(3, 6)

# The example DAGs' tasks run in the pool `posthog_api`; `airflow dags test` runs them without
# it (measured), so the demo does not create it.

STEP_TIMEOUT = 600.0
EMULATOR_START_TIMEOUT = 60.0

# What the client logs (at INFO or above, so in `airflow dags test`'s output) when PostHog
# throttles a request (429), and when it refuses one (403).
THROTTLED_LINE = re.compile(r"was throttled \(429\)")
REFUSED_LINE = re.compile(r"answered 403|\(403[:)]|does not support personal API key access")
# Requests of the DAG runs that do not report their count (measured on the emulator):
# curation, per playlist a search by name and a create; erasure, 3 lists (the person's
# recordings, their existence before deleting, none left after) and 1 refused bulk_delete,
# plus 1 DELETE per recording.
CURATION_REQUESTS = 4
ERASURE_REQUESTS_BESIDES_DELETES = 4


class DemoError(Exception):
    """A step failed: the message says which, and the log has the details."""


# ---------------------------------------------------------------- output


def say(text: str = "", end: str = "\n") -> None:
    """Print at once (the steps' output interleaves with the children's)."""
    print(text, end=end, flush=True)


def num(value: int) -> str:
    """``1234`` as ``1,234``."""
    return f"{value:,}"


def log_tail(lines: int = 40) -> str:
    """The last lines of the log, for a failure message."""
    try:
        text = LOG.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def append_log(text: str) -> None:
    """Append a line of the demo's own to the log."""
    with LOG.open("a", encoding="utf-8") as handle:
        handle.write(text)


@dataclass
class Timings:
    """The time of each step, for the summary."""

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
        """Start a child in its own process group, its output to ``output``."""
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
        """Stop every child still running, the newest first."""
        for proc in reversed(list(self.procs)):
            with suppress(Exception):
                self.stop(proc)


# ---------------------------------------------------------------- the emulator


@dataclass
class Emulator:
    """The emulator subprocess and the demo's own client of it.

    The client has the key's budget (240 a minute, 1,200 an hour), like every client of the
    key; its request and 429 counts are the demo's own share.
    """

    proc: subprocess.Popen[bytes]
    url: str
    api_key: str
    project_id: int
    profile: str
    client: PostHogClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.client = PostHogClient(
            self.url,
            self.api_key,
            self.project_id,
            requests_per_minute=KEY_PER_MINUTE,
            requests_per_hour=KEY_PER_HOUR,
            max_retries=2,
        )

    def connection_json(self) -> str:
        """The ``posthog_default`` connection, as Airflow reads it from the environment."""
        return json.dumps(
            {
                "conn_type": "posthog",
                "host": self.url,
                "password": self.api_key,
                "extra": {"project_id": self.project_id},
            }
        )


def start_emulator(children: Children) -> Emulator:
    """Start the emulator (profile ``cloud``, budgets on) and wait until it serves."""
    READY_FILE.unlink(missing_ok=True)
    args = [
        sys.executable,
        "-m",
        "posthog_recordings_emulator",
        "--profile",
        PROFILE,
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
    profile = str(ready.get("profile", ""))
    if profile != PROFILE:
        raise DemoError(f"the emulator serves profile {profile!r}, not {PROFILE!r}")
    return Emulator(proc, ready["url"], ready["api_key"], int(ready["project_id"]), profile)


@dataclass(frozen=True)
class PlaylistState:
    """One playlist as the API shows it.

    Attributes:
        short_id: PostHog's short id.
        pinned: whether it is pinned (the retention DAG protects a pinned collection).
        kind: ``collection`` (hand-picked recordings) or ``filters`` (a saved search).
        filters: a saved search's filters (empty for a collection).
        ids: a collection's items (empty for a saved search, or when not read).
    """

    short_id: str
    pinned: bool
    kind: str
    filters: dict[str, Any]
    ids: frozenset[str]


@dataclass
class Snapshot:
    """The project's recordings and playlists, as the API shows them."""

    recordings: dict[str, Recording]
    playlists: dict[str, PlaylistState]


def read_playlists(client: PostHogClient, *, items: bool = True) -> dict[str, PlaylistState]:
    """Every live playlist by name; with ``items``, a collection's items too (one request)."""
    playlists = {}
    for playlist in client.iter_playlists():
        if playlist.deleted:
            continue
        ids: frozenset[str] = frozenset()
        if items and playlist.is_collection:
            read = client.read_collection(playlist)
            check(read.complete, f"the items of playlist {playlist.short_id} were not all read")
            ids = read.ids
        playlists[playlist.name or playlist.short_id] = PlaylistState(
            short_id=playlist.short_id,
            pinned=playlist.pinned,
            kind="collection" if playlist.is_collection else "filters",
            filters=dict(playlist.filters or {}),
            ids=ids,
        )
    return playlists


def snapshot(client: PostHogClient) -> Snapshot:
    """Every recording (a window wider than the seeded one) and every playlist."""
    since = datetime.now(timezone.utc) - timedelta(days=SNAPSHOT_LOOKBACK_DAYS)
    recordings = {rec.id: rec for rec in client.iter_recordings({"date_from": since})}
    return Snapshot(recordings, read_playlists(client))


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
    """``airflow dags test <dag_id> [-c conf]``; its output."""
    args = ["dags", "test", dag_id]
    if conf is not None:
        args += ["-c", json.dumps(conf)]
    return run_airflow(children, env, *args)


@dataclass(frozen=True)
class KeyUse:
    """What one sender did with the key.

    Attributes:
        label: who sent the requests.
        requests: how many.
        counted: True when counted (the demo's client, a purge's manifest); False when the
            DAG does not report it and this is the expected count.
        throttled: 429 answers.
        refused: 403 answers.
    """

    label: str
    requests: int
    counted: bool
    throttled: int
    refused: int


@dataclass
class ApiUse:
    """The requests sent with the key, by sender."""

    uses: list[KeyUse] = field(default_factory=list)

    def add_run(self, label: str, output: str, requests: int, *, counted: bool) -> KeyUse:
        """A DAG run: its 429s and 403s as its output logs them."""
        lines = output.splitlines()
        use = KeyUse(
            label=label,
            requests=requests,
            counted=counted,
            throttled=sum(1 for line in lines if THROTTLED_LINE.search(line)),
            refused=sum(1 for line in lines if REFUSED_LINE.search(line)),
        )
        self.uses.append(use)
        return use

    def add_demo(self, client: PostHogClient) -> None:
        """The demo's own requests, as its client counted them."""
        self.uses.append(
            KeyUse("the demo's snapshots", client.request_count, True, client.throttled_count, 0)
        )

    @property
    def requests(self) -> int:
        """Every request sent with the key."""
        return sum(use.requests for use in self.uses)

    @property
    def throttled(self) -> int:
        """Every 429."""
        return sum(use.throttled for use in self.uses)


# ---------------------------------------------------------------- checks


def check(condition: bool, message: str) -> None:
    """Stop the demo with ``message`` unless ``condition`` holds."""
    if not condition:
        raise DemoError(f"check failed: {message}")


def start_key(rec: Recording) -> tuple[datetime, str]:
    """The purge's order: oldest first, then by id (PostHog's order for equal start times)."""
    return (rec.start_time or datetime.min.replace(tzinfo=timezone.utc), rec.id)


def verdicts(before: Snapshot, cutoff: datetime) -> tuple[list[Recording], Counter[str]]:
    """The retention rule on every recording: candidates oldest first, and kept by reason.

    The rule is the package's :class:`RetentionPolicy`, with the pinned playlists' items as
    the protected ids (the DAG runs with ``keep_pinned=True``).
    """
    protected = frozenset(
        rid for playlist in before.playlists.values() if playlist.pinned for rid in playlist.ids
    )
    policy = RetentionPolicy(cutoff=cutoff, protected_ids=protected)
    candidates: list[Recording] = []
    kept: Counter[str] = Counter()
    for rec in before.recordings.values():
        decision = policy.decide(rec)
        if decision.delete:
            candidates.append(rec)
        elif decision.reason is not None:
            kept[decision.reason.value] += 1
    return sorted(candidates, key=start_key), kept


def log_entry_filters(filters: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``log_entry`` filters anywhere in a saved search's ``filter_group``."""
    found: list[dict[str, Any]] = []
    pending: list[Any] = [filters.get("filter_group")]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if node.get("type") == "log_entry":
                found.append(node)
            pending.extend(node.get("values") or [])
    return found


def check_saved_search(name: str, playlist: PlaylistState | None) -> None:
    """The curated playlist is a saved search with the curation DAG's filters."""
    if playlist is None:
        raise DemoError(f"check failed: playlist {name!r} was not created")
    check(playlist.kind == "filters", f"{name!r} is a {playlist.kind!r} playlist, not 'filters'")
    filters = playlist.filters
    check(
        filters.get("date_from") == f"-{CURATION_DAYS}d",
        f"{name!r} searches from {filters.get('date_from')!r}, not -{CURATION_DAYS}d",
    )
    if name == ERRORS_PLAYLIST:
        check(
            any(
                f.get("key") == "level"
                and f.get("operator") == "exact"
                and f.get("value") == ["error"]
                for f in log_entry_filters(filters)
            ),
            f"{name!r} has no console-error filter (log_entry level = error)",
        )
    if name == LONG_PLAYLIST:
        check(
            any(
                f.get("key") == "duration"
                and f.get("operator") == "gt"
                and f.get("value") == LONG_SESSION_SECONDS
                for f in filters.get("duration") or []
            ),
            f"{name!r} has no filter duration > {LONG_SESSION_SECONDS} in filters['duration']",
        )


def saved_search_matches(name: str, recordings: dict[str, Recording]) -> int:
    """How many recordings of the snapshot the saved search matches now."""
    since = datetime.now(timezone.utc) - timedelta(days=CURATION_DAYS)
    recent = [r for r in recordings.values() if r.start_time and r.start_time >= since]
    if name == ERRORS_PLAYLIST:
        return sum(1 for r in recent if r.console_error_count)
    return sum(1 for r in recent if (r.recording_duration or 0) > LONG_SESSION_SECONDS)


def pick_person(recordings: dict[str, Recording]) -> tuple[str, frozenset[str]]:
    """A distinct id with a few recordings (:data:`ERASURE_RECORDINGS`), and its recordings."""
    by_person: defaultdict[str, set[str]] = defaultdict(set)
    for rec in recordings.values():
        if rec.distinct_id:
            by_person[rec.distinct_id].add(rec.id)
    few = [(len(ids), did) for did, ids in by_person.items() if len(ids) in ERASURE_RECORDINGS]
    check(
        bool(few),
        f"no distinct id has {ERASURE_RECORDINGS.start}-{ERASURE_RECORDINGS.stop - 1} recordings",
    )
    _, distinct_id = max(few)
    return distinct_id, frozenset(by_person[distinct_id])


def check_key_use(use: KeyUse, refused_allowed: int = 0) -> None:
    """A DAG run was not throttled, and refused no more than expected (bulk_delete's 403)."""
    check(use.throttled == 0, f"{use.label}: {use.throttled} requests throttled (429)")
    check(
        use.refused <= refused_allowed,
        f"{use.label}: {use.refused} requests refused (403), expected at most {refused_allowed}",
    )


# ---------------------------------------------------------------- the demo


def real_conf(*, report_only: bool) -> dict[str, Any]:
    """The retention DAG's run conf: the demo's period, typo guard and per-run budget."""
    return {
        "older_than_days": OLDER_THAN_DAYS,
        "report_only": report_only,
        "max_deletions": MAX_DELETIONS,
        "max_deletions_per_run": MAX_DELETIONS_PER_RUN,
    }


@dataclass
class Results:
    """What the summary reports."""

    before: Snapshot
    after: Snapshot
    dry: dict[str, Any]
    real: dict[str, Any]
    candidates: list[Recording]
    kept: Counter[str]
    deleted: set[str]
    playlists: dict[str, PlaylistState]
    person: str
    erased: frozenset[str]
    api: ApiUse
    timings: Timings
    total: float = 0.0


def run_demo(children: Children) -> None:
    """Run every step, check it, and print the summary."""
    AIRFLOW_HOME.mkdir(exist_ok=True)
    LOG.write_text(f"make demo, {datetime.now(timezone.utc).isoformat()}\n", encoding="utf-8")
    timings = Timings()
    api = ApiUse()
    total_steps = 6
    started = time.monotonic()
    say("PostHog session recordings provider: demo on a real Airflow")
    say(f"  PostHog: the emulator's profile {PROFILE!r} = {PROFILE_TEXT}")
    say(f"  Airflow home {AIRFLOW_HOME.relative_to(ROOT)}/, log {LOG.relative_to(ROOT)}")
    say()

    with timings.step(1, total_steps, f"Start the PostHog emulator ({PROFILE})") as result:
        emulator = start_emulator(children)
        client = emulator.client
        before = snapshot(client)
        errors = sum(1 for r in before.recordings.values() if r.console_error_count)
        ongoing = sum(1 for r in before.recordings.values() if r.ongoing)
        protected = {rid for p in before.playlists.values() if p.pinned for rid in p.ids}
        check(len(before.recordings) == RECORDINGS, "the emulator did not list every recording")
        check(len(protected) == PINNED, f"the pinned playlist holds {len(protected)}, not {PINNED}")
        result["text"] = (
            f"{num(len(before.recordings))} recordings over {DAYS} days, {ongoing} ongoing, "
            f"{num(errors)} with errors, {len(protected)} pinned"
        )

    env = airflow_env(emulator)
    with timings.step(2, total_steps, "airflow db migrate (SQLite)") as result:
        run_airflow(children, env, "db", "migrate")
        result["text"] = f"ok: {AIRFLOW_HOME.relative_to(ROOT)}/airflow.db"

    dry_conf = real_conf(report_only=True)
    title = f"Retention DAG, report-only run ({OLDER_THAN_DAYS} days)"
    with timings.step(3, total_steps, title) as result:
        output = dags_test(children, env, RETENTION_DAG, dry_conf)
        dry = manifest_from(output)
        check_key_use(
            api.add_run("retention, report-only run", output, dry["requests"], counted=True)
        )
        after_dry = snapshot(client)
        candidates, kept = verdicts(after_dry, datetime.fromisoformat(dry["cutoff"]))
        check(
            dry["report_only"] is True,
            "the report-only run's manifest says it was not a report-only run",
        )
        check(
            after_dry.recordings.keys() == before.recordings.keys(),
            "the report-only run deleted recordings",
        )
        check(
            dry["candidates"] == len(candidates),
            f"the report-only run found {dry['candidates']} candidates, the rule {len(candidates)}",
        )
        result["text"] = (
            f"{num(dry['candidates'])} candidates, would delete {num(dry['planned'])}, deleted none"
        )

    title = f"Retention DAG, for real (budget {MAX_DELETIONS_PER_RUN})"
    with timings.step(4, total_steps, title) as result:
        output = dags_test(children, env, RETENTION_DAG, real_conf(report_only=False))
        real = manifest_from(output)
        # One refused bulk_delete: the client then deletes one recording per request.
        use = api.add_run("retention, real run", output, real["requests"], counted=True)
        check_key_use(use, refused_allowed=1)
        after_purge = snapshot(client)
        candidates, kept = verdicts(after_dry, datetime.fromisoformat(real["cutoff"]))
        planned = min(len(candidates), MAX_DELETIONS_PER_RUN)
        expected = {rec.id for rec in candidates[:planned]}
        deleted = set(after_dry.recordings) - set(after_purge.recordings)
        appeared = set(after_purge.recordings) - set(after_dry.recordings)
        check(not appeared, f"{len(appeared)} recordings appeared from nowhere")
        check(real["candidates"] == len(candidates), "the manifest's candidates differ")
        check(real["planned"] == planned, f"planned {real['planned']}, expected {planned}")
        check(
            deleted == expected,
            f"deleted {len(deleted)} recordings, expected exactly the {len(expected)} oldest "
            f"candidates ({len(deleted - expected)} deleted wrongly, "
            f"{len(expected - deleted)} not deleted)",
        )
        check(real["deleted"] == len(deleted), "the manifest's count differs from the emulator's")
        check(not deleted & protected, "recordings of the pinned playlist were deleted")
        check(
            all(after_purge.playlists[n].ids == p.ids for n, p in after_dry.playlists.items()),
            "a playlist's items changed",
        )
        check(
            real["backlog"] == len(candidates) - planned,
            f"backlog {real['backlog']}, expected {len(candidates) - planned}",
        )
        check(real["failed"] == 0, "some deletions failed")
        # The purge lists only recordings older than the cutoff: compare the other reasons.
        listed_kept = {k: v for k, v in kept.items() if k != "newer_than_cutoff"}
        check(
            {k: v for k, v in real["kept"].items() if k != "newer_than_cutoff"} == listed_kept,
            f"the manifest keeps {real['kept']}, the rule {listed_kept}",
        )
        result["text"] = (
            f"deleted {num(real['deleted'])}: exactly the oldest candidates; "
            f"backlog {num(real['backlog'])}"
        )

    with timings.step(5, total_steps, f"Curation DAG (last {CURATION_DAYS} days)") as result:
        output = dags_test(children, env, CURATION_DAG)
        check_key_use(api.add_run("curation", output, CURATION_REQUESTS, counted=False))
        playlists = read_playlists(client, items=False)
        for name in (ERRORS_PLAYLIST, LONG_PLAYLIST):
            check_saved_search(name, playlists.get(name))
        result["text"] = "2 saved searches (type filters), no request refused"

    person, erased = pick_person(after_purge.recordings)
    with timings.step(6, total_steps, "GDPR erasure DAG (one distinct id)") as result:
        output = dags_test(children, env, ERASURE_DAG, {"distinct_id": person})
        expected_requests = ERASURE_REQUESTS_BESIDES_DELETES + len(erased)
        use = api.add_run("erasure", output, expected_requests, counted=False)
        check_key_use(use, refused_allowed=1)
        after = snapshot(client)
        gone = set(after_purge.recordings) - set(after.recordings)
        check(not set(after.recordings) - set(after_purge.recordings), "recordings appeared")
        check(not erased & set(after.recordings), f"recordings of {person} are left")
        check(gone == erased, f"the erasure deleted {len(gone - erased)} other recordings")
        result["text"] = f"{person}: its {len(erased)} recordings deleted, nothing else"

    api.add_demo(client)
    client.close()
    check(api.throttled == 0, f"{api.throttled} requests were throttled (429)")
    results = Results(
        before=before,
        after=after,
        dry=dry,
        real=real,
        candidates=candidates,
        kept=kept,
        deleted=deleted,
        playlists=playlists,
        person=person,
        erased=erased,
        api=api,
        timings=timings,
        total=time.monotonic() - started,
    )
    print_summary(results)


KEPT_REASONS = {
    "newer_than_cutoff": "newer than the cutoff",
    "protected_playlist": "in a pinned playlist",
    "ongoing": "ongoing",
    "no_start_time": "no start time",
    "shared": "publicly shared",
}


def print_summary(r: Results) -> None:
    """Print what was deleted, kept and left, what the backlog costs, and the times."""
    real = r.real
    cutoff = datetime.fromisoformat(real["cutoff"])
    per_run = MAX_DELETIONS_PER_RUN
    older = [
        sum(1 for rec in snap.recordings.values() if rec.start_time and rec.start_time < cutoff)
        for snap in (r.before, r.after)
    ]
    # The backlog's cost: one DELETE per recording, plus each run's listing and refused bulk.
    overhead = real["requests"] - real["deleted"]
    runs = math.ceil(real["backlog"] / per_run) if per_run else 0
    backlog_requests = real["backlog"] + runs * overhead
    oldest = r.candidates[0].start_time if r.candidates else None
    newest_deleted = r.candidates[real["planned"] - 1].start_time if real["planned"] else None

    say()
    say("Summary")
    say(f"  PostHog:  emulator profile {PROFILE!r}: {PROFILE_TEXT}")
    say(f"  Retention policy: delete recordings started before {cutoff:%Y-%m-%d %H:%M} UTC")
    say(f"  ({OLDER_THAN_DAYS} days before the run), keep pinned playlists' recordings")
    say(f"  Run conf: {json.dumps(real_conf(report_only=False))}")
    say()
    say(f"  {'recordings':<36}{'before':>9}{'at the end':>12}")
    say(f"  {'all':<36}{num(len(r.before.recordings)):>9}{num(len(r.after.recordings)):>12}")
    say(f"  {'older than the cutoff':<36}{num(older[0]):>9}{num(older[1]):>12}")
    say()
    say(
        f"  Report-only run:  {num(r.dry['candidates'])} candidates, would delete "
        f"{num(r.dry['planned'])} this run, deleted 0"
    )
    say(
        f"  Purge:    deleted {num(real['deleted'])} this run in {real['requests']} API requests "
        f"({real['failed']} failed): exactly the {num(real['planned'])} oldest candidates"
    )
    if oldest and newest_deleted:
        say(
            f"            (started {oldest:%Y-%m-%d} to {newest_deleted:%Y-%m-%d}; "
            "checked id by id)"
        )
    say(f"  Backlog:  {num(real['backlog'])} candidates left for the next daily runs, oldest first")
    say(
        f"            at {per_run} a run: {runs} more daily runs of ~{per_run + overhead} requests "
        f"({per_run} DELETEs + {overhead} to list and protect)"
    )
    say(
        f"            in the key's budget: ~{num(backlog_requests)} requests = "
        f"{backlog_requests / KEY_PER_HOUR:.1f} h at {num(KEY_PER_HOUR)} requests an hour"
    )
    say("  Kept, and why (the package's RetentionPolicy):")
    for reason, label in KEPT_REASONS.items():
        if r.kept.get(reason):
            say(f"    {label:<34}{num(r.kept[reason]):>7}")
    say(
        f"  Erasure:  {r.person}: its {len(r.erased)} recordings deleted "
        "(listed again: none left), nothing else"
    )
    say("  Playlists:")
    ordered = sorted(r.playlists.items(), key=lambda item: not item[1].pinned)
    for name, playlist in ordered:
        if playlist.pinned:
            note = f"{len(r.before.playlists[name].ids)} recordings, pinned: protected"
        else:
            matches = saved_search_matches(name, r.after.recordings)
            note = f"saved search ({playlist.kind}), {matches} match now"
        say(f"    {name:<32}{note}")
    total = r.api.requests
    pace = "under" if total < KEY_PER_MINUTE else "NOT under"
    say(f"  API requests with the key ({pace} its {KEY_PER_MINUTE} a minute, even all at once):")
    for use in r.api.uses:
        source = "" if use.counted else " (expected: the DAG does not count them)"
        refused = f", {use.refused} refused (403: bulk_delete)" if use.refused else ""
        say(f"    {use.label:<26}{use.requests:>5}{refused}{source}")
    say(f"    {'in all':<26}{total:>5}, throttled (429): {r.api.throttled}")
    say("  Time:")
    for title, seconds in r.timings.steps:
        say(f"    {title:<44}{seconds:>6.1f} s")
    say(f"    {'total':<44}{r.total:>6.1f} s")
    say()
    say(f"Everything Airflow printed is in {LOG.relative_to(ROOT)}.")


def main() -> int:
    """Run the demo; 0 when every check passed, 1 when one failed, 130 on Ctrl-C."""
    children = Children()

    def on_sigterm(signum: int, frame: Any) -> None:
        """Stop like on Ctrl-C: the children are stopped on the way out."""
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
