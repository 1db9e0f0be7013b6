"""The long-run benchmark at a small N: correctness facts only, never time targets.

Budgets are scaled down (60/minute, 300/hour) so that 900 recordings take about three hours of
simulated time and a few seconds of real time.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from benchmarks.long_run import (
    RunResult,
    Scenario,
    SimulatedClock,
    bound_requests,
    bound_seconds,
    main,
    run_purge,
)

N = 900
SCENARIO = Scenario(per_minute=60, per_hour=300, latency=0.02)


@pytest.fixture(scope="module")
def refused_runs() -> dict[str, RunResult]:
    """One blocking and one deferrable purge with bulk delete refused (profile cloud)."""
    return {mode: run_purge(N, "refused", mode, SCENARIO) for mode in ("blocking", "deferrable")}


@pytest.mark.parametrize("mode", ["blocking", "deferrable"])
def test_every_recording_is_deleted_exactly_once(
    refused_runs: dict[str, RunResult], mode: str
) -> None:
    run = refused_runs[mode]
    print(f"{mode}: {run.as_dict()}")  # figures are shown (pytest -s), not asserted
    assert run.deleted_exactly_seeded  # the emulator's deleted ids are the seeded ones
    assert run.left == 0
    assert (run.deleted, run.already_gone, run.failed) == (N, 0, 0)
    assert run.by_kind["delete"] == N  # one DELETE each, none repeated
    assert run.correct


@pytest.mark.parametrize("mode", ["blocking", "deferrable"])
def test_no_request_is_throttled(refused_runs: dict[str, RunResult], mode: str) -> None:
    run = refused_runs[mode]
    assert run.throttled_client == 0
    assert sum(run.throttled_server.values()) == 0


def test_the_run_crosses_several_simulated_hours(refused_runs: dict[str, RunResult]) -> None:
    # 900 deletes at 300/hour cannot take less than 3 hours minus the first hour's burst.
    assert refused_runs["blocking"].sim_seconds > 2 * 3600


def test_deferrable_run_defers_and_holds_the_worker_for_less_time(
    refused_runs: dict[str, RunResult],
) -> None:
    blocking, deferrable = refused_runs["blocking"], refused_runs["deferrable"]
    assert blocking.legs == 1
    assert deferrable.legs > 1
    assert blocking.worker_seconds == blocking.sim_seconds
    assert deferrable.worker_seconds < blocking.worker_seconds


@pytest.mark.parametrize("mode", ["blocking", "deferrable"])
def test_bulk_accepted_run_is_correct(mode: str) -> None:
    run = run_purge(N, "bulk", mode, SCENARIO)
    assert run.correct and run.left == 0 and run.deleted == N
    assert run.by_kind.get("delete", 0) == 0 and run.by_kind["bulk_delete"] == N // 100
    assert run.throttled_client == 0 and sum(run.throttled_server.values()) == 0


def test_correct_is_false_when_a_recording_is_left() -> None:
    fields: dict[str, Any] = {
        "n": 10,
        "bulk": "refused",
        "mode": "blocking",
        "requests": 12,
        "bound_requests": 11,
        "sim_seconds": 60.0,
        "bound_seconds": 60.0,
        "throttled_client": 0,
        "throttled_server": {},
        "worker_seconds": 60.0,
        "legs": 1,
        "left": 0,
        "deleted": 10,
        "already_gone": 0,
        "failed": 0,
        "deleted_exactly_seeded": True,
        "real_seconds": 0.1,
    }
    assert RunResult(**fields).correct
    assert not RunResult(**{**fields, "left": 1}).correct
    assert not RunResult(**{**fields, "deleted": 9, "already_gone": 1}).correct
    assert not RunResult(**{**fields, "deleted_exactly_seeded": False}).correct


def test_bound_formulas() -> None:
    assert bound_requests(10_000, bulk=False) == 10_000 + 20
    assert bound_requests(10_000, bulk=True) == 100 + 20
    assert bound_requests(1, bulk=True) == 2
    # 1,200 requests: five bursts of 240, the last at minute 4.
    assert bound_seconds(1200, 240, 1200, 0.0) == 240.0
    # The 1,201st waits for the hour; with latency the last burst is serial.
    assert bound_seconds(1201, 240, 1200, 0.0) == 3600.0
    assert bound_seconds(1201, 240, 1200, 0.5) == 3600.5
    assert bound_seconds(241, 240, 1200, 0.0) == 60.0
    assert bound_seconds(0, 240, 1200, 0.5) == 0.0
    with pytest.raises(ValueError):
        bound_seconds(10, 240, 1000, 0.0)


def test_simulated_clock_sleeps_without_real_time() -> None:
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    clock = SimulatedClock(start)
    assert clock.monotonic() == 0.0
    clock.sleep(3600)
    assert clock.monotonic() == 3600.0
    assert clock.now() == datetime(2025, 1, 1, 1, tzinfo=timezone.utc)
    clock.advance(10)
    clock.advance_to(5)  # never backwards
    assert clock.monotonic() == 3610.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_simulated_clock_overlapping_sleeps_do_not_add_up() -> None:
    clock = SimulatedClock(datetime(2025, 1, 1, tzinfo=timezone.utc))
    ready = threading.Barrier(2)

    def waiter(seconds: float) -> None:
        clock.monotonic()  # both read t=0, as a budget does before computing its wait
        ready.wait()
        clock.sleep(seconds)

    threads = [threading.Thread(target=waiter, args=(s,)) for s in (10.0, 20.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.monotonic() == 20.0


def test_main_prints_the_table_and_writes_json(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "long.json"
    argv = ["--n", "120", "--per-minute", "60", "--per-hour", "300", "--json", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "requests / bound" in printed and "worker share" in printed
    runs = json.loads(out.read_text())["runs"]
    assert len(runs) == 4 and all(run["correct"] and run["left"] == 0 for run in runs)


#: PostHog's own budgets: a deferrable leg then sends about a minute's 240 requests.
CLOUD = Scenario(per_minute=240, per_hour=1200, latency=0.02, fresh_client_per_leg=True)


def test_deferrable_bulk_purge_lists_the_window_once() -> None:
    """Issue 19: each resumed leg used to list the rest of the window again (1.14x the bound
    at 60,000); the plan written once leaves one listing (figures for 60,000 in README)."""
    n = 30_000
    run = run_purge(n, "bulk", "deferrable", CLOUD)
    print(run.as_dict())
    assert run.correct and run.legs > 1
    assert run.requests <= 1.01 * (n / 100 + n / 500 + 2)
    assert run.by_kind["list_page"] <= n // 500 + 1
    assert run.throttled_client == 0 and sum(run.throttled_server.values()) == 0


def test_deferrable_refused_purge_stays_within_its_bound() -> None:
    n = 10_000
    run = run_purge(n, "refused", "deferrable", CLOUD)
    assert run.correct and run.legs > 1
    assert run.requests <= 1.01 * bound_requests(n, bulk=False)
    assert run.by_kind["list_page"] <= n // 500 + 1
    assert run.throttled_client == 0 and sum(run.throttled_server.values()) == 0


def test_bulk_both_runs_both_profiles(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    code = main(["--n", "300", "--bulk", "both", "--modes", "both", "--json", str(out)])
    runs = json.loads(out.read_text())["runs"]
    assert code == 0
    assert [(r["bulk"], r["mode"]) for r in runs] == [
        ("refused", "blocking"),
        ("refused", "deferrable"),
        ("bulk", "blocking"),
        ("bulk", "deferrable"),
    ]
    with pytest.raises(SystemExit, match="--bulk"):
        main(["--n", "10", "--bulk", "sometimes"])
