"""Archive throughput per plan tier on a SIMULATED clock (issue #20, item 6).

The archive job (:mod:`airflow_provider_posthog_recordings.jobs.archive`) runs against an
in-process emulator on the Cloud profile whose snapshots budget is the tier's; the client is
given the same budget as connection extras would give it, keeps it on the shared
:class:`~benchmarks.long_run.SimulatedClock` and sleeps through it, so hours of budget pass in
seconds. Every HTTP request is real (127.0.0.1); each costs ``--latency`` simulated seconds.

The bound. A recording of ``B`` blocks costs ``1 + ceil(B / 21)`` snapshots requests (the
sources listing, then ranges of 21 blocks; 2 for a long-term-storage copy), ``S`` in all, plus
one GET of the recording on the key's budget only. The earliest the last answer can arrive
with at most ``M`` snapshots requests in any minute and ``H`` in any hour is
:func:`benchmarks.long_run.bound_seconds` of ``S``; the bound on throughput is ``N`` over
that time, in recordings per hour (about ``H / (S / N)`` for long runs). The key's own budget
(240 and 1,200) binds only on enterprise-like tiers with very short recordings.

Figures are printed (``--json`` writes them too), never asserted; each run's correctness
(every recording archived and verified, no 429) is reported. Run
``python -m benchmarks.archive --n 200 --tiers free,paid,enterprise``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from posthog_recordings_emulator import PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.resources.snapshots import (
    MAX_BLOCKS_PER_REQUEST,
    SNAPSHOT_PLAN_LIMITS,
)
from airflow_provider_posthog_recordings.jobs import archive
from benchmarks.long_run import LatencySession, SimulatedClock, bound_seconds

START = datetime(2026, 3, 1, tzinfo=timezone.utc)


@dataclass
class TierResult:
    """One tier's archive run."""

    tier: str
    n: int
    per_minute: int
    per_hour: int
    snapshot_requests: int
    bound_snapshot_requests: int
    sim_seconds: float
    bound_seconds: float
    archived: int
    throttled: int
    real_seconds: float

    @property
    def per_hour_measured(self) -> float:
        """Recordings archived per simulated hour."""
        return self.n * 3600.0 / self.sim_seconds if self.sim_seconds else math.inf

    @property
    def per_hour_bound(self) -> float:
        """The most recordings per hour the snapshots budget allows for these recordings."""
        return self.n * 3600.0 / self.bound_seconds if self.bound_seconds else math.inf

    @property
    def correct(self) -> bool:
        """Every recording archived, no 429, no snapshots request beyond the bound's."""
        return (
            self.archived == self.n
            and self.throttled == 0
            and self.snapshot_requests == self.bound_snapshot_requests
        )


def snapshot_requests_needed(server: PostHogEmulator, ids: list[str]) -> int:
    """The fewest snapshots requests that archive ``ids`` (the bound's ``S``)."""
    total = 0
    for rid in ids:
        info = server.snapshot_info(rid)
        total += 2 if info["lts"] else 1 + math.ceil(info["blocks"] / MAX_BLOCKS_PER_REQUEST)
    return total


def run_tier(tier: str, n: int, latency: float, seed: int = 5) -> TierResult:
    """Archive ``n`` seeded recordings with ``tier``'s snapshots budget; measure."""
    per_minute, per_hour = SNAPSHOT_PLAN_LIMITS[tier]
    clock = SimulatedClock(START)
    with (
        PostHogEmulator(
            profile="cloud", snapshot_plan=tier, monotonic=clock.monotonic, clock=clock.now
        ) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        ids = server.seed_recordings(n, days=20, seed=seed, end=START)
        bound_requests = snapshot_requests_needed(server, ids)
        client = PostHogClient(
            server.url,
            server.api_key,
            server.project_id,
            snapshot_requests_per_minute=per_minute,
            snapshot_requests_per_hour=per_hour,
            clock=clock.monotonic,
            sleep=clock.sleep,
            session=LatencySession(clock, latency),
        )
        started, began = clock.monotonic(), time.monotonic()
        settings = archive.ArchiveSettings(path=Path(folder), recording_ids=ids)
        manifest = archive.run(client, settings).manifest
        client.close()
        snapshot_requests = sum(1 for r in server.requests if r.path.endswith("/snapshots"))
        return TierResult(
            tier=tier,
            n=n,
            per_minute=per_minute,
            per_hour=per_hour,
            snapshot_requests=snapshot_requests,
            bound_snapshot_requests=bound_requests,
            sim_seconds=clock.monotonic() - started,
            bound_seconds=bound_seconds(bound_requests, per_minute, per_hour, latency),
            archived=manifest["archived"],
            throttled=sum(server.throttles.values()),
            real_seconds=time.monotonic() - began,
        )


def format_table(results: list[TierResult]) -> str:
    """The figures as a text table."""
    header = (
        f"{'tier':<11}{'N':>6}{'budget':>10}{'snap req':>10}{'bound req':>10}"
        f"{'rec/h':>9}{'bound rec/h':>13}{'ratio':>7}{'sim h':>8}{'429s':>6}{'real s':>8}  ok"
    )
    rows = [header]
    for r in results:
        ratio = r.per_hour_measured / r.per_hour_bound if r.per_hour_bound else 0.0
        rows.append(
            f"{r.tier:<11}{r.n:>6}{f'{r.per_minute}/{r.per_hour}':>10}{r.snapshot_requests:>10}"
            f"{r.bound_snapshot_requests:>10}{r.per_hour_measured:>9.1f}{r.per_hour_bound:>13.1f}"
            f"{ratio:>7.2f}{r.sim_seconds / 3600:>8.2f}{r.throttled:>6}{r.real_seconds:>8.1f}"
            f"  {'yes' if r.correct else 'NO'}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the tiers, print the table; 1 when a run was not correct."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="recordings per tier")
    parser.add_argument("--tiers", default=",".join(SNAPSHOT_PLAN_LIMITS))
    parser.add_argument("--latency", type=float, default=0.2, help="simulated s per request")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = [run_tier(tier, args.n, args.latency) for tier in args.tiers.split(",")]
    print(format_table(results))
    if args.json:
        payload: list[dict[str, Any]] = [
            {
                **asdict(r),
                "per_hour_measured": r.per_hour_measured,
                "per_hour_bound": r.per_hour_bound,
            }
            for r in results
        ]
        Path(args.json).write_text(json.dumps(payload, indent=1))
    return 0 if all(r.correct for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
