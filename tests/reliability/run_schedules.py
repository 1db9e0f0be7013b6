"""Run many seeded fault schedules against the purge and print the figures (``make faults``).

Usage::

    python -m tests.reliability.run_schedules --schedules 500 [--seed S] [--recordings 100 300]

Schedule ``i`` uses seed ``S + i``; a failing seed replays alone with
``--seed <seed> --schedules 1`` (the pytest cases use ``--recordings 60 160``). Exits 1 when
any invariant was broken.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from tests.reliability.schedules import (
    ALL_KINDS,
    DEFAULT_RECORDINGS,
    Outcome,
    Schedule,
    run_schedule,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=500, help="how many (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first schedule")
    parser.add_argument(
        "--recordings",
        type=int,
        nargs=2,
        default=DEFAULT_RECORDINGS,
        metavar=("MIN", "MAX"),
        help="seeded recordings per schedule (default 100 300)",
    )
    parser.add_argument("--verbose", action="store_true", help="one line per schedule")
    args = parser.parse_args(argv)
    if args.schedules < 1:
        parser.error("--schedules must be at least 1")

    started = time.monotonic()
    faults: Counter[str] = Counter()
    events: Counter[str] = Counter()
    failed: list[Outcome] = []
    profiles: Counter[str] = Counter()
    wrongful = missed = miscounted = leaks = unclear = expected = requests = 0
    for index in range(args.schedules):
        seed = args.seed + index
        schedule = Schedule.from_seed(seed, recordings=tuple(args.recordings))
        outcome = run_schedule(schedule)
        profiles[schedule.profile] += 1
        faults.update(outcome.faults)
        events.update(outcome.events)
        wrongful += len(outcome.wrongful)
        missed += len(outcome.missed)
        miscounted += len(outcome.miscounted)
        leaks += len(outcome.leaks)
        unclear += len(outcome.unclear)
        expected += outcome.expected
        requests += outcome.requests
        if not outcome.ok:
            failed.append(outcome)
            print(f"FAILED {schedule.describe()}\n{outcome.report()}", flush=True)
        elif args.verbose:
            print(
                f"ok seed={seed} {outcome.seconds:.2f}s requests={outcome.requests} "
                f"faults={sum(outcome.faults.values())} {dict(outcome.events)}",
                flush=True,
            )
        elif (index + 1) % 50 == 0:
            print(f"... {index + 1}/{args.schedules} schedules", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - started

    last = args.seed + args.schedules - 1
    other = sum(len(o.other) for o in failed)
    print()
    print(f"Schedules run:                  {args.schedules} (seeds {args.seed}-{last})")
    print(f"Server profiles:                {dict(sorted(profiles.items()))}")
    print(f"Requests served:                {requests}")
    print(f"Recordings the policy selects:  {expected}")
    print(f"Runs that gave up, then rerun:  {events['gave_up_then_rerun']}")
    print(f"Bulk refused mid-run:           {events['bulk_refused_mid_run']}")
    print(
        f"Deleted by someone else:        {events['deleted_out_of_band']} (runs: "
        f"{events['out_of_band_first_delete']} before the first deletion request, "
        f"{events['out_of_band_after_listing']} right after the listing)"
    )
    print(f"Report-only runs / capped runs: {events['report_onlys']} / {events['capped_runs']}")
    print("Faults injected by kind:")
    for kind in ALL_KINDS:
        print(f"  {kind:<18} {faults[kind]:>7}")
    print(f"  {'total':<18} {sum(faults.values()):>7}")
    print(f"Wrongful deletions:             {wrongful}")
    print(f"Missed deletions after rerun:   {missed}")
    print(f"Miscounted runs (accounting):   {miscounted}")
    print(
        f"  of which unattributable (retried request, someone else): "
        f"{events['unattributable_after_retry']} ids, not counted"
    )
    print(
        "  reported failed, then deleted by a request that had timed out: "
        f"{events['failed_then_deleted_by_a_late_attempt']} ids, not counted"
    )
    print(f"Leaks:                          {leaks}")
    print(f"Unclear errors:                 {unclear}")
    print(f"Other broken invariants:        {other}")
    print(f"Time taken:                     {elapsed:.1f} s")
    if failed:
        seeds = " ".join(str(o.seed) for o in failed)
        print(f"FAILED seeds ({len(failed)}): {seeds}")
        low, high = args.recordings
        print(
            "Replay one: python -m tests.reliability.run_schedules --schedules 1 "
            f"--recordings {low} {high} --seed <seed>"
        )
        return 1
    print("All invariants held.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
