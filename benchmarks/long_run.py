"""Long-run benchmark: a purge of N recordings on a SIMULATED clock (issue #12, item 5).

The client and an in-process :class:`PostHogEmulator` share one :class:`SimulatedClock`: the
emulator's budgets (``monotonic``) and its data's "now" (``clock``) read it, and the client
keeps its budgets on it (``clock=``) and waits through it (``sleep=``), so hours of PostHog's
key budget (240 requests a minute AND 1,200 an hour) pass in seconds of real time. Nothing
sleeps for real; every HTTP request is still a real request to the emulator on 127.0.0.1.

Latency model: each request costs ``--latency`` simulated seconds, charged on the client side
by :class:`LatencySession` (the client's ``requests`` session): the server sees the request
at the instant it is sent, and the answer arrives ``latency`` later (the clock is moved to
``send time + latency``, so requests that overlap in time also overlap in latency). The
emulator's own ``latency`` option is not used: it sleeps for real.

``sleep(seconds)`` moves the clock to ``t + seconds``, where ``t`` is the last time the
sleeping thread read the clock (the key budget reads it right before it computes the wait),
and never backwards: two threads waiting for their slots at once do not add up their waits.

Each N runs four ways, each against a fresh emulator holding N recordings all older than the
cutoff (seeded over 60 days ending 32 days ago; ``older_than_days=30``):

* ``refused/blocking`` and ``refused/deferrable``: profile ``cloud`` (``bulk_delete`` refused
  to keys, so one DELETE per recording);
* ``bulk/blocking`` and ``bulk/deferrable``: profile ``cloud_bulk_delete`` (100 ids a call).

Blocking is ``max_budget_wait=None``: the client sleeps through every wait and the worker slot
is held for the whole simulated time. Deferrable is ``max_budget_wait=30``: each
``purge.run`` leg returns when the budget would make it wait longer; the benchmark then moves
the clock by ``wait_seconds`` WITHOUT counting it as worker-slot time (the triggerer waits)
and resumes with the leg's JSON state (round-tripped through ``json``, as Airflow does).
``--fresh-client-per-leg`` builds a new client (with an empty budget) for every leg, as a
task resumed in another worker process would have.

The bound. Requests: with bulk refused, ``R = N + ceil(N/500)`` (one DELETE per recording
and the list pages of 500); with bulk accepted, ``R = ceil(N/100) + ceil(N/500)``. Time: the
earliest instant the answer to the last of ``R`` requests can arrive when no more than ``M``
(240) go in any minute and ``H`` (1,200) in any hour, one after another, each taking ``L``
seconds (H a multiple of M). The best schedule sends each hour's H requests in H/M bursts of
M, one burst a minute, so::

    T(R) = 3600 * floor((R-1) / H)                # whole hours spent waiting for the hour
         + 60 * floor(((R-1) mod H) / M)          # the minute budget: bursts in the last hour
         + L * (((R-1) mod M) + 1)                # the last burst, one request after another

i.e. about ``R/H`` hours; the per-minute budget adds up to ``60*(H/M - 1)`` seconds (4
minutes) in the last, partial hour, not a wait of 3 s between requests.

Figures are printed (and written with ``--json``), NEVER asserted as times; the correctness of
each run (every seeded recording gone, ``deleted == N``) is checked and a failure is reported.
Run ``python -m benchmarks.long_run --n 10000,100000 --json out.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
from posthog_recordings_emulator import PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.jobs import purge
from airflow_provider_posthog_recordings.jobs.purge import PurgeSettings
from airflow_provider_posthog_recordings.jobs.purge_plan import FolderPlanStore

PAGE_SIZE = 500
BULK_CAP = 100
OLDER_THAN_DAYS = 30
DEFERRABLE_MAX_WAIT = 30.0
PROFILES = {"refused": "cloud", "bulk": "cloud_bulk_delete"}
MODES = ("blocking", "deferrable")


# ---------------------------------------------------------------- the simulated clock


class SimulatedClock:
    """Monotonic seconds and the matching aware UTC datetime; ``sleep`` takes no real time.

    Thread-safe: the emulator's server threads read it while the client's threads wait on it.

    Args:
        start: the aware UTC datetime at monotonic second 0.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.start = start.astimezone(timezone.utc)
        self._seconds = 0.0
        self._lock = threading.Lock()
        self._local = threading.local()

    def monotonic(self) -> float:
        """Simulated seconds since ``start`` (remembered as this thread's last reading)."""
        with self._lock:
            now = self._seconds
        self._local.seen = now
        return now

    def now(self) -> datetime:
        """The aware UTC datetime of the simulated instant."""
        with self._lock:
            seconds = self._seconds
        return self.start + timedelta(seconds=seconds)

    def advance_to(self, seconds: float) -> None:
        """Move the clock to ``seconds`` unless it is already later."""
        with self._lock:
            self._seconds = max(self._seconds, seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` from now (a deferral's wait)."""
        if seconds < 0:
            raise ValueError("the clock only goes forward")
        with self._lock:
            self._seconds += seconds

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` from this thread's last reading of the clock, instantly."""
        if seconds <= 0:
            return
        seen = getattr(self._local, "seen", None)
        if seen is None:
            self.advance(seconds)
        else:
            self.advance_to(seen + seconds)


class LatencySession(requests.Session):
    """A requests session whose every request costs ``latency`` simulated seconds.

    The clock is read when the request is sent (the server sees it then) and moved to that
    reading plus ``latency`` when the answer is back.
    """

    def __init__(self, clock: SimulatedClock, latency: float) -> None:
        super().__init__()
        self.clock = clock
        self.latency = latency

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Send as usual, then charge the latency to the simulated clock."""
        sent_at = self.clock.monotonic()
        try:
            return super().request(method, url, *args, **kwargs)
        finally:
            self.clock.advance_to(sent_at + self.latency)


# ---------------------------------------------------------------- the bound


def bound_requests(n: int, bulk: bool) -> int:
    """Fewest requests of a purge of ``n``: list pages of 500 and the deletes."""
    per_delete = BULK_CAP if bulk else 1
    return math.ceil(n / PAGE_SIZE) + math.ceil(n / per_delete)


def bound_seconds(requests_: int, per_minute: int, per_hour: int, latency: float) -> float:
    """``T(R)`` of the module docstring: the earliest the last of ``requests_`` answers can
    arrive under both budgets (``per_hour`` must be a multiple of ``per_minute``)."""
    if requests_ <= 0:
        return 0.0
    if per_hour % per_minute:
        raise ValueError("per_hour must be a multiple of per_minute")
    last = requests_ - 1
    return (
        3600.0 * (last // per_hour)
        + 60.0 * ((last % per_hour) // per_minute)
        + latency * ((last % per_minute) + 1)
    )


# ---------------------------------------------------------------- one run


@dataclass
class RunResult:
    """What one purge cost and whether it was correct."""

    n: int
    bulk: str
    mode: str
    requests: int
    bound_requests: int
    sim_seconds: float
    bound_seconds: float
    throttled_client: int
    throttled_server: dict[str, int]
    worker_seconds: float
    legs: int
    left: int
    deleted: int
    already_gone: int
    failed: int
    deleted_exactly_seeded: bool
    real_seconds: float
    by_kind: dict[str, int] = field(default_factory=dict)
    budget_waits: dict[str, float] = field(default_factory=dict)

    @property
    def requests_ratio(self) -> float:
        """Requests sent over the bound."""
        return self.requests / self.bound_requests

    @property
    def time_ratio(self) -> float:
        """Simulated time over the bound's time."""
        return self.sim_seconds / self.bound_seconds if self.bound_seconds else math.inf

    @property
    def worker_share(self) -> float:
        """Share of the simulated time a worker slot was held."""
        return self.worker_seconds / self.sim_seconds if self.sim_seconds else 0.0

    @property
    def correct(self) -> bool:
        """Every seeded recording deleted once by this run, nothing left, nothing failed."""
        return (
            self.left == 0
            and self.deleted == self.n
            and self.already_gone == 0
            and self.failed == 0
            and self.deleted_exactly_seeded
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-able figures, ratios included."""
        return {
            **asdict(self),
            "requests_ratio": self.requests_ratio,
            "time_ratio": self.time_ratio,
            "worker_share": self.worker_share,
            "correct": self.correct,
        }


def request_kind(method: str, path: str, query: dict[str, str]) -> str:
    """A short name for what an emulator request was (for the breakdown)."""
    if "playlist" in path:
        return "playlists"
    if method == "DELETE":
        return "delete"
    if path.endswith("bulk_delete/"):
        return "bulk_delete"
    if method == "GET" and path.endswith("session_recordings/"):
        return "exists_check" if "session_ids" in query else "list_page"
    return f"{method} other"


@dataclass
class Scenario:
    """The settings shared by every run of one invocation."""

    per_minute: int = 240
    per_hour: int = 1200
    latency: float = 0.02
    max_wait: float = DEFERRABLE_MAX_WAIT
    fresh_client_per_leg: bool = False
    seed: int = 0
    max_legs: int = 100_000


def _seeded_emulator(
    n: int, bulk: str, clock: SimulatedClock, scenario: Scenario
) -> tuple[PostHogEmulator, set[str]]:
    """A started emulator on the simulated clock holding ``n`` recordings older than the
    cutoff, and their ids."""
    emulator = PostHogEmulator(
        profile=PROFILES[bulk],
        monotonic=clock.monotonic,
        clock=clock.now,
        rate_limit_per_minute=scenario.per_minute,
        rate_limit_per_hour=scenario.per_hour,
    )
    seeded = set(
        emulator.seed_recordings(
            n, days=60, end=clock.now() - timedelta(days=OLDER_THAN_DAYS + 2), seed=scenario.seed
        )
    )
    emulator.start()
    return emulator, seeded


def _client(
    emulator: PostHogEmulator, clock: SimulatedClock, scenario: Scenario, mode: str
) -> PostHogClient:
    """A client on the simulated clock, waiting (blocking) or pausing (deferrable)."""
    return PostHogClient(
        emulator.url,
        emulator.api_key,
        emulator.project_id,
        page_size=PAGE_SIZE,
        requests_per_minute=scenario.per_minute,
        requests_per_hour=scenario.per_hour,
        # One request at a time: the latency model charges requests one after another.
        concurrency=1,
        max_budget_wait=scenario.max_wait if mode == "deferrable" else None,
        sleep=clock.sleep,
        clock=clock.monotonic,
        session=LatencySession(clock, scenario.latency),
    )


def _run_legs(
    settings: PurgeSettings,
    new_client: Callable[[], PostHogClient],
    clock: SimulatedClock,
    scenario: Scenario,
) -> tuple[dict[str, Any], int, float]:
    """Run ``purge.run`` leg after leg, each pause waited out on the clock (the triggerer's
    wait, not worker-slot time) and its state round-tripped through JSON.

    :return: the final manifest, the number of legs, and the worker-slot seconds.
    """
    client = new_client()
    state: dict[str, Any] | None = None
    worker = 0.0
    legs = 0
    while True:
        if legs and scenario.fresh_client_per_leg:
            client = new_client()
        leg_start = clock.monotonic()
        outcome = purge.run(client, settings, state)
        worker += clock.monotonic() - leg_start
        legs += 1
        if not outcome.paused:
            return outcome.manifest, legs, worker
        if legs >= scenario.max_legs:
            raise RuntimeError(f"still paused after {legs} legs")
        clock.advance(outcome.wait_seconds or 0.0)
        state = json.loads(json.dumps(outcome.state))


def run_purge(n: int, bulk: str, mode: str, scenario: Scenario) -> RunResult:
    """Seed ``n`` old recordings in a fresh emulator and purge them on a simulated clock.

    Args:
        bulk: ``"refused"`` (profile cloud) or ``"bulk"`` (profile cloud_bulk_delete).
        mode: ``"blocking"`` (the client sleeps through every wait) or ``"deferrable"``
            (legs of ``purge.run``; pauses are not worker-slot time).
    """
    started_real = time.perf_counter()
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    clock = SimulatedClock(start)
    emulator, seeded = _seeded_emulator(n, bulk, clock, scenario)
    clients: list[PostHogClient] = []

    def new_client() -> PostHogClient:
        clients.append(_client(emulator, clock, scenario, mode))
        return clients[-1]

    plans = tempfile.TemporaryDirectory(prefix="long-run-plan-")
    try:
        # The plan is written once to a folder (as with the operator's plan_path), so resumed
        # legs read it instead of listing the window again.
        settings = PurgeSettings(
            older_than_days=OLDER_THAN_DAYS,
            reference=clock.now(),
            max_deletions=None,
            plan_store=FolderPlanStore(Path(plans.name) / "plan"),
        )
        manifest, legs, worker = _run_legs(settings, new_client, clock, scenario)
        left = len(seeded & emulator.recording_ids())
        by_kind = Counter(
            request_kind(r.method, r.path, r.query) for r in emulator.requests if r.status != 429
        )
        sent = sum(c.request_count for c in clients)
        bound = bound_requests(n, bulk == "bulk")
        return RunResult(
            n=n,
            bulk=bulk,
            mode=mode,
            requests=sent,
            bound_requests=bound,
            sim_seconds=clock.monotonic(),
            bound_seconds=bound_seconds(
                bound, scenario.per_minute, scenario.per_hour, scenario.latency
            ),
            throttled_client=sum(c.throttled_count for c in clients),
            throttled_server=dict(emulator.throttles),
            worker_seconds=worker if mode == "deferrable" else clock.monotonic(),
            legs=legs,
            left=left,
            deleted=int(manifest.get("deleted", -1)),
            already_gone=int(manifest.get("already_gone", -1)),
            failed=int(manifest.get("failed", -1)),
            deleted_exactly_seeded=emulator.deleted_ids == seeded,
            real_seconds=time.perf_counter() - started_real,
            by_kind=dict(sorted(by_kind.items())),
            budget_waits={
                "slept_in_worker_s": sum(c.transport.budget.waited_seconds for c in clients)
            },
        )
    finally:
        for client in clients:
            client.close()
        emulator.stop()
        plans.cleanup()


# ---------------------------------------------------------------- the table


def _hours(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m{whole % 60:02d}s"


ROWS: list[tuple[str, Callable[[RunResult], str]]] = [
    ("requests sent", lambda r: f"{r.requests:,}"),
    ("bound (requests)", lambda r: f"{r.bound_requests:,}"),
    ("requests / bound", lambda r: f"{r.requests_ratio:.4f}"),
    ("simulated time", lambda r: _hours(r.sim_seconds)),
    ("bound's time", lambda r: _hours(r.bound_seconds)),
    ("time / bound", lambda r: f"{r.time_ratio:.4f}"),
    ("429s client/server", lambda r: f"{r.throttled_client}/{sum(r.throttled_server.values())}"),
    ("worker-slot time", lambda r: _hours(r.worker_seconds)),
    ("worker share", lambda r: f"{100 * r.worker_share:.2f}%"),
    ("legs (deferrals+1)", lambda r: f"{r.legs}"),
    ("deleted", lambda r: f"{r.deleted:,}"),
    ("left", lambda r: f"{r.left}"),
    ("correct", lambda r: "yes" if r.correct else "NO"),
    ("real seconds", lambda r: f"{r.real_seconds:.0f}"),
]


def format_table(results: list[RunResult]) -> str:
    """One table, a column per (N, bulk, mode), a row per figure."""
    heads = [f"N={r.n:,} {r.bulk}/{r.mode}" for r in results]
    width = max([14, *(len(h) for h in heads)])
    label_width = max(len(label) for label, _ in ROWS)
    lines = [" " * label_width + " | " + " | ".join(h.rjust(width) for h in heads)]
    lines.append("-" * len(lines[0]))
    for label, cell in ROWS:
        cells = " | ".join(cell(r).rjust(width) for r in results)
        lines.append(f"{label.ljust(label_width)} | {cells}")
    lines.append("")
    for r in results:
        lines.append(f"N={r.n:,} {r.bulk}/{r.mode} requests by kind: {r.by_kind}")
    return "\n".join(lines)


def parse_choices(text: str, choices: tuple[str, ...], option: str) -> list[str]:
    """The choices a comma-separated option names; ``both`` (or ``all``) is every choice.

    :param text: the option's value, e.g. ``refused,bulk`` or ``both``.
    :param choices: the valid choices, in the order they run.
    :param option: the option's name, for the error.
    :return: the chosen ones, each once, in the order given.
    """
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part in ("both", "all"):
            chosen.extend(choices)
        elif part in choices:
            chosen.append(part)
        else:
            raise SystemExit(f"{option}: {part!r} is not one of {', '.join(choices)} or both")
    return list(dict.fromkeys(chosen))


def main(argv: list[str] | None = None) -> int:
    """Run the long-run scenarios and print the table; 1 when a run was not correct."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="10000,100000", help="comma-separated sizes")
    parser.add_argument("--latency", type=float, default=0.02, help="simulated s per request")
    parser.add_argument("--per-minute", type=int, default=240, help="the key's minute budget")
    parser.add_argument("--per-hour", type=int, default=1200, help="the key's hour budget")
    parser.add_argument("--max-wait", type=float, default=DEFERRABLE_MAX_WAIT)
    parser.add_argument("--bulk", default="refused,bulk", help="refused, bulk or both")
    parser.add_argument("--modes", default=",".join(MODES), help="blocking, deferrable or both")
    parser.add_argument(
        "--fresh-client-per-leg",
        action="store_true",
        help="a new client (empty budget) for every leg, as in a new worker process",
    )
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--verbose", action="store_true", help="the package's INFO logs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR)
    scenario = Scenario(
        per_minute=args.per_minute,
        per_hour=args.per_hour,
        latency=args.latency,
        max_wait=args.max_wait,
        fresh_client_per_leg=args.fresh_client_per_leg,
    )
    sizes = [int(part) for part in args.n.split(",") if part.strip()]
    kinds = parse_choices(args.bulk, tuple(PROFILES), "--bulk")
    modes = parse_choices(args.modes, MODES, "--modes")
    print(
        f"long-run purge on a simulated clock: {args.per_minute}/min and {args.per_hour}/h, "
        f"latency {args.latency * 1000:.0f} ms, deferrable max wait {args.max_wait:.0f} s"
        f"{', fresh client per leg' if args.fresh_client_per_leg else ''}",
        flush=True,
    )
    results: list[RunResult] = []
    for n in sizes:
        for bulk in kinds:
            for mode in modes:
                result = run_purge(n, bulk, mode, scenario)
                print(
                    f"  done N={n:,} {bulk}/{mode} in {result.real_seconds:.0f} s real "
                    f"({'correct' if result.correct else 'NOT CORRECT'})",
                    flush=True,
                )
                results.append(result)
    print(format_table(results), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"settings": vars(args), "runs": [r.as_dict() for r in results]},
                handle,
                indent=2,
            )
    return 0 if all(r.correct for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
