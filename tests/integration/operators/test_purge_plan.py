"""The purge plan: written once, read by every leg, reviewed and then applied.

On the Cloud profile (bulk deletes refused to the key), as a personal API key sees PostHog.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.client.http import key_budget
from airflow_provider_posthog_recordings.jobs import purge, purge_plan
from airflow_provider_posthog_recordings.operators import PostHogPurgeRecordingsOperator, budgeted
from tests.helpers import connection_json

DAY = timedelta(days=1)
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
CUTOFF = START - 10 * DAY


def _deletes(server: Any) -> list[str]:
    return [r.path.rstrip("/").rsplit("/", 1)[1] for r in server.requests if r.method == "DELETE"]


def _window_listings(server: Any) -> int:
    """List requests over the purge window (not the existence checks by id)."""
    return sum(
        1
        for r in server.requests
        if r.method == "GET"
        and r.path.endswith("session_recordings/")
        and "session_ids" not in r.query
    )


def _plan_ids(location: str) -> list[str]:
    path = Path(location.removeprefix("file://")) / "candidates.jsonl"
    return [json.loads(line)["recording_id"] for line in path.read_text().splitlines()]


class FakeTaskInstance:
    """The part of a task instance the XCom plan store uses; XComs live in a dict, as in
    Airflow's table, and outlive each leg's operator object (a new process each)."""

    def __init__(self, task_id: str = "purge") -> None:
        self.task_id = task_id
        self.map_index = -1
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = json.loads(json.dumps(value))  # stored as JSON

    def xcom_pull(self, task_ids: str, key: str, map_indexes: Any = None) -> Any:
        assert task_ids == self.task_id and map_indexes is None
        return self.xcoms.get(key)


def test_an_approved_plan_deletes_only_its_ids_and_counts_what_changed(
    cloud_conn: Any, tmp_path: Path
) -> None:
    server = cloud_conn
    server.seed_recordings(120, days=40, seed=51, end=START)
    plan_op = PostHogPurgeRecordingsOperator(
        task_id="plan", older_than_days=10, report_only=True, plan_path=str(tmp_path)
    )
    report = plan_op.execute({"data_interval_end": START, "run_id": "manual__review"})
    planned = _plan_ids(report["plan_location"])
    assert report["candidates"] == len(planned) > 40 and not _deletes(server)
    assert report["oldest_candidate"]["recording_id"] == planned[0]
    assert report["newest_candidate"]["recording_id"] == planned[-1]

    # While people review it: someone else deletes 5 planned recordings, one is put on a
    # pinned playlist (a legal hold), one turns out to be ongoing, and new old recordings appear.
    gone = planned[3:8]
    for rid in gone:
        server.delete_recording(rid)
    held, ongoing = planned[10], planned[20]
    server.create_playlist("Legal hold", pinned=True, recording_ids=[held])
    server.update_recording(ongoing, ongoing=True)
    newcomers = [
        server.add_recording(start_time=CUTOFF - timedelta(days=d))["id"] for d in (1, 2, 3)
    ]
    server.reset_requests()

    apply_op = PostHogPurgeRecordingsOperator(
        task_id="apply", older_than_days=10, apply_plan=report["plan_location"]
    )
    # Approved two days later: the run's own cutoff is later; the plan's cutoff holds.
    manifest = apply_op.execute({"data_interval_end": START + 2 * DAY, "run_id": "manual__go"})

    expected = set(planned) - set(gone) - {held, ongoing}
    assert set(_deletes(server)) == expected  # only planned ids, one DELETE each
    assert len(_deletes(server)) == len(expected)
    assert held in server.recording_ids() and ongoing in server.recording_ids()
    assert set(newcomers) <= server.recording_ids()  # new ones untouched
    assert manifest["deleted"] == len(expected)
    assert manifest["changed_since_plan"] == {
        "gone_already": 5,
        "now_protected": 1,
        "now_ongoing": 1,
    }
    assert manifest["cutoff"] == CUTOFF.isoformat()
    assert manifest["applied_plan"] == report["plan_location"]
    assert _window_listings(server) == 0  # the plan is not made again
    assert sum(server.throttles.values()) == 0


def test_applying_a_plan_that_is_not_there_fails_before_deleting(
    cloud_conn: Any, tmp_path: Path
) -> None:
    cloud_conn.seed_recordings(20, days=40, seed=52, end=START)
    op = PostHogPurgeRecordingsOperator(
        task_id="apply", older_than_days=10, apply_plan=str(tmp_path / "nothing")
    )
    with pytest.raises(PostHogError, match="no purge plan at"):
        op.execute({"data_interval_end": START, "run_id": "manual__x"})
    assert not _deletes(cloud_conn)


@pytest.fixture
def fast_windows(mocker: Any) -> None:
    """The key's minute is 3 s here (a clock, scaled down): budget waits stay short."""
    mocker.patch.object(key_budget, "WINDOW_SECONDS", 3.0)
    mocker.patch.object(budgeted, "MIN_DEFERRAL_SECONDS", 0.0)  # no scheduler here


def _legs(
    op: Any,
    context: dict[str, Any],
    listings: list[int],
    server: Any,
    between: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the operator as Airflow would, noting the window listings each leg sent;
    ``between`` is called with each deferral's state (someone else acting meanwhile)."""
    try:
        return op.execute(context)
    except TaskDeferred as deferred:
        pending = deferred
    while True:
        listings.append(_window_listings(server))
        if between is not None:
            between(pending.kwargs["state"])
        time.sleep(3.1)  # the triggerer's wait (the key's minute is 3 s here)
        state = json.loads(json.dumps(pending.kwargs))  # through the database
        try:
            return op.execute_resume(context, event={"status": "resume"}, **state)
        except TaskDeferred as again:
            pending = again


@pytest.mark.usefixtures("fast_windows")
@pytest.mark.parametrize("where", ["plan_path", "xcom", "xcom_too_small"])
def test_resumed_legs_read_the_plan_instead_of_listing_again(
    emulator_factory: Any, monkeypatch: Any, no_sleep: Any, tmp_path: Path, where: str
) -> None:
    server = emulator_factory(profile="cloud", rate_limits=False, clock=lambda: START)
    server.seed_recordings(1200, days=40, seed=53, end=START)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, requests_per_minute=250)
    )
    if where == "xcom_too_small":
        monkeypatch.setattr(purge_plan, "MAX_PLAN_IN_XCOM", 100)
        monkeypatch.setattr(purge, "PENDING_IN_STATE", 100)  # as with a plan > 2,000
    ti = FakeTaskInstance()
    op = PostHogPurgeRecordingsOperator(
        task_id="purge",
        older_than_days=10,
        max_deletions=None,
        deferrable=True,
        max_wait_in_worker=0.5,
        plan_path=str(tmp_path) if where == "plan_path" else None,
    )
    listings: list[int] = []
    context = {"data_interval_end": START, "run_id": "manual__legs", "ti": ti}
    manifest = _legs(op, context, listings, server)
    assert manifest["legs"] >= 3 and manifest["failed"] == 0
    assert set(_deletes(server)) == server.deleted_ids and len(server.deleted_ids) > 700
    first_leg = listings[0]
    if where == "xcom_too_small":
        assert manifest["plan_location"] is None and "purge_plan" not in ti.xcoms
        assert _window_listings(server) > first_leg  # the fallback: later legs list again
    else:
        assert _window_listings(server) == first_leg  # later legs listed nothing
        assert (manifest["plan_location"] is not None) and (
            ("purge_plan" in ti.xcoms) == (where == "xcom")
        )


@pytest.mark.usefixtures("fast_windows")
def test_a_recording_pinned_between_legs_is_kept(
    emulator_factory: Any, monkeypatch: Any, no_sleep: Any, tmp_path: Path
) -> None:
    """Protection is read again at each leg: a planned recording put on a pinned playlist
    while the run waits for the budget is not deleted by a later leg."""
    server = emulator_factory(profile="cloud", rate_limits=False, clock=lambda: START)
    server.seed_recordings(400, days=40, seed=54, end=START)
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server, requests_per_minute=120)
    )
    op = PostHogPurgeRecordingsOperator(
        task_id="purge",
        older_than_days=10,
        max_deletions=None,
        deferrable=True,
        max_wait_in_worker=0.5,
        plan_path=str(tmp_path),
    )
    pinned: list[str] = []

    def pin_the_last_planned(state: dict[str, Any]) -> None:
        if not pinned:
            pinned.append(_plan_ids(state["plan"]["plan_location"])[-1])
            server.create_playlist("Legal hold", pinned=True, recording_ids=pinned)

    manifest = _legs(
        op, {"data_interval_end": START, "run_id": "manual__pin"}, [], server, pin_the_last_planned
    )
    assert manifest["legs"] >= 2 and pinned
    assert pinned[0] in server.recording_ids() and pinned[0] not in _deletes(server)
    assert manifest["changed_since_plan"] == {"gone_already": 0, "now_protected": 1}
    assert manifest["deleted"] == manifest["planned"] - 1 == len(server.deleted_ids)
