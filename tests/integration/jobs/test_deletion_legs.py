"""jobs/deletion.py with a client of the emulator: one leg of a deferred job, one group."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from airflow_provider_posthog_recordings.jobs.deletion import (
    DeletionLedger,
    DeletionRecord,
    JobOutcome,
    delete_group,
    read_deletion_record,
    run_leg,
)

BULK_DELETE = "recordings.bulk_delete"


def test_a_first_leg_hands_on_the_key_s_history_and_its_requests(
    posthog: Any, client_for: Any
) -> None:
    # A clock of its own: the client's budget is its own, not the process-wide one.
    client = client_for(posthog, requests_per_minute=240, clock=time.monotonic)
    client.check_access()  # before the job: not the job's requests

    def leg() -> JobOutcome:
        client.check_access()
        client.check_access()
        return JobOutcome(manifest={}, wait_seconds=30.0, state={"cursor": "c"})

    outcome, requests = run_leg(client, None, leg)
    assert requests == 2
    assert outcome.state is not None
    assert outcome.state["cursor"] == "c" and outcome.state["requests"] == 2
    carried = outcome.state["carried"]
    assert carried["bulk_refused"] == [] and len(carried["ages"]) == 3
    assert abs(carried["at"] - time.monotonic()) < 60


def test_a_resumed_leg_starts_from_what_the_earlier_one_knew(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(profile="cloud")
    ids = server.seed_recordings(2, days=5)
    client = client_for(server, concurrency=1)
    state = {
        "carried": {"at": time.time(), "ages": [], "bulk_refused": [BULK_DELETE]},
        "requests": 7,
    }

    def leg() -> JobOutcome:
        client.delete_recordings(ids)
        return JobOutcome(manifest={"done": True})

    outcome, requests = run_leg(client, state, leg)
    # The refusal was carried: no bulk_delete was tried again.
    assert not [r for r in server.requests if r.path.endswith("bulk_delete/")]
    assert requests == 7 + len(server.requests) == 7 + 3  # a look and two DELETEs
    assert outcome.state is None and outcome.manifest == {"done": True}


def test_delete_group_counts_and_records_what_it_deleted(
    emulator_factory: Any, client_for: Any, tmp_path: Path
) -> None:
    server = emulator_factory(profile="cloud_bulk_delete")
    ids = server.seed_recordings(4, days=5)
    server.delete_recording(ids[0])
    ledger = DeletionLedger()
    record = DeletionRecord(folder=tmp_path, run_id="run", cutoff=None, policy={})
    result = delete_group(client_for(server), ids, ledger=ledger, record=record, date_from="-30d")
    assert sorted(result.deleted) == sorted(ids[1:]) and result.already_gone == [ids[0]]
    assert (ledger.deleted, ledger.already_gone) == (3, 1)
    lines = read_deletion_record(tmp_path, "run")
    assert sorted(line["recording_id"] for line in lines) == sorted(ids[1:])
    [bulk] = [r for r in server.requests if r.path.endswith("bulk_delete/")]
    assert bulk.body["date_from"] == "-30d"


def test_delete_group_without_a_record(posthog: Any, client: Any) -> None:
    ids = posthog.seed_recordings(2, days=5)
    ledger = DeletionLedger()
    result = delete_group(client, ids, ledger=ledger, record=None)
    assert sorted(result.deleted) == sorted(ids) and ledger.deleted == 2


def test_a_paused_leg_logs_its_progress_under_its_own_number(
    posthog: Any, client_for: Any, caplog: Any
) -> None:
    caplog.set_level("INFO")
    client = client_for(posthog, requests_per_minute=240, clock=time.monotonic)

    def leg(state: dict[str, Any]) -> JobOutcome:
        return JobOutcome(manifest={}, wait_seconds=5.0, state=state, settled=2, planned=4)

    run_leg(client, None, lambda: leg({"leg": 3}))
    run_leg(client, None, lambda: leg({}))
    lines = [r.getMessage() for r in caplog.records if "planned deletions done" in r.getMessage()]
    assert [line.split(":")[0] for line in lines] == ["Leg 3", "Leg 1"]
    assert "at 240/minute" in lines[0]


def test_delete_group_keeps_what_the_check_says_to_keep(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(profile="cloud")
    ids = server.seed_recordings(4, days=5)
    client = client_for(server)
    ledger = DeletionLedger()
    result = delete_group(
        client,
        ids,
        ledger=ledger,
        record=None,
        keep=lambda recording: "now_protected" if recording.id == ids[1] else None,
    )
    assert result.kept == {ids[1]: "now_protected"}
    assert sorted(result.deleted) == sorted(ids[:1] + ids[2:])
    assert server.recording_ids() == {ids[1]}
    assert ledger.kept == {"now_protected": 1} and ledger.settled == 4
