"""Print the mutation score per module from ``mutmut results --all true`` (read on stdin).

    mutmut results --all true | python scripts/mutation_score.py [--min 90]

A mutant counts as killed when a test failed on it or it timed out (a mutant that makes the
code loop is caught); one that survived or that no test reached is not killed. With
``--min``, the exit status is 1 when the overall score is below that percentage.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable

PACKAGE = "airflow_provider_posthog_recordings."
KILLED = frozenset({"killed", "timeout", "caught by type check"})
# "airflow_provider_posthog_recordings.jobs.deletion.xǁDeletionRecordǁwrite__mutmut_9: survived"
LINE = re.compile(r"^\s*(?P<module>[\w.]+?)\.x[_ǁ]\S+__mutmut_\d+: (?P<status>.+?)\s*$")


def tally(lines: Iterable[str]) -> dict[str, Counter[str]]:
    """Statuses counted per module."""
    modules: dict[str, Counter[str]] = defaultdict(Counter)
    for line in lines:
        match = LINE.match(line)
        if match:
            modules[match["module"]][match["status"]] += 1
    return modules


def score(statuses: Counter[str]) -> tuple[int, int]:
    """Killed (timeouts included) and total."""
    return sum(statuses[status] for status in KILLED), sum(statuses.values())


def report(modules: dict[str, Counter[str]]) -> tuple[str, float]:
    """The table, and the overall percentage killed."""
    rows = []
    overall: Counter[str] = Counter()
    for module in sorted(modules):
        statuses = modules[module]
        overall.update(statuses)
        killed, total = score(statuses)
        rest = ", ".join(
            f"{count} {status}"
            for status, count in sorted(statuses.items())
            if status not in KILLED
        )
        name = module.removeprefix(PACKAGE)
        line = f"{name:<28} {killed:>4}/{total:<4} {100 * killed / total:5.1f}%  {rest}"
        rows.append(line.rstrip())
    killed, total = score(overall)
    percent = 100 * killed / total if total else 0.0
    rows.append(f"{'overall':<28} {killed:>4}/{total:<4} {percent:5.1f}%")
    return "\n".join(rows), percent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=float, default=None, help="fail below this percentage")
    args = parser.parse_args(argv)
    modules = tally(sys.stdin)
    if not modules:
        print("no mutants in the input: run `mutmut run` first", file=sys.stderr)
        return 1
    table, percent = report(modules)
    print("Mutation score (killed or timed out / mutants):")
    print(table)
    if args.min is not None and percent < args.min:
        print(f"below the goal of {args.min:.0f}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
