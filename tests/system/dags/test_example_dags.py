"""The example DAGs: every one imports cleanly, and the retention and curation DAGs do their
job end to end on a real Airflow (``dag.test()``) against the PostHog emulator."""

from __future__ import annotations

import inspect
import json
import random
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from posthog_recordings_emulator import PostHogEmulator

from tests.system.dags.conftest import EXAMPLE_DAGS, give_to_airflow

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
    "posthog_gdpr_erasure": {"check_request", "erase_recordings", "report"},
    "posthog_archive_then_purge": {"archive_then_purge", "report"},
}
#: Tasks that use the key outside the pool: the sensor waits for hours, deferred; in a pool
#: that counts deferred tasks it would hold the key's only slot all that time.
OUTSIDE_THE_POOL = {("posthog_daily_triage", "wait_for_error_sessions")}
try:  # Airflow 3.1+: the approval DAG exists; on Airflow 2 its file defines no DAG
    from airflow.providers.standard.operators.hitl import ApprovalOperator  # noqa: F401

    HAS_APPROVAL = True
except ImportError:
    HAS_APPROVAL = False
APPROVAL_DAG = "posthog_purge_with_approval"
APPROVAL_TASKS = {"plan_purge", "summarize_plan", "approve_purge", "apply_plan"}
if HAS_APPROVAL:
    EXPECTED_TASKS[APPROVAL_DAG] = APPROVAL_TASKS
#: The cron expression of each scheduled DAG (the erasure DAG is triggered by hand).
DAILY = {
    "posthog_retention_policy": "0 0 * * *",
    "posthog_playlist_curation": "0 0 * * *",
    "posthog_daily_triage": "0 6 * * *",
    "posthog_archive_then_purge": "0 0 * * *",
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
    assert files == {f"{dag_id}.py" for dag_id in {*EXPECTED_TASKS, APPROVAL_DAG}}
    assert (APPROVAL_DAG in dagbag.dag_ids) == HAS_APPROVAL  # skipped cleanly on Airflow 2


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


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_TASKS))
def test_every_task_that_uses_the_key_runs_in_its_pool(dagbag: Any, dag_id: str) -> None:
    """One key, one budget: its tasks share the pool posthog_api (the sensor excepted)."""
    for task in dagbag.dags[dag_id].tasks:
        uses_the_key = hasattr(task, "posthog_conn_id")
        if uses_the_key and (dag_id, task.task_id) not in OUTSIDE_THE_POOL:
            assert task.pool == "posthog_api", f"{dag_id}.{task.task_id} is not in the pool"
        elif not uses_the_key:
            assert task.pool != "posthog_api", f"{dag_id}.{task.task_id} needs no slot"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_TASKS))
def test_doc_fits_airflow_doc_dialog(dagbag: Any, dag_id: str) -> None:
    """Airflow shows doc_md in a small dialog: a few lines, the details in the README."""
    doc = dagbag.dags[dag_id].doc_md.strip()
    assert len(doc) <= 700 and len(doc.splitlines()) <= 12, (len(doc), dag_id)
    assert "README" in doc


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_TASKS))
def test_params_can_be_triggered_with_their_defaults(dagbag: Any, dag_id: str) -> None:
    """Airflow's trigger form refuses a run when a default fails its own schema (an empty
    string where a string is required, no value where null is not allowed). Every param has
    a title and a short description for the form."""
    params = dagbag.dags[dag_id].params
    defaults = {name: params[name] for name in params}
    params.validate()  # raises on any default its schema refuses
    for name in defaults:
        schema = params.get_param(name).schema
        assert schema.get("title"), f"{dag_id}: param {name} has no title"
        description = params.get_param(name).description or ""
        assert 0 < len(description) <= 90, f"{dag_id}: param {name}: {description!r}"
    for name, value in defaults.items():
        if value in ("", None):  # empty means none: the schema must say null is allowed
            assert "null" in params.get_param(name).schema.get("type", []), (dag_id, name)


#: One vocabulary across the example DAGs (README, "Example DAGs": the table of labels).
LABELS = {
    "older_than_days": "Older than (days)",
    "report_only": "Report only",
    "max_deletions": "Safety cap",
    "max_deletions_per_run": "Deletions per run",
    "deletion_record_path": "Deletion record folder",
    "archive_path": "Archive folder",
    "plan_path": "Plan folder",
    "distinct_id": "Distinct ID",
}


def test_one_label_for_one_thing_across_the_dags_and_the_readme(dagbag: Any) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    seen = 0
    for dag_id in EXPECTED_TASKS:
        params = dagbag.dags[dag_id].params
        for name in params:
            if name in LABELS:
                seen += 1
                title = params.get_param(name).schema["title"]
                assert title == LABELS[name], (dag_id, name, title)
    assert seen >= 12
    for name, label in LABELS.items():
        assert f"| `{name}` | {label} |" in readme, name


def test_triage_window_renders_for_manual_and_scheduled_runs(dagbag: Any) -> None:
    """A manual run looks at the 24 h before it was triggered, whatever interval Airflow
    inferred for it (the UI's runs have the last completed one); a scheduled run at its
    data interval."""
    from types import SimpleNamespace

    dag = dagbag.dags["posthog_daily_triage"]
    template = dag.get_task("list_error_sessions").query["date_from"]
    env = dag.get_template_env()
    run_after = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    last_interval = datetime(2026, 3, 3, 6, tzinfo=timezone.utc)
    macros = SimpleNamespace(timedelta=timedelta)
    cli = env.from_string(template).render(
        dag_run=SimpleNamespace(run_after=run_after, run_type="manual"), macros=macros
    )
    assert cli == str(run_after - timedelta(days=1))
    ui = env.from_string(template).render(
        dag_run=SimpleNamespace(run_after=run_after, run_type="manual"),
        logical_date=run_after,  # the UI's logical date: the click
        data_interval_start=last_interval,
        macros=macros,
    )
    assert ui == str(run_after - timedelta(days=1))
    airflow2 = env.from_string(template).render(  # no run_after; the logical date
        dag_run=SimpleNamespace(run_type="manual"),
        logical_date=run_after,
        data_interval_start=last_interval,
        macros=macros,
    )
    assert airflow2 == str(run_after - timedelta(days=1))
    scheduled = env.from_string(template).render(
        data_interval_start=last_interval,
        dag_run=SimpleNamespace(run_after=run_after, run_type="scheduled"),
        macros=macros,
    )
    assert scheduled == str(last_interval)


def test_triage_shares_and_marks_viewed_only_when_a_person_chose_it(dagbag: Any) -> None:
    """Defaults (a scheduled run, the first run after unpausing) do nothing irreversible."""
    from types import SimpleNamespace

    dag = dagbag.dags["posthog_daily_triage"]
    assert dag.params["share_publicly"] is False and dag.params["mark_viewed"] is False
    env = dag.get_template_env()
    ti = SimpleNamespace(xcom_pull=lambda task_ids: ["r1", "r2"])
    for task_id, param in (
        ("share_error_sessions", "share_publicly"),
        ("mark_viewed", "mark_viewed"),
    ):
        template = dag.get_task(task_id).recording_ids
        off = env.from_string(template).render(ti=ti, params={param: False})
        on = env.from_string(template).render(ti=ti, params={param: True})
        assert (off, on) == ("", "r1,r2"), task_id


def test_retention_dag_params_default_to_a_capped_report_only(dagbag: Any) -> None:
    dag = dagbag.dags["posthog_retention_policy"]
    names = ("older_than_days", "report_only", "max_deletions", "max_deletions_per_run")
    params = {name: dag.params[name] for name in names}
    assert params == {
        "older_than_days": 30,
        "report_only": True,
        "max_deletions": 100_000,
        "max_deletions_per_run": 1000,
    }
    purge = dag.get_task("purge_old_recordings")
    assert purge.keep_pinned is True
    # One budget per key: every task that uses the key runs in the key's pool, deferrable.
    assert purge.pool == "posthog_api" and purge.deferrable is True
    erase = dagbag.dags["posthog_gdpr_erasure"].get_task("erase_recordings")
    assert erase.pool == "posthog_api" and erase.deferrable is True
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
def test_retention_dag_report_only_then_real_run(
    dagbag: Any, posthog_for_dags: PostHogEmulator
) -> None:
    emulator = posthog_for_dags
    ids = emulator.seed_recordings(240, days=90, seed=11, ongoing=4)
    rng = random.Random(11)
    pinned = set(rng.sample(ids, 30))
    unpinned = set(rng.sample(sorted(set(ids) - pinned), 20))
    emulator.create_playlist("Legal hold", pinned=True, recording_ids=sorted(pinned))
    emulator.create_playlist("Just a collection", recording_ids=sorted(unpinned))
    before = _recordings(emulator, ids)
    dag = dagbag.dags["posthog_retention_policy"]

    # The DAG's defaults are a report-only run: nothing goes.
    dry = dag.test()
    assert str(dry.state) == "success", _task_states(dry)
    assert emulator.deleted_ids == set()
    assert emulator.recording_ids() == set(ids)

    real = dag.test(run_conf={"report_only": False})
    assert str(real.state) == "success", _task_states(real)
    cutoff = _as_utc(real.data_interval_end) - timedelta(days=30)
    old = {rid for rid, rec in before.items() if _start_time(rec) < cutoff}
    expected = {rid for rid in old if rid not in pinned and not before[rid]["ongoing"]}
    assert emulator.deleted_ids == expected
    assert emulator.recording_ids() == set(ids) - expected
    # The case is not trivial: old pinned recordings stayed, old unpinned playlist ones went.
    assert len(expected) > 100
    # PostHog Cloud refused bulk deletes to the key: one DELETE each, and no 429.
    assert len([r for r in emulator.requests if r.method == "DELETE"]) == len(expected)
    assert sum(emulator.throttles.values()) == 0
    assert old & pinned and old & pinned <= emulator.recording_ids()
    assert old & unpinned and old & unpinned <= emulator.deleted_ids


@pytest.mark.dagrun
def test_curation_dag_keeps_two_saved_searches_with_a_personal_key(
    dagbag: Any, posthog_for_dags: PostHogEmulator
) -> None:
    """On PostHog Cloud a personal API key cannot change a collection's items: the curation
    DAG keeps saved searches, which it may create and update, and nothing it sends is refused."""
    emulator = posthog_for_dags
    emulator.seed_recordings(50, days=30, seed=5, error_fraction=0.25)
    dag = dagbag.dags["posthog_playlist_curation"]

    first = dag.test()
    assert str(first.state) == "success", _task_states(first)
    playlists = {p["name"]: p for p in emulator.playlists() if not p["deleted"]}
    assert {"Sessions with console errors", "Long sessions"} <= set(playlists)
    errors, long = playlists["Sessions with console errors"], playlists["Long sessions"]
    assert errors["type"] == long["type"] == "filters"
    assert errors["filters"]["date_from"] == long["filters"]["date_from"] == "-7d"
    assert errors["filters"]["filter_group"]["values"][0]["values"] == [
        {"type": "log_entry", "key": "level", "operator": "exact", "value": ["error"]}
    ]
    assert long["filters"]["duration"] == [
        {"type": "recording", "key": "duration", "operator": "gt", "value": 300}
    ]
    writes = [r for r in emulator.requests if r.method != "GET"]
    assert writes and all(r.status is not None and r.status < 300 for r in writes)

    again = dag.test()
    assert str(again.state) == "success", _task_states(again)
    assert len([p for p in emulator.playlists() if not p["deleted"]]) == len(playlists)
    assert emulator.deleted_ids == set()


@pytest.mark.dagrun
def test_gdpr_erasure_dag_with_its_defaults_erases_nothing(
    dagbag: Any, posthog_for_dags: PostHogEmulator
) -> None:
    """Triggered with the defaults (no distinct_id): skipped, nothing sent, the run succeeds."""
    posthog_for_dags.seed_recordings(5, days=3, seed=2)

    run = dagbag.dags["posthog_gdpr_erasure"].test()

    assert str(run.state) == "success", _task_states(run)
    states = _task_states(run)
    assert states["check_request"] == "success"
    assert states["erase_recordings"] == states["report"] == "skipped"
    assert posthog_for_dags.requests == [] and posthog_for_dags.deleted_ids == set()


@pytest.mark.dagrun
def test_gdpr_erasure_dag_deletes_every_recording_of_the_person(
    dagbag: Any, posthog_for_dags: PostHogEmulator
) -> None:
    emulator = posthog_for_dags
    emulator.seed_recordings(60, days=30, seed=8)
    now = datetime.now(timezone.utc)
    theirs = [
        emulator.add_recording(distinct_id="user-42", start_time=now - timedelta(days=days))["id"]
        for days in (1, 45, 400)
    ]
    others = emulator.recording_ids() - set(theirs)

    run = dagbag.dags["posthog_gdpr_erasure"].test(run_conf={"distinct_id": "user-42"})

    assert str(run.state) == "success", _task_states(run)
    assert emulator.deleted_ids == set(theirs)
    assert emulator.recording_ids() == others


@pytest.mark.dagrun
def test_gdpr_erasure_of_a_distinct_id_without_recordings_fails_loudly(
    dagbag: Any, posthog_for_dags: PostHogEmulator
) -> None:
    """A mistyped id finds nothing: the run fails, it does not pass as a done erasure."""
    emulator = posthog_for_dags
    emulator.add_recording(distinct_id="user-42", start_time=datetime.now(timezone.utc))

    run = dagbag.dags["posthog_gdpr_erasure"].test(run_conf={"distinct_id": "user-24"})

    assert str(run.state) == "failed", _task_states(run)
    states = _task_states(run)
    assert states["erase_recordings"] == "success" and states["report"] == "failed"
    assert emulator.deleted_ids == set()


def _purge_manifest(run: Any) -> dict[str, Any]:
    """The purge task's XCom (its manifest) of a finished DAG run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(
        run_id=run.run_id, dag_ids=run.dag_id, task_ids="purge_old_recordings", key="return_value"
    )
    with create_session() as session:
        [row] = session.scalars(query).all()
        value = row.value
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.dagrun
@pytest.mark.usefixtures("airflow_db")
def test_a_deferred_purge_in_dag_test_matches_an_uninterrupted_one(
    dagbag: Any, monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    """The key's minute is scaled down to 3 s (a clock): the budgeted run defers several times
    for it, the triggers run in line in dag.test(), and the manifest is the same."""
    from airflow_provider_posthog_recordings.client.http import key_budget
    from airflow_provider_posthog_recordings.operators import budgeted

    mocker.patch.object(key_budget, "WINDOW_SECONDS", 3.0)
    mocker.patch.object(budgeted, "MIN_DEFERRAL_SECONDS", 0.0)  # no scheduler here
    now = datetime.now(timezone.utc).replace(microsecond=0)
    dag = dagbag.dags["posthog_retention_policy"]
    purge_task = dag.get_task("purge_old_recordings")
    monkeypatch.setattr(purge_task, "max_wait_in_worker", 0.5)  # put back after the test
    manifests = []
    for budget in (None, 30):
        with PostHogEmulator(rate_limits=False, clock=lambda: now) as emulator:
            emulator.seed_recordings(90, days=60, seed=12, end=now)
            hold = sorted(emulator.recording_ids())[:9]
            emulator.create_playlist("Legal hold", pinned=True, recording_ids=hold)
            extra = {} if budget is None else {"requests_per_minute": budget}
            give_to_airflow(emulator, monkeypatch, **extra)
            run = dag.test(run_conf={"report_only": False}, logical_date=now)
            assert str(run.state) == "success", _task_states(run)
            manifest = _purge_manifest(run)
            assert manifest["deleted"] == len(emulator.deleted_ids) > 30
            assert set(hold) <= emulator.recording_ids()
            manifests.append(manifest)
    uninterrupted, deferred = manifests
    assert uninterrupted["legs"] == 1 and deferred["legs"] > 1
    # Each run wrote its plan to the task's XCom (no plan path here), with an id of its own.
    assert {m["plan_location"] for m in manifests} == {"xcom:purge_old_recordings/purge_plan"}
    assert uninterrupted["plan_id"] != deferred["plan_id"]
    for manifest in manifests:
        for key in ("legs", "requests", "plan_id"):
            manifest.pop(key)
        # The same ids; which of a group go before a pause depends on when each got its turn.
        manifest["deleted_ids"] = sorted(manifest["deleted_ids"])
    assert deferred == uninterrupted


@pytest.mark.dagrun
@pytest.mark.usefixtures("airflow_db")
def test_daily_retention_with_a_budget_takes_the_backlog_oldest_first(
    dagbag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three daily runs of the retention DAG, each allowed 40 deletions, on PostHog Cloud for
    a personal key (bulk deletes refused): the backlog goes oldest first, nothing is deleted or
    reported twice, and nothing pinned is touched."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    dag = dagbag.dags["posthog_retention_policy"]
    with PostHogEmulator(clock=lambda: now) as emulator:
        give_to_airflow(emulator, monkeypatch)
        ids = emulator.seed_recordings(300, days=60, seed=13, end=now)
        pinned = sorted(ids)[:15]
        emulator.create_playlist("Legal hold", pinned=True, recording_ids=pinned)
        reported: list[str] = []
        for day in (3, 2, 1):
            logical_date = now - timedelta(days=day)
            before = {rid: emulator.recording(rid) for rid in emulator.recording_ids()}
            deleted_before = set(emulator.deleted_ids)
            run = dag.test(
                run_conf={"report_only": False, "max_deletions_per_run": 40},
                logical_date=logical_date,
            )
            assert str(run.state) == "success", _task_states(run)
            manifest = _purge_manifest(run)
            cutoff = _as_utc(run.data_interval_end) - timedelta(days=30)
            assert manifest["cutoff"] == cutoff.isoformat()
            selected = sorted(
                (_start_time(rec), rid)
                for rid, rec in before.items()
                if rid not in pinned and _start_time(rec) < cutoff and not rec["ongoing"]
            )
            this_run = emulator.deleted_ids - deleted_before
            assert this_run == {rid for _, rid in selected[:40]}  # the 40 oldest
            assert manifest["deleted"] == 40 and manifest["already_gone"] == 0
            assert manifest["backlog"] == len(selected) - 40 > 0
            assert not set(manifest["deleted_ids"]) & set(reported)  # never reported twice
            reported += manifest["deleted_ids"]
        assert len(reported) == len(set(reported)) == 120
        assert set(pinned) <= emulator.recording_ids()


@pytest.mark.dagrun
def test_archive_then_purge_dag_deletes_only_what_it_archived(
    dagbag: Any, airflow_db: dict[str, str], monkeypatch: Any, tmp_path: Any
) -> None:
    from airflow_provider_posthog_recordings.jobs.archive import read_archive
    from tests.system.dags.conftest import give_to_airflow

    with PostHogEmulator(snapshot_plan="enterprise") as emulator:
        give_to_airflow(emulator, monkeypatch, snapshot_requests_per_minute=100)
        end = datetime.now(timezone.utc) - timedelta(days=31)
        ids = emulator.seed_recordings(15, days=20, seed=12, end=end)
        emulator.empty_snapshot_sources(ids[0], times=-1)
        dag = dagbag.dags["posthog_archive_then_purge"]
        conf = {"report_only": False, "archive_path": str(tmp_path)}
        run = dag.test(run_conf=conf)
        assert str(run.state) == "success", _task_states(run)
        assert emulator.deleted_ids == set(ids[1:])
        assert emulator.recording_ids() == {ids[0]}
        for rid in ids[1:]:
            events = read_archive(tmp_path, rid)["events"]
            assert events == [json.loads(line) for line in emulator.snapshot_lines(rid)]


class _PlanTaskXCom:
    """The ``ti`` a template sees, pulling the plan task's manifest and its summary."""

    def __init__(self, manifest: dict[str, Any], summary: dict[str, str]) -> None:
        self.values = {"plan_purge": manifest, "summarize_plan": summary}

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        assert key == "return_value"
        return self.values[task_ids]


def _approval_module() -> Any:
    """The approval DAG's file as a module (its summary_of, outside Airflow)."""
    import importlib.util

    path = Path(__file__).resolve().parents[3] / "example_dags" / f"{APPROVAL_DAG}.py"
    spec = importlib.util.spec_from_file_location("approval_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not HAS_APPROVAL, reason="human-in-the-loop operators need Airflow 3.1+")
def test_the_approval_summary_reads_as_words_with_a_link_to_the_plan() -> None:
    summary_of = _approval_module().summary_of
    plan = {
        "candidates": 845,
        "cutoff": "2026-11-08T06:00:00+00:00",
        "kept_total": 22,
        "kept": {"protected_playlist": 20, "ongoing": 2},
        "oldest_candidate": {"recording_id": "r-old", "start_time": "2026-01-02T03:04:05Z"},
        "newest_candidate": None,
        "protected_playlists": ["Legal hold"],
        "max_deletions": 100000,
        "exceeds_max_deletions": False,
        "plan_location": "xcom:plan_purge/purge_plan",
    }
    words = summary_of(plan, 300, "manual__2026-12-08T01:00:00+00:00", "about 310 requests")
    assert words["kept"] == "22 (2 ongoing, 20 protected playlist)"
    assert words["cutoff"] == "2026-11-08 06:00 UTC"
    assert words["oldest"] == "`r-old`, started 2026-01-02 03:04 UTC" and words["newest"] == "-"
    assert words["cap"] == "100,000: within it"
    assert words["this_run"] == "the oldest 300; the other 545 wait for a new plan"
    assert words["plan_link"] == (
        "[the XCom of plan_purge](/dags/posthog_purge_with_approval/runs/"
        "manual__2026-12-08T01%3A00%3A00%2B00%3A00/tasks/plan_purge/xcom)"
    )
    everything = " ".join(words.values())
    assert "{" not in everything and "True" not in everything and "False" not in everything
    on_disk = summary_of({**plan, "plan_location": "s3://b/plans/x"}, None, "r", "e")
    assert on_disk["plan_link"].startswith("`s3://b/plans/x`")
    assert on_disk["this_run"] == "845 (all)"


@pytest.mark.skipif(not HAS_APPROVAL, reason="human-in-the-loop operators need Airflow 3.1+")
def test_approval_dag_shows_the_plan_then_applies_it(
    dagbag: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three tasks as the DAG wires them: the plan task's manifest is what the approver
    reads (counts, oldest and newest, protected playlists, where the plan is), and the apply
    task deletes the plan's ids, not the recording that appeared during the review."""
    dag = dagbag.dags[APPROVAL_DAG]
    assert [t.task_id for t in dag.get_task("approve_purge").upstream_list] == ["summarize_plan"]
    assert [t.task_id for t in dag.get_task("summarize_plan").upstream_list] == ["plan_purge"]
    assert dag.get_task("apply_plan").max_deletions_per_run == "{{ params.max_deletions_per_run }}"
    assert [t.task_id for t in dag.get_task("apply_plan").upstream_list] == ["approve_purge"]
    assert {dag.get_task(t).pool for t in ("plan_purge", "apply_plan")} == {"posthog_api"}
    assert {name: dag.params[name] for name in ("keep_playlists", "plan_path")} == {
        "keep_playlists": None,
        "plan_path": None,
    }
    now = datetime.now(timezone.utc)
    with PostHogEmulator(rate_limits=False, clock=lambda: now) as emulator:
        give_to_airflow(emulator, monkeypatch)
        emulator.seed_recordings(60, days=60, seed=21, end=now)
        emulator.create_playlist("Legal hold", pinned=True, recording_ids=[])
        params = {
            "older_than_days": 30,
            "keep_playlists": None,
            "max_deletions": 1000,
            "max_deletions_per_run": None,
        }
        context: dict[str, Any] = {
            "params": {**params, "plan_path": str(tmp_path)},
            "run_id": "manual__approval",
            "data_interval_end": now,
        }
        # Copies, as a worker runs them: the DAG's own tasks stay unused for the DAG runs.
        plan_task = dag.get_task("plan_purge").prepare_for_execution()
        plan_task.render_template_fields(context)
        manifest = plan_task.execute(context)
        assert emulator.deleted_ids == set() and manifest["candidates"] > 10
        summary = _approval_module().summary_of(
            manifest, None, "manual__approval", "about 40 requests"
        )
        context["ti"] = _PlanTaskXCom(manifest, summary)
        approve = dag.get_task("approve_purge").prepare_for_execution()
        body = approve.render_template(approve.body, context)
        subject = approve.render_template(approve.subject, context)
        assert f"Delete {manifest['candidates']} PostHog recordings?" == subject
        for shown in (
            manifest["oldest_candidate"]["recording_id"],
            manifest["newest_candidate"]["recording_id"],
            manifest["plan_location"],
            "Legal hold",
            summary["cutoff"],
            "about 40 requests",
        ):
            assert shown in body
        assert "{'" not in body  # no Python reprs
        newcomer = emulator.add_recording(start_time=now - timedelta(days=40))["id"]
        apply_task = dag.get_task("apply_plan").prepare_for_execution()
        apply_task.render_template_fields(context)
        applied = apply_task.execute(context)
        assert applied["deleted"] == manifest["candidates"] == len(emulator.deleted_ids)
        assert newcomer in emulator.recording_ids()


class _Approver:
    """A person answering the approval in the UI: approves the first open request it finds
    (Airflow's ``hitl_detail`` table) and keeps the subject and body it was shown."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        """What the UI's response does (the HITL REST API's update): record the answer, then
        hand it to the parked task, which dag.test() then runs again."""
        from airflow.models.hitl import HITLDetail
        from airflow.models.trigger import handle_event_submit
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        parked = (TaskInstanceState.AWAITING_INPUT, TaskInstanceState.DEFERRED)
        while not self.stop.wait(0.5):
            with create_session() as session:
                for detail in session.query(HITLDetail).filter(HITLDetail.responded_at.is_(None)):
                    ti = detail.task_instance
                    if ti is None or ti.state not in parked:
                        continue
                    self.shown.append((detail.subject, detail.body or ""))
                    detail.chosen_options = ["Approve"]
                    detail.responded_by = {"id": "reviewer", "name": "reviewer"}
                    detail.responded_at = datetime.now(timezone.utc)
                    detail.params_input = {}
                    event = TriggerEvent(detail.as_resume_event_payload())
                    handle_event_submit(event, task_instance=ti, session=session)
            if self.shown:
                return


@pytest.mark.dagrun
@pytest.mark.skipif(not HAS_APPROVAL, reason="human-in-the-loop operators need Airflow 3.1+")
def test_approval_dag_runs_plan_approve_apply(
    dagbag: Any, posthog_for_dags: PostHogEmulator, tmp_path: Any
) -> None:
    emulator = posthog_for_dags
    ids = emulator.seed_recordings(80, days=60, seed=23)
    hold = set(sorted(ids)[:5])
    emulator.create_playlist("Legal hold", pinned=True, recording_ids=sorted(hold))
    approver = _Approver()
    approver.thread.start()
    try:
        run = dagbag.dags[APPROVAL_DAG].test(run_conf={"plan_path": str(tmp_path)})
    finally:
        approver.stop.set()
        approver.thread.join(timeout=10)
    assert str(run.state) == "success", _task_states(run)
    assert len(approver.shown) == 1
    subject, body = approver.shown[0]
    deleted = emulator.deleted_ids
    assert subject == f"Delete {len(deleted)} PostHog recordings?" and len(deleted) > 10
    assert "Legal hold" in body and str(tmp_path) in body
    assert not hold & deleted
    plan_files = list(tmp_path.glob("*/candidates.jsonl"))
    assert len(plan_files) == 1
    planned = {json.loads(line)["recording_id"] for line in plan_files[0].read_text().splitlines()}
    assert planned == deleted
