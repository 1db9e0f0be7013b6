"""Seeded fault schedules for the retention purge, and the invariants checked after each.

A :class:`Schedule` is derived from one integer seed, so a failing schedule replays exactly
(``python -m tests.reliability.run_schedules --seed S --schedules 1``). It decides:

* the data: 100-300 seeded recordings over 60 days, plus recordings exactly at the cutoff
  and a microsecond either side, old recordings that are still ongoing, recordings without
  a start time;
* the protections: a playlist protected by name, a pinned playlist, an ordinary playlist
  (not protected), a soft-deleted pinned playlist (not protected), a pinned saved search,
  and sometimes PostHog's synthetic "Shared recordings" playlist protected by name;
* the server: an emulator profile drawn by the seed (``cloud`` 50%: PostHog Cloud for a
  personal API key, bulk actions refused with 403, DELETE never 404s, playlist items in one
  answer, synthetic playlists; ``cloud_bulk_delete`` 30%: bulk_delete accepted, sometimes
  refused part-way through the deletion; ``self_hosted_legacy`` 20%: offset pagination, 20-id
  bulk answers without ``failed_ids``, 404 or 500 for deleting twice, sometimes no bulk routes
  at all), always with PostHog's request budgets (240/minute, 1,200/hour), kept on a
  simulated clock that the emulator and the clients share (waits take no real time);
* the faults: random faults of several kinds at a random rate (429 with the wait in
  ``detail`` or in ``Retry-After``, 500/502/503/504, dropped connections before and after
  the server acted, slow answers that hit the client's read timeout, truncated and non-JSON
  bodies, pages that repeat items of the previous page), plus targeted faults on the
  deletion requests, plus recordings deleted by someone else between the listing and the
  first deletion request, or right after the listing (before the first existence check);
* the client: page size, concurrency.

:func:`run_schedule` runs :func:`run_purge` on a :class:`PostHogClient` against a fresh
emulator (sometimes a report-only run and a run stopped by ``max_deletions`` first), and when
the run gives up, checks that the error is clear and reruns it without faults, as a task
retry would.
The expected deletions are computed here from the emulator's data, not by the package's
policy: a start time before the cutoff, not ongoing, not in a protected playlist. Every run
that ends with a manifest must also account exactly: its ``deleted`` equals the number of
recordings the emulator deleted through the API during that run, and no id it reports as
already gone (or failed) was deleted by it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import re
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from posthog_recordings_emulator import PROFILES, PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import (
    PostHogConfigError,
    PostHogError,
    PostHogPaginationError,
)
from airflow_provider_posthog_recordings.client.models import DeleteResult
from airflow_provider_posthog_recordings.jobs import purge
from airflow_provider_posthog_recordings.jobs.purge import PurgeSettings
from tests.integration.conformance.helpers import HookedSession, SimClock

#: The emulator's fixed "now" and the purge's reference time (data_interval_end).
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
SPREAD_DAYS = 60
DEFAULT_RECORDINGS = (100, 300)

ALL_KINDS = (
    "429_detail",
    "429_retry_after",
    "500",
    "502",
    "503",
    "504",
    "drop_before",
    "drop_after",
    "slow",
    "truncated",
    "non_json",
    "repeat_items",
    "recording_api_failure",
)

#: The server profiles the schedules draw from, with their weights.
PROFILE_WEIGHTS = {"cloud": 50, "cloud_bulk_delete": 30, "self_hosted_legacy": 20}
#: When someone else deletes candidates: just before the first deletion request (the first
#: bulk call), or right after the listing (before the first existence check).
OUT_OF_BAND_MOMENTS = ("first_delete", "after_listing")
#: Package bugs the exact-accounting checks find (reported, and told apart from new breaks).

#: Simulated time between two runs of a schedule (a task retry comes later).
BETWEEN_RUNS_SECONDS = 3600.0

#: Small, fast client settings: a slow answer (SLOW_SECONDS) is a read timeout.
CLIENT_TIMEOUT = (2.0, 0.5)
SLOW_SECONDS = 0.75
MAX_RETRIES = 4
MAX_THROTTLE_RETRIES = 6

#: Loggers whose every line (DEBUG included) is searched for the key.
WATCHED_LOGGERS = ("airflow_provider_posthog_recordings", "urllib3", "requests")

NAMED_PLAYLIST = "Legal hold"
PINNED_PLAYLIST = "Pinned by support"
ORDINARY_PLAYLIST = "Ordinary collection"
DELETED_PLAYLIST = "Deleted pinned playlist"
SAVED_SEARCH = "Pinned saved search"
SHARED_SYNTHETIC = "Shared recordings"

_REQUEST_NAMED = re.compile(r"\b(GET|POST|PATCH|DELETE) /api/projects/\d+/\S+")


def no_wait(seconds: float) -> None:
    """The clients' sleep: retries and throttling waits are instant (the emulator's are not)."""


# ----------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class Targeted:
    """A queued fault for specific requests (``PostHogEmulator.inject``)."""

    kind: str
    times: int
    method: str | None
    path_contains: str | None
    skip: int = 0


@dataclass(frozen=True)
class Schedule:
    """Everything one seeded run does; :meth:`from_seed` is the only constructor used."""

    seed: int
    recordings: int
    older_than_days: int
    kinds: tuple[str, ...]
    rate: float
    targeted: tuple[Targeted, ...]
    profile: str
    bulk_mode: str | None
    refuse_bulk_at: int | None
    delete_missing_status: int | None
    page_size: int
    concurrency: int
    max_retries: int
    out_of_band: int
    out_of_band_kept: int
    out_of_band_at: str
    named: int
    pinned: int
    ordinary: int
    deleted_pinned: int
    saved_search: bool
    shared: int
    ongoing_old: int
    no_start: int
    boundary: bool
    cap_first: bool
    report_only_first: bool

    @classmethod
    def from_seed(cls, seed: int, *, recordings: tuple[int, int] = DEFAULT_RECORDINGS) -> Schedule:
        rng = random.Random(f"posthog-reliability:{seed}")
        kinds = tuple(sorted(rng.sample(ALL_KINDS, rng.randint(1, len(ALL_KINDS)))))
        targeted: list[Targeted] = []
        if rng.random() < 0.3:
            targeted.append(
                Targeted(
                    "drop_after", rng.randint(1, 2), "POST", "/session_recordings/bulk_delete/"
                )
            )
        if rng.random() < 0.2:
            targeted.append(
                Targeted("slow", 1, "POST", "/session_recordings/bulk_delete/", rng.randint(0, 1))
            )
        if rng.random() < 0.2:
            targeted.append(Targeted("drop_after", rng.randint(1, 4), "DELETE", None))
        if rng.random() < 0.2:
            targeted.append(Targeted("truncated", rng.randint(1, 3), "DELETE", None))
        if rng.random() < 0.3:
            targeted.append(
                Targeted(
                    "repeat_items", rng.randint(1, 3), "GET", "/recordings/", rng.randint(0, 2)
                )
            )
        profile = rng.choices(list(PROFILE_WEIGHTS), weights=list(PROFILE_WEIGHTS.values()))[0]
        # None: as the profile says. A legacy server sometimes has no bulk routes at all, and
        # answers 404 (or, without its recording service, 500) to deleting a deleted one.
        bulk_mode = "missing" if profile == "self_hosted_legacy" and rng.random() < 0.25 else None
        missing_status = rng.choice([404, 404, 500]) if profile == "self_hosted_legacy" else None
        refuse_at = (
            rng.randint(1, 2) if profile == "cloud_bulk_delete" and rng.random() < 0.35 else None
        )
        shared = rng.randint(1, 3) if rng.random() < 0.25 else 0
        return cls(
            seed=seed,
            recordings=rng.randint(*recordings),
            older_than_days=rng.choice([7, 14, 30, 45]),
            kinds=kinds,
            rate=round(rng.uniform(0.03, 0.35), 3),
            targeted=tuple(targeted),
            profile=profile,
            bulk_mode=bulk_mode,
            refuse_bulk_at=refuse_at,
            delete_missing_status=missing_status,
            page_size=rng.choice([20, 50, 100, 500]),
            concurrency=rng.randint(1, 4),
            max_retries=rng.choice([1, 2, MAX_RETRIES, MAX_RETRIES]),
            out_of_band=rng.randint(0, 8),
            out_of_band_kept=rng.randint(0, 2),
            out_of_band_at=rng.choice(OUT_OF_BAND_MOMENTS),
            named=rng.choice([0, 2, 5, 30]),
            pinned=rng.choice([0, 3, 25]),
            ordinary=rng.randint(0, 4),
            deleted_pinned=rng.randint(0, 3),
            saved_search=rng.random() < 0.3,
            shared=shared,
            ongoing_old=rng.randint(0, 3),
            no_start=rng.randint(0, 2),
            boundary=rng.random() < 0.6,
            cap_first=rng.random() < 0.1,
            report_only_first=rng.random() < 0.15,
        )

    @property
    def cutoff(self) -> datetime:
        return NOW - timedelta(days=self.older_than_days)

    def describe(self) -> str:
        return (
            f"seed={self.seed} n={self.recordings} days={self.older_than_days} "
            f"rate={self.rate} kinds={','.join(self.kinds)} profile={self.profile}"
            f"{f' bulk={self.bulk_mode}' if self.bulk_mode else ''}"
            f"{f'->refuse@{self.refuse_bulk_at}' if self.refuse_bulk_at else ''} "
            f"oob={self.out_of_band}+{self.out_of_band_kept}@{self.out_of_band_at} "
            f"page={self.page_size} conc={self.concurrency} retries={self.max_retries}"
        )


# ----------------------------------------------------------------------------- outcome


@dataclass
class Outcome:
    """What one schedule did and every invariant it broke (``problems`` empty = passed)."""

    seed: int
    faults: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    expected: int = 0
    wrongful: set[str] = field(default_factory=set)
    missed: set[str] = field(default_factory=set)
    miscounted: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    unclear: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def broke(self, text: str, *, other: bool = False) -> None:
        """Record a broken invariant (``other``: not counted under a named figure)."""
        self.problems.append(text)
        if other:
            self.other.append(text)

    def report(self) -> str:
        lines = [f"seed {self.seed}: {len(self.problems)} problem(s)"]
        lines += [f"  - {problem}" for problem in self.problems]
        lines += [f"  error seen: {error}" for error in self.errors]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- helpers


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception as exc:  # a broken record must not hide the others
            self.lines.append(f"unformattable record: {exc!r}")


@contextmanager
def capture_logs() -> Iterator[list[str]]:
    """Every line of the watched loggers, at DEBUG, formatted (tracebacks included)."""
    handler = _Capture()
    saved = []
    for name in WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)


def set_bulk_mode(emulator: PostHogEmulator, mode: str) -> None:
    """Switch the emulator's bulk mode mid-run (it has no public setter: its config is frozen)."""
    core = emulator._core
    with core.lock:
        core.config = dataclasses.replace(core.config, bulk_mode=mode)


def wait_idle(emulator: PostHogEmulator, sent: int, timeout: float = 5.0) -> None:
    """Wait until the emulator has answered ``sent`` requests (slow ones act late)."""
    deadline = time.monotonic() + timeout
    while emulator.request_count < sent and time.monotonic() < deadline:
        time.sleep(0.02)
    # A request counted but still writing its answer cannot change state any more.


def parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _recording_id(rng: random.Random) -> str:
    bits = rng.getrandbits(128)
    bits = (bits & ~(0xF << 76)) | (0x7 << 76)
    bits = (bits & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=bits))


def error_is_clear(exc: BaseException) -> str | None:
    """None when ``exc`` is a clear error of this package, else why it is not."""
    if not isinstance(exc, PostHogError):
        return f"not a PostHogError: {type(exc).__module__}.{type(exc).__name__}: {exc}"
    text = str(exc)
    if len(text) < 20:
        return f"{type(exc).__name__} with a too short message: {text!r}"
    if isinstance(exc, PostHogConfigError | PostHogPaginationError):
        return None
    if not _REQUEST_NAMED.search(text):
        return f"{type(exc).__name__} does not name the request: {text!r}"
    return None


def find_leaks(key: str, texts: dict[str, Any]) -> list[str]:
    """Names of the texts that contain the key (or a long piece of it)."""
    secret_part = key[len("phx_") :]
    found = []
    for name, value in texts.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if key in text or secret_part in text:
            found.append(name)
    return found


# ----------------------------------------------------------------------------- world


@dataclass
class World:
    """A seeded emulator and the independent answer: what the policy must delete."""

    emulator: PostHogEmulator
    sim: SimClock
    key: str
    all_ids: set[str]
    expected: set[str]
    kept: set[str]
    keep_playlists: list[str]
    keep_shared: bool = False


def build_world(schedule: Schedule) -> World:
    rng = random.Random(f"posthog-reliability-data:{schedule.seed}")
    key = f"phx_rel{schedule.seed}_{rng.getrandbits(96):024x}"
    # PostHog's budgets on a simulated clock: the clients keep the same budgets on it and
    # their waits (for the budget, a 429, a backoff) advance it instead of sleeping. The
    # data's "now" stays NOW.
    sim = SimClock(NOW)
    emulator = PostHogEmulator(
        profile=schedule.profile,
        api_key=key,
        clock=lambda: NOW,
        monotonic=sim.monotonic,
        bulk_mode=schedule.bulk_mode,
        delete_missing_status=schedule.delete_missing_status,
    ).start()
    try:
        return _populate(schedule, emulator, sim, key, rng)
    except BaseException:
        emulator.stop()
        raise


def _populate(
    schedule: Schedule, emulator: PostHogEmulator, sim: SimClock, key: str, rng: random.Random
) -> World:
    cutoff = schedule.cutoff
    emulator.seed_recordings(
        schedule.recordings, days=SPREAD_DAYS, seed=schedule.seed, end=NOW, ongoing=2
    )
    if schedule.boundary:
        for delta in (
            timedelta(0),
            timedelta(microseconds=1),
            -timedelta(microseconds=1),
            -timedelta(seconds=1),
        ):
            emulator.add_recording(id=_recording_id(rng), start_time=cutoff + delta)
    for _ in range(schedule.ongoing_old):
        start = cutoff - timedelta(days=rng.uniform(1, 10))
        emulator.add_recording(id=_recording_id(rng), start_time=start, end_time=NOW, ongoing=True)
    for _ in range(schedule.no_start):
        emulator.add_recording(id=_recording_id(rng), start_time=None, end_time=None)

    records = {rid: emulator.recording(rid) for rid in sorted(emulator.recording_ids())}
    starts = {rid: parse_time(rec["start_time"]) for rid, rec in records.items()}
    old = sorted(rid for rid, start in starts.items() if start is not None and start < cutoff)
    young = sorted(set(records) - set(old))

    def pick(pool: list[str], count: int) -> list[str]:
        return rng.sample(pool, min(count, len(pool)))

    protected: set[str] = set()
    named = pick(old, schedule.named) + pick(young, 1)
    emulator.create_playlist(NAMED_PLAYLIST, recording_ids=named)
    protected.update(named)
    if schedule.pinned:
        pinned = pick(old, schedule.pinned)
        emulator.create_playlist(PINNED_PLAYLIST, pinned=True, recording_ids=pinned)
        protected.update(pinned)
    if schedule.ordinary:
        emulator.create_playlist(ORDINARY_PLAYLIST, recording_ids=pick(old, schedule.ordinary))
    if schedule.deleted_pinned:
        emulator.create_playlist(
            DELETED_PLAYLIST,
            pinned=True,
            deleted=True,
            recording_ids=pick(old, schedule.deleted_pinned),
        )
    if schedule.saved_search:
        emulator.create_playlist(
            SAVED_SEARCH, type="filters", pinned=True, filters={"date_from": "-7d"}
        )
    keep = [NAMED_PLAYLIST]
    keep_shared = False
    if schedule.shared:
        shared = pick(old, schedule.shared)
        for rid in shared:
            emulator.set_sharing(rid, True)
        protected.update(shared)
        # Servers with system playlists protect them by the name "Shared recordings"; an
        # older server has none, and the purge asks each candidate's sharing instead.
        if PROFILES[schedule.profile].synthetic_playlists:
            keep.append(SHARED_SYNTHETIC)
        else:
            keep_shared = True

    expected = {
        rid
        for rid, rec in records.items()
        if starts[rid] is not None
        and starts[rid] < cutoff
        and not rec.get("ongoing")
        and rid not in protected
    }
    kept = set(records) - expected
    return World(emulator, sim, key, set(records), expected, kept, keep, keep_shared)


# ----------------------------------------------------------------------------- running


class _Run:
    """One schedule's moving parts: clients, hooks, checks."""

    def __init__(self, schedule: Schedule, world: World, outcome: Outcome) -> None:
        self.schedule = schedule
        self.world = world
        self.outcome = outcome
        self.rng = random.Random(f"posthog-reliability-run:{schedule.seed}")
        self.clients: list[PostHogClient] = []
        self.lock = threading.Lock()
        self.bulk_deletes = 0
        self.deletion_started = False
        self.hooks_on = True
        candidates = sorted(world.expected)
        kept = sorted(world.kept)
        self.gone_by_others: set[str] = set()
        self.out_of_band = set(
            self.rng.sample(candidates, min(schedule.out_of_band, len(candidates)))
            + self.rng.sample(kept, min(schedule.out_of_band_kept, len(kept)))
        )

    def before_request(self, method: str, url: str) -> None:
        """The hooks of the faulty run: refuse bulk part-way, others deleting candidates."""
        if not self.hooks_on:
            return
        is_bulk_delete = method == "POST" and "/session_recordings/bulk_delete/" in url
        is_delete = method == "DELETE" and "/session_recordings/" in url
        is_existence_check = (
            method == "GET" and "/session_recordings/?" in url and ("session_ids=" in url)
        )
        with self.lock:
            if is_bulk_delete:
                self.bulk_deletes += 1
                if self.bulk_deletes == self.schedule.refuse_bulk_at:
                    set_bulk_mode(self.world.emulator, "refuse")
                    self.outcome.events["bulk_refused_mid_run"] += 1
            if self.deletion_started:
                return
            if self.schedule.out_of_band_at == "after_listing":
                moment = is_existence_check
            else:
                moment = is_bulk_delete or is_delete
            if moment:
                self.deletion_started = True
                existing = self.world.emulator.recording_ids()
                for rid in sorted(self.out_of_band & existing):
                    self.world.emulator.delete_recording(rid)
                self.gone_by_others |= self.out_of_band & existing
                self.outcome.events["deleted_out_of_band"] += len(self.out_of_band & existing)
                self.outcome.events[f"out_of_band_{self.schedule.out_of_band_at}"] += 1

    def client(self, *, hooked: bool) -> PostHogClient:
        session = HookedSession(self.before_request) if hooked else requests.Session()
        client = PostHogClient(
            self.world.emulator.url,
            self.world.key,
            self.world.emulator.project_id,
            timeout=CLIENT_TIMEOUT,
            max_retries=self.schedule.max_retries,
            max_throttle_retries=MAX_THROTTLE_RETRIES,
            page_size=self.schedule.page_size,
            # PostHog's budgets, as the emulator keeps them, on the shared simulated clock.
            requests_per_minute=240,
            requests_per_hour=1200,
            clock=self.world.sim.monotonic,
            concurrency=self.schedule.concurrency,
            sleep=self.world.sim.sleep,
            session=session,
        )
        self.clients.append(client)
        return client

    def sent(self) -> int:
        return sum(client.request_count for client in self.clients)

    def settings(self, **changes: Any) -> PurgeSettings:
        base = PurgeSettings(
            older_than_days=self.schedule.older_than_days,
            reference=NOW,
            max_deletions=None,
            keep_playlists=list(self.world.keep_playlists),
            keep_pinned=True,
            keep_shared=self.world.keep_shared,
        )
        return dataclasses.replace(base, **changes)

    def purge(self, settings: PurgeSettings, *, hooked: bool, texts: dict[str, Any]) -> Any:
        """Run one purge; return the manifest or the exception (checked for clarity).

        Also checks its accounting against what the emulator deleted through the API during
        the run (see :meth:`check_accounting`).
        """
        emulator = self.world.emulator
        # A later run is a task retry: it comes after the budgets' windows have passed.
        self.world.sim.sleep(BETWEEN_RUNS_SECONDS)
        wait_idle(emulator, self.sent())
        before = emulator.deleted_ids
        others_before = set(self.gone_by_others)
        client = self.client(hooked=hooked)
        results: list[DeleteResult] = []
        real_delete = client.delete_recordings

        def observed_delete(*args: Any, **kwargs: Any) -> DeleteResult:
            result = real_delete(*args, **kwargs)
            results.append(result)
            return result

        # An instance attribute: the jobs call client.delete_recordings, and see no change.
        client.delete_recordings = observed_delete  # type: ignore[method-assign]
        manifest: dict[str, Any] | None = None
        try:
            manifest = purge.run(client, settings).manifest
        except Exception as exc:
            label = f"{type(exc).__name__}: {exc}"
            self.outcome.errors.append(label)
            texts[f"exception {len(texts)}"] = "".join(traceback.format_exception(exc))
            texts[f"repr {len(texts)}"] = repr(exc)
            unclear = error_is_clear(exc)
            if unclear is not None:
                self.outcome.unclear.append(unclear)
                self.outcome.broke(f"unclear error: {unclear}")
            return exc
        finally:
            client.close()
            wait_idle(emulator, self.sent())
            by_others = self.gone_by_others - others_before
            by_api = emulator.deleted_ids - before - by_others
            self.check_accounting(results, by_api, manifest)
        texts[f"manifest {len(texts)}"] = manifest
        return manifest

    def retried_deletions(self) -> set[str]:
        """Ids sent in more than one accepted deletion request, or in one that met a fault."""
        sent: Counter[str] = Counter()
        faulted: set[str] = set()
        for request in self.world.emulator.requests:
            if request.status == 403:  # refused before acting (bulk refused to keys)
                continue
            ids: list[str] = []
            if request.method == "POST" and request.path.endswith("/bulk_delete/"):
                body = request.body if isinstance(request.body, dict) else {}
                ids = [str(rid) for rid in body.get("session_recording_ids") or []]
            elif request.method == "DELETE" and "/session_recordings/" in request.path:
                ids = [request.path.rstrip("/").rsplit("/", 1)[-1]]
            sent.update(ids)
            if request.fault is not None:
                faulted.update(ids)
        return {rid for rid, count in sent.items() if count > 1} | faulted

    def slow_deletions(self) -> set[str]:
        """Ids in a deletion request the client gave up on (a slow answer) and that the server
        still carried out afterwards: no client can know of that when it reports."""
        ids: set[str] = set()
        for request in self.world.emulator.requests:
            if request.fault != "slow":
                continue
            if request.method == "DELETE" and "/session_recordings/" in request.path:
                ids.add(request.path.rstrip("/").rsplit("/", 1)[-1])
            elif request.method == "POST" and request.path.endswith("/bulk_delete/"):
                body = request.body if isinstance(request.body, dict) else {}
                ids.update(str(rid) for rid in body.get("session_recording_ids") or [])
        return ids

    def check_accounting(
        self, results: list[DeleteResult], by_api: set[str], manifest: dict[str, Any] | None
    ) -> None:
        """Exact accounting of one run: ``deleted`` is what the API deleted during it.

        Every id reported deleted was deleted by the API in this run; no id reported already
        gone or failed was; and when the run ended with a manifest, its ``deleted`` is their
        number.
        """
        outcome = self.outcome
        claimed = {rid for result in results for rid in result.deleted}
        gone = {rid for result in results for rid in result.already_gone}
        failed = {rid for result in results for rid in result.failed}
        # After a retried deletion request, "gone" cannot be told apart from "deleted by the
        # lost attempt": an id someone else deleted is then counted deleted by any client.
        ambiguous = self.retried_deletions() & self.gone_by_others
        unattributable = (claimed - by_api) & ambiguous
        outcome.events["unattributable_after_retry"] += len(unattributable)
        over = sorted(claimed - by_api - unattributable)
        if over:
            others = set(over) & self.gone_by_others
            outcome.miscounted.append(f"reported deleted, not deleted by this run: {over[:5]}")
            outcome.broke(
                f"{len(over)} id(s) reported deleted that this run did not delete "
                f"({len(others)} deleted by someone else): {over[:5]}"
            )
        if gone & by_api:
            wrong = sorted(gone & by_api)
            outcome.miscounted.append(f"reported already gone, deleted by this run: {wrong[:5]}")
            outcome.broke(f"{len(wrong)} id(s) reported already gone that this run deleted")
        # A request given up on (timed out) can still land after the client settled the id by
        # looking: reported failed, deleted a moment later; a rerun finds it already gone.
        late = failed & by_api & self.slow_deletions()
        outcome.events["failed_then_deleted_by_a_late_attempt"] += len(late)
        under = sorted((failed & by_api) - late)
        if under:
            outcome.miscounted.append(f"reported failed, deleted by this run: {under[:5]}")
            outcome.broke(f"{len(under)} id(s) reported failed that this run deleted: {under[:5]}")
        if manifest is None:
            return
        surplus = manifest.get("deleted", 0) + len(late) - len(unattributable) - len(by_api)
        if surplus:
            outcome.miscounted.append(
                f"manifest deleted={manifest.get('deleted')}, the API deleted {len(by_api)}"
            )
            outcome.broke(
                f"the manifest says deleted={manifest.get('deleted')} but the emulator deleted "
                f"{len(by_api)} through the API during the run"
            )

    def deleted_by_purge(self) -> set[str]:
        return self.world.emulator.deleted_ids - self.gone_by_others

    def check_no_wrongful(self, when: str) -> None:
        wrongful = self.deleted_by_purge() - self.world.expected
        if wrongful:
            self.outcome.wrongful |= wrongful
            self.outcome.broke(
                f"{len(wrongful)} wrongful deletion(s) {when}: {sorted(wrongful)[:5]}"
            )

    def run(self, texts: dict[str, Any]) -> None:
        schedule, world, outcome = self.schedule, self.world, self.outcome
        emulator = world.emulator
        expected = world.expected
        emulator.random_faults(
            seed=schedule.seed, rate=schedule.rate, kinds=list(schedule.kinds), seconds=SLOW_SECONDS
        )
        for item in schedule.targeted:
            emulator.inject(
                item.kind,
                times=item.times,
                method=item.method,
                path_contains=item.path_contains,
                seconds=SLOW_SECONDS,
                skip=item.skip,
            )

        if schedule.report_only_first:
            result = self.purge(self.settings(report_only=True), hooked=False, texts=texts)
            if emulator.deleted_ids:
                outcome.broke("a report-only run deleted recordings", other=True)
            if isinstance(result, dict):
                planned = set(result["would_delete_ids"])
                if not planned <= expected:
                    outcome.broke(
                        f"a report-only run planned to delete {sorted(planned - expected)[:5]}",
                        other=True,
                    )
                elif planned != expected:
                    outcome.broke(
                        f"a report-only run planned {len(planned)} deletions, the policy selects "
                        f"{len(expected)}: missing {sorted(expected - planned)[:5]}",
                        other=True,
                    )
                outcome.events["report_onlys"] += 1

        if schedule.cap_first and len(expected) > 1:
            result = self.purge(
                self.settings(max_deletions=len(expected) - 1), hooked=False, texts=texts
            )
            if isinstance(result, dict):
                outcome.broke(
                    f"max_deletions={len(expected) - 1} did not stop a purge of "
                    f"{len(expected)}: {result.get('candidates')} candidates",
                    other=True,
                )
            if emulator.deleted_ids:
                outcome.broke("a purge stopped by max_deletions deleted recordings", other=True)
            outcome.events["capped_runs"] += 1

        result = self.purge(self.settings(), hooked=True, texts=texts)
        self.check_no_wrongful("during the faulty run")
        gave_up = isinstance(result, BaseException) or bool(result.get("failed"))
        if isinstance(result, dict):
            claimed = set(result.get("deleted_ids") or [])
            if not claimed <= expected:
                outcome.broke(
                    f"the manifest claims deletions outside the policy: "
                    f"{sorted(claimed - expected)[:5]}",
                    other=True,
                )
            for rid, reason in (result.get("failed_ids") or {}).items():
                unclear = None if "PostHog" in reason else f"failed id {rid}: {reason!r}"
                if unclear:
                    outcome.unclear.append(unclear)
                    outcome.broke(unclear)
        if not gave_up:
            missed = expected - emulator.deleted_ids
            if missed:
                outcome.missed |= missed
                outcome.broke(
                    f"the run reported success but left {len(missed)} recording(s) that the "
                    f"policy selects: {sorted(missed)[:5]}"
                )

        outcome.faults.update(emulator.faults_injected)
        emulator.clear_faults()
        wait_idle(emulator, self.sent())
        if gave_up:
            outcome.events["gave_up_then_rerun"] += 1
            self.hooks_on = False
            rerun = self.purge(self.settings(), hooked=False, texts=texts)
            wait_idle(emulator, self.sent())
            if isinstance(rerun, BaseException):
                outcome.broke(f"the rerun without faults failed: {rerun}", other=True)
            elif rerun.get("failed"):
                outcome.broke(f"the rerun without faults failed ids: {rerun['failed']}", other=True)
        self.check_no_wrongful("after the rerun")
        missed = expected - emulator.deleted_ids
        if missed:
            outcome.missed |= missed
            outcome.broke(f"{len(missed)} missed deletion(s) after the rerun: {sorted(missed)[:5]}")
        left = emulator.recording_ids()
        if left != world.all_ids - expected - self.gone_by_others:
            outcome.broke("the emulator's recordings are not all minus the deleted", other=True)
        if emulator.internal_errors:
            outcome.broke(f"emulator internal errors: {emulator.internal_errors[:1]}", other=True)
        outcome.requests = emulator.request_count


def run_schedule(schedule: Schedule) -> Outcome:
    """Run one schedule and check every invariant; never raises for a broken invariant."""
    outcome = Outcome(seed=schedule.seed)
    started = time.monotonic()
    texts: dict[str, Any] = {}
    world = build_world(schedule)
    outcome.expected = len(world.expected)
    try:
        with capture_logs() as lines:
            run = _Run(schedule, world, outcome)
            try:
                run.run(texts)
            except Exception:  # a bug of this runner: report it with the seed, do not crash
                outcome.broke(f"runner crashed: {traceback.format_exc()}", other=True)
        texts.update({f"log line {i}": line for i, line in enumerate(lines)})
        leaks = find_leaks(world.key, texts)
        if leaks:
            outcome.leaks = leaks
            outcome.broke(f"the key leaked into: {leaks[:5]}")
    finally:
        world.emulator.stop()
    outcome.seconds = time.monotonic() - started
    return outcome
