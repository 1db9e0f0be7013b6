"""Archive-then-purge of 200 recordings on the Cloud profile, on a simulated clock.

Faults: blocks left out of a range once (fetched again alone), blocks that always fail
(502 alone), empty sources answers, and 429s from the plan's snapshots budget (the client is
not told the plan). The run defers when the budget would make it wait and resumes with a new
client from the JSON state, as a task resumed in another worker would.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.jobs import archive, purge
from airflow_provider_posthog_recordings.jobs.deletion import DeletionRecord, read_deletion_record
from airflow_provider_posthog_recordings.jobs.purge_plan import FolderPlanStore
from benchmarks.long_run import SimulatedClock
from tests.helpers import check_archive

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
N = 200


def _client(server: Any, clock: SimulatedClock) -> PostHogClient:
    return PostHogClient(
        server.url,
        server.api_key,
        server.project_id,
        clock=clock.monotonic,
        sleep=clock.sleep,
        max_budget_wait=30.0,
        timeout=(2.0, 10.0),
    )


def _plant_faults(server: Any, ids: list[str]) -> tuple[set[str], set[str]]:
    """Faults on the seeded recordings: (recordings that must fail, that must survive one)."""
    web = [
        rid
        for rid in ids
        if server.snapshot_info(rid)["blocks"] >= 3 and not server.snapshot_info(rid)["lts"]
    ]
    transient, broken, empty = web[:12], web[12:17], web[17:21]
    for rid in transient:
        server.fail_snapshot_blocks(rid, [1], times=1)  # 200 without block 1, once
    for rid in broken:
        server.fail_snapshot_blocks(rid, [2], times=-1)  # missing, then 502 alone
    for rid in empty:
        server.empty_snapshot_sources(rid, times=1)
    return set(broken) | set(empty), set(transient)


def test_archive_then_purge_deletes_only_verified_archives(
    emulator_factory: Any, tmp_path: Path, mocker: Any
) -> None:
    clock = SimulatedClock(START)
    server = emulator_factory(
        profile="cloud",
        snapshot_plan="enterprise",
        monotonic=clock.monotonic,
        clock=clock.now,
        synthetic_playlists=True,
        playlist_items_paginated=False,
    )
    ids = server.seed_recordings(N, days=60, seed=77, end=START - timedelta(days=32))
    must_fail, transient = _plant_faults(server, ids)
    expected_lines = {rid: server.snapshot_lines(rid) for rid in ids}
    writes = mocker.spy(archive, "_write_verified")
    root = tmp_path / "archive"
    state: dict[str, Any] | None = None
    legs = 0
    while True:
        legs += 1
        settings = purge.PurgeSettings(
            older_than_days=30,
            reference=START,
            max_deletions=None,
            archive_path=root,
            record=DeletionRecord(tmp_path / "record", "run-1", None, {}),
        )
        client = _client(server, clock)
        outcome = purge.run(client, settings, state)
        client.close()
        if not outcome.paused:
            break
        state = json.loads(json.dumps(outcome.state))  # as Airflow stores it
        clock.advance(outcome.wait_seconds or 0.0)
        assert legs < 50
    manifest = outcome.manifest

    deleted = server.deleted_ids
    kept = set(ids) - deleted
    assert legs > 1 and manifest["legs"] == legs
    assert sum(server.throttles.values()) > 0  # the plan's snapshots budget answered 429
    assert set(server.throttles) <= {"snapshots_minute", "snapshots_hour"}
    # No recording without a verified archive was deleted; every failure was kept and counted.
    assert kept == must_fail
    assert set(manifest["archive_failed_ids"]) == must_fail
    assert manifest["archive_failed"] == len(must_fail)
    assert manifest["deleted"] == len(deleted) == N - len(must_fail)
    assert manifest["archived"] == len(deleted) and manifest["already_archived"] == 0
    assert manifest["failed"] == 0 and manifest["already_gone"] == 0
    assert manifest["archive_path"] == str(root)
    for rid in deleted:
        back = check_archive(server, root, rid)
        assert back["events"] == [json.loads(line) for line in expected_lines[rid]]
    for rid in must_fail:
        assert archive.verified_entry(root, rid) is None
    assert transient <= deleted
    # Nothing archived twice across the legs.
    folders = Counter(str(call.args[0]) for call in writes.call_args_list)
    assert max(folders.values()) == 1 and len(folders) == len(deleted)
    # The durable record says where each deleted recording's archive is.
    record = read_deletion_record(tmp_path / "record", "run-1")
    assert {line["recording_id"] for line in record} == deleted
    for line in record:
        assert line["archive"] == str(archive.recording_folder(root, line["recording_id"]))


def test_a_per_run_budget_counts_recordings_kept_for_their_archive(
    emulator_factory: Any, tmp_path: Path
) -> None:
    """With ``max_deletions_per_run``, a recording kept because its archive failed settles
    one of the run's places: resumed legs take no candidate beyond the oldest N."""
    clock = SimulatedClock(START)
    server = emulator_factory(
        profile="cloud",
        snapshot_plan="paid",
        monotonic=clock.monotonic,
        clock=clock.now,
        synthetic_playlists=True,
        playlist_items_paginated=False,
    )
    ids = server.seed_recordings(N, days=60, seed=77, end=START - timedelta(days=32))
    must_fail, _ = _plant_faults(server, ids)
    per_run = 120
    by_age = sorted(ids, key=lambda rid: (server.recording(rid)["start_time"], rid))
    oldest = set(by_age[:per_run])
    assert oldest & must_fail  # some of this run's places go to recordings kept
    state: dict[str, Any] | None = None
    for _ in range(50):
        settings = purge.PurgeSettings(
            older_than_days=30,
            reference=START,
            max_deletions=None,
            max_deletions_per_run=per_run,
            archive_path=tmp_path / "archive",
            plan_store=FolderPlanStore(tmp_path / "plan"),  # later legs read the whole plan
        )
        client = _client(server, clock)
        outcome = purge.run(client, settings, state)
        client.close()
        if not outcome.paused:
            break
        state = json.loads(json.dumps(outcome.state))
        clock.advance(outcome.wait_seconds or 0.0)
    manifest = outcome.manifest
    assert manifest["legs"] > 1
    assert server.deleted_ids == oldest - must_fail
    assert manifest["deleted"] + manifest["archive_failed"] == per_run
