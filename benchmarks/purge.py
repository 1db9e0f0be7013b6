"""Benchmark: what a retention purge costs in requests, time and memory.

For each N, against the emulator (in its own process, with a per-request latency and
PostHog's rate limit on), it measures in the same run:

* ours: the package's purge job (``run_purge``, what PostHogPurgeRecordingsOperator runs);
* naive: the same job written from the API summaries (``benchmarks/naive.py``);
* bound: the fewest requests the job needs, and the time they need at that rate and latency.

Run ``make bench`` or ``python -m benchmarks.purge --n 1000,10000 --naive-up-to 1000``.
Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import tracemalloc
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.resources.deletion import BULK_DELETE_CAP
from airflow_provider_posthog_recordings.client.resources.recordings import EXISTENCE_BATCH
from airflow_provider_posthog_recordings.jobs import purge
from airflow_provider_posthog_recordings.jobs.purge import PurgeSettings
from benchmarks.naive import naive_purge
from benchmarks.server import EmulatorProcess, ServerConfig

PAGE_SIZE = 500
OLDER_THAN_DAYS = 30


@dataclass
class Row:
    """One line of results."""

    n: int
    bulk: str
    requests_ours: int
    requests_naive: int | None
    requests_bound: int
    seconds_ours: float
    seconds_naive: float | None
    seconds_bound: float
    peak_memory_ours_mib: float | None
    throttled_ours: int
    throttled_naive: int | None
    left_after_ours: int
    left_after_naive: int | None

    @property
    def naive_over_ours(self) -> float | None:
        """How many times more requests the naive job sends."""
        return None if self.requests_naive is None else self.requests_naive / self.requests_ours

    @property
    def ours_over_bound(self) -> float:
        """How close our request count is to the bound."""
        return self.requests_ours / self.requests_bound


def bound_requests(n: int, bulk_allowed: bool) -> int:
    """Fewest requests: list pages at the largest page, deletes at the bulk cap, one to read
    the playlists that protect recordings (the job must know them), and the existence checks
    exact accounting needs: one per 500 ids when each DELETE is single (PostHog answers 204 to
    a DELETE of anything), one before the server has said it takes bulk deletes (whose own
    counts then say when to look)."""
    per_delete = BULK_DELETE_CAP if bulk_allowed else 1
    listing = max(1, math.ceil(n / PAGE_SIZE))
    checks = 1 if bulk_allowed else math.ceil(n / EXISTENCE_BATCH)
    return listing + checks + math.ceil(n / per_delete) + 1


def bound_seconds(requests: int, latency: float, per_minute: int | None) -> float:
    """Time of ``requests`` sent one after another with ``latency`` each, never more than
    ``per_minute`` in any minute (a sliding window: the first minute's budget goes at once)."""
    serial = requests * latency
    if not per_minute:
        return serial
    return max(serial, 60.0 * ((requests - 1) // per_minute) + latency)


def _purge_once(config: ServerConfig, trace_memory: bool) -> tuple[float, int, dict[str, int]]:
    with EmulatorProcess(config) as server:
        client = PostHogClient(
            server.info["url"],
            server.info["api_key"],
            server.info["project_id"],
            page_size=PAGE_SIZE,
            requests_per_minute=config.rate_limit,
        )
        settings = PurgeSettings(
            older_than_days=OLDER_THAN_DAYS,
            reference=datetime.now(timezone.utc),
            max_deletions=None,
            keep_pinned=True,
        )
        if trace_memory:
            tracemalloc.start()
        started = time.perf_counter()
        purge.run(client, settings)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
        tracemalloc.stop()
        client.close()
        return seconds, peak, server.stats()


def run_ours(
    config: ServerConfig, measure_memory: bool
) -> tuple[float, float | None, dict[str, int]]:
    """Time one purge; then, untimed (tracing slows Python down), measure its peak memory
    in a second purge of the same size with no latency and no rate limit, which do not
    change what is held in memory."""
    seconds, _, stats = _purge_once(config, trace_memory=False)
    peak_mib = None
    if measure_memory:
        fast = replace(config, latency=0.0, rate_limit=None)
        peak_mib = _purge_once(fast, trace_memory=True)[1] / 2**20
    return seconds, peak_mib, stats


def run_naive(config: ServerConfig) -> tuple[float, dict[str, int]]:
    with EmulatorProcess(config) as server:
        cutoff = datetime.now(timezone.utc) - timedelta(days=OLDER_THAN_DAYS)
        started = time.perf_counter()
        naive_purge(server.info["url"], server.info["api_key"], server.info["project_id"], cutoff)
        seconds = time.perf_counter() - started
        return seconds, server.stats()


def measure(n: int, args: argparse.Namespace) -> Row:
    config = ServerConfig(
        recordings=n,
        latency=args.latency,
        rate_limit=args.rate_limit or None,
        bulk_mode="allow" if args.bulk == "allow" else "refuse",
        older_than_days=OLDER_THAN_DAYS,
    )
    seconds_ours, peak, stats_ours = run_ours(config, not args.no_memory)
    naive: tuple[float, dict[str, int]] | None = None
    if n <= args.naive_up_to:
        naive = run_naive(config)
    bound = bound_requests(n, args.bulk == "allow")
    return Row(
        n=n,
        bulk=args.bulk,
        requests_ours=stats_ours["requests"],
        requests_naive=None if naive is None else naive[1]["requests"],
        requests_bound=bound,
        seconds_ours=round(seconds_ours, 2),
        seconds_naive=None if naive is None else round(naive[0], 2),
        seconds_bound=round(bound_seconds(bound, args.latency, args.rate_limit or None), 2),
        peak_memory_ours_mib=None if peak is None else round(peak, 2),
        throttled_ours=stats_ours["throttled"],
        throttled_naive=None if naive is None else naive[1]["throttled"],
        left_after_ours=stats_ours["left"],
        left_after_naive=None if naive is None else naive[1]["left"],
    )


def _fmt(value: float | int | None, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def print_row(row: Row) -> None:
    ratio = row.naive_over_ours
    print(
        f"N={row.n:>7} bulk={row.bulk:<6} "
        f"requests ours/naive/bound {row.requests_ours}/{_fmt(row.requests_naive)}/"
        f"{row.requests_bound}  "
        f"seconds ours/naive/bound {row.seconds_ours:.2f}/{_fmt(row.seconds_naive, '.2f')}/"
        f"{row.seconds_bound:.2f}  "
        f"peak MiB ours {_fmt(row.peak_memory_ours_mib, '.2f')}  "
        f"naive/ours {_fmt(ratio, '.1f')}x  ours/bound {row.ours_over_bound:.3f}x  "
        f"429s ours/naive {row.throttled_ours}/{_fmt(row.throttled_naive)}  "
        f"left ours/naive {row.left_after_ours}/{_fmt(row.left_after_naive)}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="1000,10000,100000", help="comma-separated sizes")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per request")
    parser.add_argument("--rate-limit", type=int, default=240, help="requests/minute; 0: off")
    parser.add_argument("--bulk", choices=["allow", "refuse"], default="allow")
    parser.add_argument(
        "--naive-up-to",
        type=int,
        default=1000,
        help="run the naive job only up to this N (it sends ~N requests: 10,000 take 42 "
        "minutes at 240/min)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory pass")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.n.split(",") if part.strip()]
    print(
        f"purge benchmark: latency {args.latency * 1000:.0f} ms, rate limit "
        f"{args.rate_limit or 'off'}/min, bulk {args.bulk}, page {PAGE_SIZE}",
        flush=True,
    )
    rows = []
    for n in sizes:
        row = measure(n, args)
        print_row(row)
        rows.append(row)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "settings": vars(args),
                    "rows": [
                        {
                            **asdict(r),
                            "naive_over_ours": r.naive_over_ours,
                            "ours_over_bound": r.ours_over_bound,
                        }
                        for r in rows
                    ],
                },
                handle,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
