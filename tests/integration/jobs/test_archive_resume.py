"""Archives resume, not restart (issue 25, item 4), measured against the emulator.

The plan's snapshots budget is small (free: 12 a minute, 60 an hour) and the client knows it,
so the run defers every few requests, often in the middle of a long recording's download.
Each leg runs with a new client from the JSON state, as a task resumed in another process.
Snapshots requests are counted from the emulator's own request log.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from airflow import __version__ as AIRFLOW_VERSION

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.resources.snapshots import (
    MAX_BLOCKS_PER_REQUEST,
    SNAPSHOT_PLAN_LIMITS,
)
from airflow_provider_posthog_recordings.jobs import archive, purge
from airflow_provider_posthog_recordings.jobs.deletion import DeletionRecord, read_deletion_record
from benchmarks.long_run import SimulatedClock
from tests.helpers import check_archive

AIRFLOW_MAJOR = int(AIRFLOW_VERSION.split(".")[0])
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
#: Archived recordings may cost at most this much more than the ideal (issue 25).
BOUND_RATIO = 1.01


def _client(
    server: Any, clock: SimulatedClock, per_minute: int = 240, plan: str = "free"
) -> PostHogClient:
    snapshots_per_minute, snapshots_per_hour = SNAPSHOT_PLAN_LIMITS[plan]
    return PostHogClient(
        server.url,
        server.api_key,
        server.project_id,
        clock=clock.monotonic,
        sleep=clock.sleep,
        max_budget_wait=30.0,
        timeout=(2.0, 10.0),
        requests_per_minute=per_minute,
        snapshot_requests_per_minute=snapshots_per_minute,
        snapshot_requests_per_hour=snapshots_per_hour,
    )


def _server(emulator_factory: Any, clock: SimulatedClock, plan: str = "free") -> Any:
    return emulator_factory(
        profile="cloud",
        snapshot_plan=plan,
        monotonic=clock.monotonic,
        clock=clock.now,
        synthetic_playlists=True,
        playlist_items_paginated=False,
    )


def _snapshot_requests(server: Any) -> list[Any]:
    return [r for r in server.requests if r.path.rstrip("/").endswith("/snapshots")]


def _recording_of(request: Any) -> str:
    return str(request.path.rstrip("/").split("/")[-2])


def _ideal(server: Any, rid: str) -> int:
    """1 listing + ceil(blocks / 21) block requests (1 for a long-term-storage file)."""
    info = server.snapshot_info(rid)
    return 1 + (1 if info["lts"] else math.ceil(info["blocks"] / MAX_BLOCKS_PER_REQUEST))


def _plant_faults(server: Any, ids: list[str]) -> dict[str, set[str]]:
    """Transient faults on long recordings (a block left out of a range once, fetched again
    alone), recordings that fail (a block that always fails; an empty sources listing)."""
    web = [rid for rid in ids if not server.snapshot_info(rid)["lts"]]
    long = [rid for rid in web if server.snapshot_info(rid)["blocks"] > MAX_BLOCKS_PER_REQUEST]
    short = [rid for rid in web if 3 <= server.snapshot_info(rid)["blocks"] <= 12]
    transient = set(long[:3] + short[:3])
    for rid in transient:
        blocks = server.snapshot_info(rid)["blocks"]
        server.fail_snapshot_blocks(rid, [blocks - 1], times=1)  # in the last range
    broken, empty = short[3], short[4]
    server.fail_snapshot_blocks(broken, [1], times=-1)
    server.empty_snapshot_sources(empty, times=1)
    return {"transient": transient, "failed": {broken, empty}}


def _measure(server: Any, archived: set[str], transient: set[str]) -> dict[str, Any]:
    """Snapshots requests against the bound: ideal per archived recording + one per fault.

    A fault is an answer that was not whole: a 429 or a 5xx, a range answered without a
    planted block (fetched again alone), and every request for a recording that failed.
    """
    sent = _snapshot_requests(server)
    ideal = sum(_ideal(server, rid) for rid in archived)
    failed_requests = sum(1 for r in sent if _recording_of(r) not in archived)
    bad_answers = sum(1 for r in sent if _recording_of(r) in archived and r.status != 200)
    left_out = len(transient & archived)
    faults = failed_requests + bad_answers + left_out
    return {
        "requests": len(sent),
        "ideal": ideal,
        "faults": faults,
        "bound": BOUND_RATIO * ideal + faults,
        "ratio": (len(sent) - faults) / ideal,
    }


@pytest.mark.parametrize("job", ["archive", "purge"])
def test_an_archive_cut_by_deferrals_resumes_within_the_request_bound(
    emulator_factory: Any, tmp_path: Path, job: str
) -> None:
    clock = SimulatedClock(START)
    server = _server(emulator_factory, clock)
    ids = server.seed_recordings(100, days=60, seed=251, end=START - timedelta(days=32))
    planted = _plant_faults(server, ids)
    root = tmp_path / "archive"
    state: dict[str, Any] | None = None
    legs = resumed_downloads = 0
    while True:
        legs += 1
        client = _client(server, clock)
        if job == "archive":
            settings: Any = archive.ArchiveSettings(path=root, recording_ids=ids)
            outcome = archive.run(client, settings, state)
        else:
            settings = purge.PurgeSettings(
                older_than_days=30, reference=START, max_deletions=None, archive_path=root
            )
            outcome = purge.run(client, settings, state)
        client.close()
        if not outcome.paused:
            break
        state = json.loads(json.dumps(outcome.state))  # as Airflow stores it
        assert state is not None
        partial = state["ledger" if job == "archive" else "archive"]["partial"]
        if partial is not None:
            resumed_downloads += 1
            assert partial["next_block"] > 0 or partial["lines"] == 0
            # Positions in the state, bytes in the archive's storage.
            assert "sources" not in partial and len(json.dumps(partial)) < 300
        clock.advance(outcome.wait_seconds or 0.0)
        assert legs < 200
    manifest = outcome.manifest

    archived = set(ids) - planted["failed"]
    assert manifest["legs"] == legs > 5
    assert resumed_downloads > 0  # some downloads were cut part way, and carried on
    assert manifest["archived"] == len(archived)
    assert set(manifest["archive_failed_ids"]) == planted["failed"]
    for rid in archived:
        check_archive(server, root, rid)
        assert not (archive.recording_folder(root, rid) / archive.PARTIAL_FILE).exists()
    # The snapshots budget's history travels with each deferral: PostHog never said 429.
    assert sum(server.throttles.values()) == 0
    measured = _measure(server, archived, planted["transient"])
    if job == "purge":
        assert server.deleted_ids == archived
    print(
        f"\n{job}: snapshots requests {measured['requests']} for {len(archived)} archived "
        f"recordings "
        f"(ideal {measured['ideal']}, faults {measured['faults']}, bound "
        f"{measured['bound']:.1f}; {measured['ratio']:.4f}x the ideal net of faults) in "
        f"{legs} legs, {resumed_downloads} downloads carried on"
    )
    assert measured["requests"] <= measured["bound"]
    # No recording listed twice, but the failing one (empty listing)
    listings = Counter(
        _recording_of(r) for r in _snapshot_requests(server) if "source" not in r.query
    )
    assert {rid for rid, n in listings.items() if n > 1} <= planted["failed"]


def test_a_purge_that_archives_counts_each_recording_once_and_records_the_url(
    emulator_factory: Any, tmp_path: Path
) -> None:
    """Legs alternate between two archive roots (two hosts, each its own disk): a recording
    archived on both is still counted once, and the record names the root each leg was
    given."""
    clock = SimulatedClock(START)
    server = _server(emulator_factory, clock)
    ids = server.seed_recordings(30, days=60, seed=252, end=START - timedelta(days=32))
    roots = [tmp_path / "host-a", tmp_path / "host-b"]
    state: dict[str, Any] | None = None
    legs = 0
    while True:
        legs += 1
        settings = purge.PurgeSettings(
            older_than_days=30,
            reference=START,
            max_deletions=None,
            archive_path=roots[legs % 2],
            record=DeletionRecord(tmp_path / "record", "run-1", None, {}),
        )
        client = _client(server, clock, per_minute=25)  # deletions wait too
        outcome = purge.run(client, settings, state)
        client.close()
        if not outcome.paused:
            break
        state = json.loads(json.dumps(outcome.state))
        clock.advance(outcome.wait_seconds or 0.0)
        assert legs < 200
    manifest = outcome.manifest
    deleted = server.deleted_ids
    assert legs > 2 and deleted == set(ids)
    assert manifest["archived"] + manifest["already_archived"] == len(deleted)
    on_both = [
        rid for rid in ids if all(archive.verified_entry(root, rid) is not None for root in roots)
    ]
    for line in read_deletion_record(tmp_path / "record", "run-1"):
        rid = line["recording_id"]
        assert line["archive"] in {str(archive.recording_folder(root, rid)) for root in roots}
        assert archive.verified_entry(Path(line["archive"]).parent, rid) is not None
    assert on_both  # archived again on the other host, and counted once
    print(f"\n{len(on_both)} recordings archived on both roots, counted once; {legs} legs")


def _predicted_legs(caplog: Any, leg: int) -> int:
    """The legs in all that leg ``leg``'s progress line predicts (it and the ones before,
    and the "more leg(s)" it names)."""
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"Leg {leg}: ")]
    assert len(lines) == 1, lines
    match = re.search(r": (\d+) more leg\(s\), done around", lines[0])
    assert match, lines[0]
    return leg + int(match.group(1))


def _run_with_estimates(
    emulator_factory: Any, tmp_path: Path, caplog: Any, job: str, plan: str, n: int
) -> tuple[int, list[int], list[int]]:
    """Run the job to its end: the legs taken, what each paused leg predicted, and how many
    recordings each paused leg's estimate had seen downloaded."""
    caplog.set_level(logging.INFO)
    clock = SimulatedClock(START)
    server = _server(emulator_factory, clock, plan)
    ids = server.seed_recordings(n, days=60, seed=253, end=START - timedelta(days=32))
    state: dict[str, Any] | None = None
    legs = 0
    seen: list[int] = []
    while True:
        legs += 1
        client = _client(server, clock, plan=plan)
        if job == "purge":
            settings: Any = purge.PurgeSettings(
                older_than_days=30,
                reference=START,
                max_deletions=None,
                archive_path=tmp_path / "archive",
            )
            outcome = purge.run(client, settings, state)
        else:
            settings = archive.ArchiveSettings(path=tmp_path / "archive", recording_ids=ids)
            outcome = archive.run(client, settings, state)
        client.close()
        if not outcome.paused:
            break
        state = json.loads(json.dumps(outcome.state))
        assert state is not None
        seen.append(state["archive" if job == "purge" else "ledger"]["downloads"])
        clock.advance(outcome.wait_seconds or 0.0)
        assert legs < 200
    assert outcome.manifest["archived"] == n
    predicted = [_predicted_legs(caplog, leg) for leg in range(1, legs)]
    print(
        f"\n{job}, {plan} plan, {n} recordings: {legs} legs taken; legs predicted after each "
        f"leg: {predicted} (from {seen} recordings downloaded)"
    )
    return legs, predicted, seen


@pytest.mark.parametrize("job", ["purge", "archive"])
def test_the_first_legs_estimate_counts_archive_requests(
    emulator_factory: Any, tmp_path: Path, caplog: Any, job: str
) -> None:
    """Archive then purge (or archive alone) on the paid plan's snapshots budget (60 a minute,
    300 an hour): the legs the first leg predicts are the legs taken, within one."""
    legs, predicted, _ = _run_with_estimates(emulator_factory, tmp_path, caplog, job, "paid", 200)
    assert legs >= 5
    assert abs(predicted[0] - legs) <= 1
    assert all(abs(p - legs) <= 1 for p in predicted)


@pytest.mark.parametrize("job", ["purge", "archive"])
def test_the_estimate_on_the_free_plan_once_it_has_seen_enough_recordings(
    emulator_factory: Any, tmp_path: Path, caplog: Any, job: str
) -> None:
    """On the free plan (12 a minute) a leg archives about 6 recordings: the mean snapshots
    requests per recording the first legs estimate from is rough (printed). Once 20 were
    downloaded, each prediction is within one of the legs taken."""
    legs, predicted, seen = _run_with_estimates(emulator_factory, tmp_path, caplog, job, "free", 60)
    assert legs >= 10
    settled = [p for p, n in zip(predicted, seen, strict=True) if n >= 20]
    assert settled and all(abs(p - legs) <= 1 for p in settled)


def test_a_lost_or_changed_partial_download_is_made_again_from_the_start(
    emulator_factory: Any, tmp_path: Path, caplog: Any
) -> None:
    """The next leg runs where the part fetched before cannot be read back as written (another
    disk, or changed), or the recording changed since: it says so and downloads the
    recording whole again, correctly."""
    caplog.set_level(logging.WARNING)
    clock = SimulatedClock(START)
    server = _server(emulator_factory, clock)
    ids = server.seed_recordings(40, days=60, seed=254, end=START - timedelta(days=32))
    root = tmp_path / "archive"
    state: dict[str, Any] | None = None
    spoiled = 0
    for _ in range(100):
        client = _client(server, clock)
        settings = archive.ArchiveSettings(path=root, recording_ids=ids)
        outcome = archive.run(client, settings, state)
        client.close()
        if not outcome.paused:
            break
        state = json.loads(json.dumps(outcome.state))
        assert state is not None
        partial = state["ledger"]["partial"]
        if partial is not None:
            rid = partial["recording_id"]
            saved = archive.recording_folder(root, rid) / archive.PARTIAL_FILE
            if spoiled % 3 == 0:
                saved.unlink()
            elif spoiled % 3 == 1:
                saved.write_text(saved.read_text().replace('"next_block":', '"next_block": '))
            else:  # the recording itself changed (it was still being recorded)
                duration = server.recording(rid)["recording_duration"]
                server.update_recording(rid, recording_duration=duration + 1)
            spoiled += 1
        clock.advance(outcome.wait_seconds or 0.0)
    assert spoiled >= 3
    assert outcome.manifest["archived"] == len(ids)
    for rid in ids:
        check_archive(server, root, rid)
    warned = [r.getMessage() for r in caplog.records if "downloading it again" in r.getMessage()]
    assert len(warned) == spoiled


@pytest.mark.skipif(
    AIRFLOW_MAJOR < 3, reason="Airflow 2.11's ObjectStoragePath refuses file:// URLs"
)
def test_the_record_names_each_archive_by_the_url_given(
    emulator_factory: Any, tmp_path: Path
) -> None:
    """Object storage (a ``file://`` URL here, as ``s3://`` would be): the durable record and
    the manifest entries name ``<url>/<id>``, the address every worker reads."""
    from airflow_provider_posthog_recordings.operators.budgeted import object_storage_path

    clock = SimulatedClock(START)
    server = _server(emulator_factory, clock)
    ids = server.seed_recordings(5, days=60, seed=255, end=START - timedelta(days=32))
    url = f"file://{tmp_path}/shared-archive"
    settings = purge.PurgeSettings(
        older_than_days=30,
        reference=START,
        max_deletions=None,
        archive_path=object_storage_path(url),
        record=DeletionRecord(tmp_path / "record", "run-1", None, {}),
    )
    client = PostHogClient(server.url, server.api_key, server.project_id, timeout=(2.0, 10.0))
    outcome = purge.run(client, settings)
    client.close()
    assert not outcome.paused and server.deleted_ids == set(ids)
    lines = read_deletion_record(tmp_path / "record", "run-1")
    assert {line["archive"] for line in lines} == {f"{url}/{rid}" for rid in ids}
    for rid in ids:
        entry = json.loads((tmp_path / "shared-archive" / rid / archive.MANIFEST_FILE).read_text())
        assert entry["location"] == f"{url}/{rid}"
