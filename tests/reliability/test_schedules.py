"""The fast subset of the fault schedules (``make faults`` runs 500 of them).

Each seed is its own case, so a failure names the seed that replays it:
``pytest tests/reliability -k "seed-<seed>"``, or
``python -m tests.reliability.run_schedules --schedules 1 --recordings 60 160 --seed <seed>``.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from posthog_recordings_emulator import FAULT_KINDS

from tests.reliability.schedules import (
    ALL_KINDS,
    OUT_OF_BAND_MOMENTS,
    Schedule,
    run_schedule,
)

CI_SEEDS = range(1000, 1040)
CI_RECORDINGS = (60, 160)


@pytest.mark.parametrize("seed", CI_SEEDS, ids=lambda seed: f"seed-{seed}")
def test_fault_schedule(seed: int) -> None:
    schedule = Schedule.from_seed(seed, recordings=CI_RECORDINGS)
    outcome = run_schedule(schedule)
    replay = (
        "python -m tests.reliability.run_schedules --schedules 1 "
        f"--recordings {CI_RECORDINGS[0]} {CI_RECORDINGS[1]} --seed {seed}"
    )
    report = f"{schedule.describe()}\n{outcome.report()}\nreplay: {replay}"
    assert outcome.ok, report


def test_schedules_draw_from_every_fault_the_emulator_has() -> None:
    # ALL_KINDS is ordered (seeds replay through it); it must still list every kind.
    assert len(ALL_KINDS) == len(set(ALL_KINDS))
    assert set(ALL_KINDS) == FAULT_KINDS


def test_the_ci_seeds_cover_every_fault_and_scenario() -> None:
    schedules = [Schedule.from_seed(seed, recordings=CI_RECORDINGS) for seed in CI_SEEDS]
    assert set().union(*(s.kinds for s in schedules)) == set(ALL_KINDS)
    assert {s.profile for s in schedules} == {"cloud", "cloud_bulk_delete", "self_hosted_legacy"}
    assert sum(s.profile == "cloud" for s in schedules) >= len(schedules) // 3
    assert any(s.bulk_mode == "missing" for s in schedules)
    assert any(s.refuse_bulk_at for s in schedules)
    assert {s.delete_missing_status for s in schedules} == {None, 404, 500}
    assert any(s.out_of_band for s in schedules) and any(s.out_of_band_kept for s in schedules)
    for moment in OUT_OF_BAND_MOMENTS:
        assert any(s.out_of_band and s.out_of_band_at == moment for s in schedules)
    assert any(s.max_retries == 1 for s in schedules)
    assert any(s.shared for s in schedules) and any(s.saved_search for s in schedules)
    assert any(s.cap_first for s in schedules) and any(s.report_only_first for s in schedules)
    assert any(t.kind == "drop_after" for s in schedules for t in s.targeted)


def test_a_schedule_is_the_same_for_the_same_seed() -> None:
    assert Schedule.from_seed(7) == Schedule.from_seed(7)
    assert Schedule.from_seed(7) != Schedule.from_seed(8)


# The checks must be able to fail: break the package on purpose and watch them notice.


def test_the_runner_sees_a_wrongful_deletion(mocker: Any) -> None:
    from airflow_provider_posthog_recordings.jobs.retention import Decision, RetentionPolicy

    mocker.patch.object(
        RetentionPolicy, "decide", lambda self, rec, **kwargs: Decision(rec.id, True)
    )
    outcome = run_schedule(Schedule.from_seed(1001, recordings=CI_RECORDINGS))
    assert outcome.wrongful and not outcome.ok


def test_the_runner_sees_a_missed_deletion(mocker: Any) -> None:
    from airflow_provider_posthog_recordings.jobs.retention import Decision, RetentionPolicy

    mocker.patch.object(
        RetentionPolicy, "decide", lambda self, rec, **kwargs: Decision(rec.id, False)
    )
    outcome = run_schedule(Schedule.from_seed(1002, recordings=CI_RECORDINGS))
    assert outcome.missed and not outcome.ok


def test_the_runner_sees_a_miscounted_deletion(mocker: Any) -> None:
    from airflow_provider_posthog_recordings.jobs.deletion import DeletionLedger

    real = DeletionLedger.add

    def one_too_many(self: DeletionLedger, result: Any) -> None:
        real(self, result)
        self.deleted += 1 if result.deleted else 0

    mocker.patch.object(DeletionLedger, "add", one_too_many)
    outcome = run_schedule(Schedule.from_seed(1001, recordings=CI_RECORDINGS))
    assert outcome.miscounted and not outcome.ok and not outcome.wrongful


def test_the_runner_sees_a_leak_in_the_logs(mocker: Any) -> None:
    from airflow_provider_posthog_recordings.jobs import purge

    real = purge.run

    def leaky(client: Any, settings: Any, state: Any = None) -> Any:
        logging.getLogger("airflow_provider_posthog_recordings.jobs.purge").debug(
            "using %s", client.transport._api_key
        )
        return real(client, settings, state)

    mocker.patch("airflow_provider_posthog_recordings.jobs.purge.run", leaky)
    outcome = run_schedule(Schedule.from_seed(1003, recordings=CI_RECORDINGS))
    assert outcome.leaks and not outcome.ok


def test_the_runner_sees_an_unclear_error(mocker: Any) -> None:
    def bare(client: Any, settings: Any, state: Any = None) -> Any:
        raise KeyError("results")

    mocker.patch("airflow_provider_posthog_recordings.jobs.purge.run", bare)
    outcome = run_schedule(Schedule.from_seed(1004, recordings=CI_RECORDINGS))
    assert outcome.unclear and not outcome.ok


def test_the_command_prints_the_figures_and_fails_on_a_broken_invariant(
    mocker: Any, capsys: Any
) -> None:
    from tests.reliability import run_schedules
    from tests.reliability.schedules import Outcome

    assert (
        run_schedules.main(["--schedules", "2", "--seed", "1000", "--recordings", "60", "80"]) == 0
    )
    out = capsys.readouterr().out
    for figure in (
        "Schedules run:                  2",
        "Faults injected by kind:",
        "Wrongful deletions:             0",
        "Missed deletions after rerun:   0",
        "Leaks:                          0",
        "Time taken:",
    ):
        assert figure in out

    def broken(schedule: Schedule) -> Outcome:
        outcome = Outcome(seed=schedule.seed, wrongful={"a", "b"})
        outcome.broke("2 wrongful deletion(s)")
        return outcome

    mocker.patch.object(run_schedules, "run_schedule", broken)
    assert run_schedules.main(["--schedules", "3", "--seed", "7"]) == 1
    out = capsys.readouterr().out
    assert "Wrongful deletions:             6" in out and "FAILED seeds (3): 7 8 9" in out
