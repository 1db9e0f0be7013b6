"""The example DAGs: every one imports cleanly, and the retention and curation DAGs do their
job end to end on a real Airflow (``dag.test()``) against the PostHog emulator."""

from __future__ import annotations

import inspect
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_posthog_recordings.testing import PostHogEmulator
from tests.dags.conftest import EXAMPLE_DAGS, give_to_airflow

EXPECTED_TASKS = {
    "posthog_retention_policy": {"purge_old_recordings", "report"},
    "posthog_playlist_curation": {"curate_console_errors", "curate_long_sessions"},
    "posthog_daily_triage": {
        "wait_for_error_sessions",
        "list_error_sessions",
        "share_error_sessions",
        "mark_viewed",
        "report",
    },
    "posthog_gdpr_erasure": {"erase_recordings", "report"},
}
#: The cron expression of each scheduled DAG (the erasure DAG is triggered by hand).
DAILY = {
    "posthog_retention_policy": "0 0 * * *",
    "posthog_playlist_curation": "0 0 * * *",
    "posthog_daily_triage": "0 6 * * *",
}


@pytest.fixture(scope="module")
def dagbag() -> Any:
    from airflow.models import DagBag

    # Airflow 2 DagBags include Airflow's own examples unless told not to; 3.3 has no option.
    options: dict[str, Any] = {"include_examples": False}
    if "include_examples" not in inspect.signature(DagBag).parameters:
        options = {}
    return DagBag(dag_folder=str(EXAMPLE_DAGS), **options)


# ------------------------------------------------------------------ loading


def test_every_example_dag_imports_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == set(EXPECTED_TASKS)
    files = {path.name for path in EXAMPLE_DAGS.glob("*.py")}
    assert files == {f"{dag_id}.py" for dag_id in EXPECTED_TASKS}


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_TASKS))
def test_example_dag_shape(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert {task.task_id for task in dag.tasks} == EXPECTED_TASKS[dag_id]
    assert dag.doc_md and dag.doc_md.strip().startswith("###")
    assert dag.description
    assert "posthog" in dag.tags
    assert dag.catchup is False
    assert dag.start_date < datetime.now(timezone.utc)
    timetable = dag.timetable
    expression = getattr(timetable, "expression", None) or getattr(timetable, "_expression", None)
    assert expression == DAILY.get(dag_id)
    posthog_tasks = [task for task in dag.tasks if hasattr(task, "posthog_conn_id")]
    assert posthog_tasks
    assert {task.posthog_conn_id for task in posthog_tasks} == {"posthog_default"}


def test_retention_dag_params_default_to_a_capped_dry_run(dagbag: Any) -> None:
    dag = dagbag.dags["posthog_retention_policy"]
    params = {name: dag.params[name] for name in ("older_than_days", "dry_run", "max_deletions")}
    assert params == {"older_than_days": 30, "dry_run": True, "max_deletions": 1000}
    purge = dag.get_task("purge_old_recordings")
    assert purge.keep_pinned is True
    assert purge.older_than_days == "{{ params.older_than_days }}"
    assert dag.get_task("report").upstream_task_ids == {"purge_old_recordings"}


def test_every_search_sends_an_explicit_window(dagbag: Any) -> None:
    """Without date_from PostHog silently looks at the last 3 days only."""
    for dag_id in ("posthog_playlist_curation", "posthog_daily_triage"):
        for task in dagbag.dags[dag_id].tasks:
            query = getattr(task, "query", None)
            if query is not None:
                assert query.get("date_from"), f"{dag_id}.{task.task_id} has no date_from"


# ------------------------------------------------------------------ whole runs


def _start_time(recording: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(recording["start_time"].replace("Z", "+00:00"))


def _recordings(emulator: PostHogEmulator, ids: list[str]) -> dict[str, dict[str, Any]]:
    found = {rid: emulator.recording(rid) for rid in ids}
    return {rid: rec for rid, rec in found.items() if rec is not None}


def _as_utc(value: Any) -> datetime:
    return datetime.fromtimestamp(value.timestamp(), tz=timezone.utc)


def _task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


@pytest.mark.dagrun
def test_retention_dag_dry_run_then_real_run(
    dagbag: Any, posthog_for_dags: PostHogEmulator
) -> None:
    emulator = posthog_for_dags
    ids = emulator.seed_recordings(400, days=90, seed=11, ongoing=4)
    rng = random.Random(11)
    pinned = set(rng.sample(ids, 40))
    unpinned = set(rng.sample(sorted(set(ids) - pinned), 20))
    emulator.create_playlist("Legal hold", pinned=True, recording_ids=sorted(pinned))
    emulator.create_playlist("Just a collection", recording_ids=sorted(unpinned))
    before = _recordings(emulator, ids)
    dag = dagbag.dags["posthog_retention_policy"]

    # The DAG's defaults are a dry run: nothing goes.
    dry = dag.test()
    assert str(dry.state) == "success", _task_states(dry)
    assert emulator.deleted_ids == set()
    assert emulator.recording_ids() == set(ids)

    real = dag.test(run_conf={"dry_run": False})
    assert str(real.state) == "success", _task_states(real)
    cutoff = _as_utc(real.data_interval_end) - timedelta(days=30)
    old = {rid for rid, rec in before.items() if _start_time(rec) < cutoff}
    expected = {rid for rid in old if rid not in pinned and not before[rid]["ongoing"]}
    assert emulator.deleted_ids == expected
    assert emulator.recording_ids() == set(ids) - expected
    # The case is not trivial: old pinned recordings stayed, old unpinned playlist ones went.
    assert len(expected) > 200
    assert old & pinned and old & pinned <= emulator.recording_ids()
    assert old & unpinned and old & unpinned <= emulator.deleted_ids


@pytest.mark.dagrun
@pytest.mark.usefixtures("airflow_db")
def test_curation_dag_fills_both_playlists_with_exactly_the_matching_recordings(
    dagbag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with PostHogEmulator(profile="permissive", rate_limits=False, clock=lambda: now) as emulator:
        give_to_airflow(emulator, monkeypatch)
        ids = emulator.seed_recordings(400, days=30, seed=5, ongoing=3, error_fraction=0.25)
        recordings = _recordings(emulator, ids)
        window_start = now - timedelta(days=7)
        recent = {rid for rid, rec in recordings.items() if _start_time(rec) >= window_start}
        with_errors = {rid for rid in recent if recordings[rid]["console_error_count"] > 0}
        long = {rid for rid in recent if recordings[rid]["recording_duration"] > 300}
        # A stale item in an existing "Long sessions" playlist: curation removes it.
        stale = next(
            rid
            for rid, rec in recordings.items()
            if rid not in recent and rec["recording_duration"] > 300
        )
        emulator.create_playlist("Long sessions", recording_ids=[stale])

        run = dagbag.dags["posthog_playlist_curation"].test()

        assert str(run.state) == "success", _task_states(run)
        playlists = {p["name"]: p for p in emulator.playlists() if not p["deleted"]}
        assert set(playlists) == {"Sessions with console errors", "Long sessions"}
        assert not any(p["pinned"] for p in playlists.values())
        errors_playlist = playlists["Sessions with console errors"]["short_id"]
        errors_items = emulator.playlist_items(errors_playlist)
        long_items = emulator.playlist_items(playlists["Long sessions"]["short_id"])
        assert 0 < len(with_errors) < 100 and 0 < len(long) < 100
        assert set(errors_items) == with_errors
        assert set(long_items) == long
        assert len(errors_items) == len(set(errors_items))
        assert emulator.deleted_ids == set()
