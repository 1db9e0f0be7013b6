"""The purge plan's pure parts: the stores, the cursor, and the check just before deletion."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.models import Recording
from airflow_provider_posthog_recordings.jobs.deletion import DeletionLedger
from airflow_provider_posthog_recordings.jobs.purge import (
    PlanCursor,
    Protection,
    Recheck,
    RetentionPolicy,
)
from airflow_provider_posthog_recordings.jobs.purge_plan import (
    PLAN_VERSION,
    FolderPlanStore,
    MemoryPlanStore,
    XComPlanStore,
)

CUTOFF = datetime(2026, 3, 1, tzinfo=timezone.utc)
CANDIDATES = [(f"r{i}", (CUTOFF - timedelta(days=30 - i)).isoformat()) for i in range(7)]
HEADER = {"version": PLAN_VERSION, "plan_id": "p1", "cutoff": CUTOFF.isoformat()}


@pytest.mark.parametrize("kind", ["folder", "memory"])
def test_a_plan_reads_back_from_any_position(kind: str, tmp_path: Path) -> None:
    store: Any = FolderPlanStore(tmp_path / "run") if kind == "folder" else MemoryPlanStore()
    store.write(HEADER, iter(CANDIDATES))
    assert store.read_header() == HEADER
    assert list(store.read_candidates()) == CANDIDATES
    assert list(store.read_candidates(5)) == CANDIDATES[5:]
    if kind == "folder":  # readable by people: one JSON object a line
        first = (tmp_path / "run" / "candidates.jsonl").read_text().splitlines()[0]
        assert json.loads(first) == {"recording_id": "r0", "start_time": CANDIDATES[0][1]}


def test_a_missing_or_foreign_plan_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PostHogConfigError, match="no purge plan at"):
        FolderPlanStore(tmp_path / "nothing").read_header()
    store = FolderPlanStore(tmp_path / "other")
    store.write({"version": 99}, [])
    with pytest.raises(PostHogConfigError, match="not a purge plan"):
        store.read_header()
    with pytest.raises(PostHogConfigError, match="no purge plan"):
        MemoryPlanStore().read_header()


class _TaskInstance:
    task_id = "apply"
    map_index = -1

    def __init__(self, xcoms: dict[tuple[str, str], Any]) -> None:
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: str, key: str, map_indexes: Any = None) -> Any:
        return self.xcoms.get((task_ids, key))


def test_an_xcom_location_names_another_tasks_plan() -> None:
    document = {"header": HEADER, "candidates": [list(c) for c in CANDIDATES]}
    ti = _TaskInstance({("plan", "purge_plan"): document})
    store = XComPlanStore.at(ti, "xcom:plan/purge_plan")
    assert store is not None and store.location == "xcom:plan/purge_plan"
    assert list(store.read_candidates(6)) == CANDIDATES[6:]
    assert XComPlanStore.at(ti, "/tmp/plans/run") is None


def test_the_cursor_counts_what_was_taken() -> None:
    cursor = PlanCursor(iter(CANDIDATES[2:]), position=2)
    taken = [next(cursor), next(cursor)]
    assert taken == CANDIDATES[2:4] and cursor.position == 4


def _recording(rid: str, start: datetime, **fields: Any) -> Recording:
    return Recording(id=rid, start_time=start, **fields)


def test_the_check_before_deletion_counts_what_changed() -> None:
    policy = RetentionPolicy(CUTOFF, protected_ids=frozenset({"r1"}))
    recheck = Recheck(policy, Protection(ids=policy.protected_ids), lookups=True)
    ledger = DeletionLedger()
    late = ("late", (CUTOFF + timedelta(hours=1)).isoformat())
    ids, decided = recheck.split(None, [CANDIDATES[0], CANDIDATES[1], late], ledger)  # type: ignore[arg-type]
    assert ids == ["r0"]
    assert decided.kept == {"r1": "now_protected", "late": "now_newer_than_cutoff"}
    assert ledger.kept == {"now_protected": 1, "now_newer_than_cutoff": 1}
    old = CUTOFF - timedelta(days=3)
    assert recheck.current(_recording("r0", old)) is None
    assert recheck.current(_recording("r0", old, ongoing=True)) == "now_ongoing"
    assert recheck.current(_recording("r1", old)) == "now_protected"
