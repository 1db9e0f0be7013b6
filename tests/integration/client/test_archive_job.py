"""The archive job against the emulator (Cloud profile): lossless raw lines, a playback file
that passes the load checks, failures kept apart, resumption without archiving twice."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.jobs import archive
from benchmarks.long_run import SimulatedClock
from tests.helpers import check_archive

START = datetime(2026, 3, 1, tzinfo=timezone.utc)


def _snapshot_listings(server: Any) -> list[str]:
    return [
        r.path.split("/")[-2]
        for r in server.requests
        if r.path.rstrip("/").endswith("snapshots") and "source" not in r.query and r.status == 200
    ]


def test_archive_ids_then_rerun_archives_nothing_twice(
    emulator_factory: Any, client_for: Any, tmp_path: Path
) -> None:
    server = emulator_factory(profile="cloud", snapshot_plan="none")
    ids = server.seed_recordings(40, days=10, seed=21, end=START)
    assert any(server.snapshot_info(r)["compressed"] for r in ids)
    assert any(server.snapshot_info(r)["mobile"] for r in ids)
    settings = archive.ArchiveSettings(path=tmp_path, recording_ids=ids)
    manifest = archive.run(client_for(server), settings).manifest
    assert manifest["archived"] == 40 and manifest["archive_failed"] == 0
    mobile = [r for r in ids if server.snapshot_info(r)["mobile"]]
    assert manifest["mobile_raw_only"] == len(mobile)
    for rid in ids:
        check_archive(server, tmp_path, rid)
    server.reset_requests()
    again = archive.run(client_for(server), settings).manifest
    assert again["already_archived"] == 40 and again["archived"] == 0
    assert server.request_count == 0


def test_a_tampered_archive_is_made_again(
    emulator_factory: Any, client_for: Any, tmp_path: Path
) -> None:
    server = emulator_factory(profile="cloud", snapshot_plan="none")
    [rid] = server.seed_recordings(1, days=10, seed=22, end=START)
    settings = archive.ArchiveSettings(path=tmp_path, recording_ids=[rid])
    archive.run(client_for(server), settings)
    raw = archive.recording_folder(tmp_path, rid) / archive.RAW_FILE
    raw.write_text(raw.read_text()[:-5])
    manifest = archive.run(client_for(server), settings).manifest
    assert manifest["archived"] == 1
    check_archive(server, tmp_path, rid)


def test_failures_are_counted_and_nothing_is_written_for_them(
    emulator_factory: Any, client_for: Any, tmp_path: Path
) -> None:
    server = emulator_factory(profile="cloud", snapshot_plan="none")
    ids = server.seed_recordings(30, days=10, seed=23, end=START)
    web = [
        r
        for r in ids
        if server.snapshot_info(r)["blocks"] >= 3 and not server.snapshot_info(r)["lts"]
    ]
    empty, broken, flaky = web[:3]
    server.empty_snapshot_sources(empty, times=1)
    server.fail_snapshot_blocks(broken, [1], times=-1)
    server.fail_snapshot_blocks(flaky, [2], times=1)
    gone = ids[-1]
    server.delete_recording(gone)
    settings = archive.ArchiveSettings(path=tmp_path, recording_ids=ids)
    manifest = archive.run(client_for(server), settings).manifest
    assert set(manifest["archive_failed_ids"]) == {empty, broken}
    assert "no snapshot sources" in manifest["archive_failed_ids"][empty]
    assert manifest["archive_gone_ids"] == [gone]
    assert manifest["archived"] == 27
    check_archive(server, tmp_path, flaky)
    for rid in (empty, broken, gone):
        assert archive.verified_entry(tmp_path, rid) is None


def test_a_paused_run_resumes_without_archiving_anything_twice(
    emulator_factory: Any, tmp_path: Path
) -> None:
    clock = SimulatedClock(START)
    server = emulator_factory(
        profile="cloud", snapshot_plan="free", monotonic=clock.monotonic, clock=clock.now
    )
    ids = server.seed_recordings(12, days=10, seed=24, end=START)
    settings = archive.ArchiveSettings(path=tmp_path, recording_ids=ids)
    state: dict[str, Any] | None = None
    legs = 0
    while True:
        legs += 1
        client = PostHogClient(
            server.url,
            server.api_key,
            server.project_id,
            snapshot_requests_per_minute=12,
            snapshot_requests_per_hour=60,
            clock=clock.monotonic,
            sleep=clock.sleep,
            max_budget_wait=30.0,
        )
        outcome = archive.run(client, settings, json.loads(json.dumps(state)) if state else None)
        client.close()
        if not outcome.paused:
            break
        state = outcome.state
        clock.advance(outcome.wait_seconds or 0.0)
    manifest = outcome.manifest
    assert legs > 1 and manifest["legs"] == legs
    assert manifest["archived"] == 12 and manifest["already_archived"] == 0
    listings = _snapshot_listings(server)
    # A pause between a recording's listing and its blocks lists it again; nothing else repeats.
    assert set(listings) == set(ids) and len(listings) <= len(ids) + legs - 1
    assert server.throttles == {}
    for rid in ids:
        check_archive(server, tmp_path, rid)


def test_the_purge_makes_again_an_archive_of_a_recording_that_changed(
    emulator_factory: Any, client_for: Any, tmp_path: Path
) -> None:
    """An archive taken while the recording was still going is not trusted before a delete."""
    server = emulator_factory(profile="cloud", snapshot_plan="none")
    same, grew = server.seed_recordings(2, days=10, seed=25, end=START)
    archive.run(
        client_for(server), archive.ArchiveSettings(path=tmp_path, recording_ids=[same, grew])
    )
    record = server.recording(grew)
    server.update_recording(grew, recording_duration=record["recording_duration"] + 60)
    gate = archive.purge_gate(tmp_path, None, 100)
    assert gate is not None
    server.reset_requests()
    passed = gate.filter(client_for(server), [same, grew])
    assert passed.verified == [same, grew]
    assert gate.ledger.already_archived == 1 and gate.ledger.archived == 1
    made_again = [r for r in server.requests if r.path.endswith("snapshots")]
    assert {r.path.split("/")[-2] for r in made_again} == {grew}
    entry = archive.verified_entry(tmp_path, grew)
    assert entry is not None
    metadata = json.loads(
        (archive.recording_folder(tmp_path, grew) / archive.METADATA_FILE).read_text()
    )
    assert metadata["recording"]["recording_duration"] == record["recording_duration"] + 60
