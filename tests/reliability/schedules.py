"""Seeded fault schedules for the retention purge, and the invariants checked after each.

A :class:`Schedule` is derived from one integer seed, so a failing schedule replays exactly
(``python -m tests.reliability.run_schedules --seed S --schedules 1``). It decides:

* the data: 100-300 seeded recordings over 60 days, plus recordings exactly at the cutoff
  and a microsecond either side, old recordings that are still ongoing, recordings without
  a start time;
* the protections: a playlist protected by name, a pinned playlist, an ordinary playlist
  (not protected), a soft-deleted pinned playlist (not protected), a pinned saved search,
  and sometimes PostHog's synthetic "Shared recordings" playlist protected by name;
* the server: cursor or offset-only pagination, bulk actions allowed, refused (403) or
  missing (404), refused part-way through the deletion, legacy bulk answers without
  ``failed_ids``, 204/404/500 for deleting twice;
* the faults: random faults of several kinds at a random rate (429 with the wait in
  ``detail`` or in ``Retry-After``, 500/502/503/504, dropped connections before and after
  the server acted, slow answers that hit the client's read timeout, truncated and non-JSON
  bodies, pages that repeat items of the previous page), plus targeted faults on the
  deletion requests, plus recordings deleted by someone else between the listing and the
  first deletion;
* the client: page size, concurrency.

:func:`run_schedule` runs :func:`run_purge` on a :class:`PostHogClient` against a fresh
emulator (sometimes a dry run and a run stopped by ``max_deletions`` first), and when the run
gives up, checks that the error is clear and reruns it without faults, as a task retry would.
The expected deletions are computed here from the emulator's data, not by the package's
policy: a start time before the cutoff, not ongoing, not in a protected playlist.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.errors import (
    PostHogConfigError,
    PostHogError,
    PostHogPaginationError,
)
from airflow_provider_posthog_recordings.jobs import purge
from airflow_provider_posthog_recordings.jobs.purge import PurgeSettings
from airflow_provider_posthog_recordings.testing import PostHogEmulator

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
    offset_only: bool
    bulk_mode: str
    refuse_bulk_at: int | None
    legacy_bulk_response: bool
    delete_missing_status: int
    page_size: int
    concurrency: int
    max_retries: int
    out_of_band: int
    out_of_band_kept: int
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
    dry_run_first: bool

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
        bulk_mode = rng.choices(["allow", "refuse", "missing"], weights=[70, 15, 15])[0]
        shared = rng.randint(1, 3) if rng.random() < 0.25 else 0
        return cls(
            seed=seed,
            recordings=rng.randint(*recordings),
            older_than_days=rng.choice([7, 14, 30, 45]),
            kinds=kinds,
            rate=round(rng.uniform(0.03, 0.35), 3),
            targeted=tuple(targeted),
            offset_only=rng.random() < 0.3,
            bulk_mode=bulk_mode,
            refuse_bulk_at=rng.randint(1, 2)
            if bulk_mode == "allow" and rng.random() < 0.35
            else None,
            legacy_bulk_response=rng.random() < 0.25,
            delete_missing_status=rng.choice([204, 204, 404, 500]),
            page_size=rng.choice([20, 50, 100, 500]),
            concurrency=rng.randint(1, 4),
            max_retries=rng.choice([1, 2, MAX_RETRIES, MAX_RETRIES]),
            out_of_band=rng.randint(0, 8),
            out_of_band_kept=rng.randint(0, 2),
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
            dry_run_first=rng.random() < 0.15,
        )

    @property
    def cutoff(self) -> datetime:
        return NOW - timedelta(days=self.older_than_days)

    def describe(self) -> str:
        return (
            f"seed={self.seed} n={self.recordings} days={self.older_than_days} "
            f"rate={self.rate} kinds={','.join(self.kinds)} bulk={self.bulk_mode}"
            f"{f'->refuse@{self.refuse_bulk_at}' if self.refuse_bulk_at else ''} "
            f"offset_only={self.offset_only} page={self.page_size} conc={self.concurrency} "
            f"retries={self.max_retries}"
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


class HookedSession(requests.Session):
    """A requests session that calls ``before(method, url)`` before each request is sent.

    It is how the schedules act at exact moments of the run without touching the client:
    refusing bulk actions from the n-th bulk delete on, and deleting recordings "by someone
    else" after the listing finished and before the first deletion.
    """

    def __init__(self, before: Callable[[str, str], None]) -> None:
        super().__init__()
        self._before = before

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self._before(str(method).upper(), str(url))
        return super().request(method, url, *args, **kwargs)


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
    key: str
    all_ids: set[str]
    expected: set[str]
    kept: set[str]
    keep_playlists: list[str]


def build_world(schedule: Schedule) -> World:
    rng = random.Random(f"posthog-reliability-data:{schedule.seed}")
    key = f"phx_rel{schedule.seed}_{rng.getrandbits(96):024x}"
    emulator = PostHogEmulator(
        profile="permissive",  # pinned until the client copes with the cloud profile
        rate_limits=False,
        playlist_items_paginated=True,
        api_key=key,
        clock=lambda: NOW,
        offset_only=schedule.offset_only,
        bulk_mode=schedule.bulk_mode,
        legacy_bulk_response=schedule.legacy_bulk_response,
        delete_missing_status=schedule.delete_missing_status,
        synthetic_playlists=schedule.shared > 0,
    ).start()
    try:
        return _populate(schedule, emulator, key, rng)
    except BaseException:
        emulator.stop()
        raise


def _populate(schedule: Schedule, emulator: PostHogEmulator, key: str, rng: random.Random) -> World:
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
    if schedule.shared:
        shared = pick(old, schedule.shared)
        for rid in shared:
            emulator.set_sharing(rid, True)
        protected.update(shared)
        keep.append(SHARED_SYNTHETIC)

    expected = {
        rid
        for rid, rec in records.items()
        if starts[rid] is not None
        and starts[rid] < cutoff
        and not rec.get("ongoing")
        and rid not in protected
    }
    return World(emulator, key, set(records), expected, set(records) - expected, keep)


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
        if not self.hooks_on:
            return
        is_bulk_delete = method == "POST" and "/session_recordings/bulk_delete/" in url
        is_delete = method == "DELETE" and "/session_recordings/" in url
        with self.lock:
            if is_bulk_delete:
                self.bulk_deletes += 1
                if self.bulk_deletes == self.schedule.refuse_bulk_at:
                    set_bulk_mode(self.world.emulator, "refuse")
                    self.outcome.events["bulk_refused_mid_run"] += 1
            if (is_bulk_delete or is_delete) and not self.deletion_started:
                self.deletion_started = True
                for rid in sorted(self.out_of_band):
                    self.world.emulator.delete_recording(rid)
                self.gone_by_others |= self.out_of_band
                self.outcome.events["deleted_out_of_band"] += len(self.out_of_band)

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
            requests_per_minute=None,
            concurrency=self.schedule.concurrency,
            sleep=no_wait,
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
        )
        return dataclasses.replace(base, **changes)

    def purge(self, settings: PurgeSettings, *, hooked: bool, texts: dict[str, Any]) -> Any:
        """Run one purge; return the manifest or the exception (checked for clarity)."""
        client = self.client(hooked=hooked)
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
        texts[f"manifest {len(texts)}"] = manifest
        return manifest

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

        if schedule.dry_run_first:
            result = self.purge(self.settings(dry_run=True), hooked=False, texts=texts)
            if emulator.deleted_ids:
                outcome.broke("a dry run deleted recordings", other=True)
            if isinstance(result, dict):
                planned = set(result["would_delete_ids"])
                if not planned <= expected:
                    outcome.broke(
                        f"a dry run planned to delete {sorted(planned - expected)[:5]}",
                        other=True,
                    )
                elif planned != expected:
                    outcome.broke(
                        f"a dry run planned {len(planned)} deletions, the policy selects "
                        f"{len(expected)}: missing {sorted(expected - planned)[:5]}",
                        other=True,
                    )
                outcome.events["dry_runs"] += 1

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
