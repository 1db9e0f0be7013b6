"""The archive's counts across legs: each recording counted once, the cut download carried."""

from __future__ import annotations

import json

from airflow_provider_posthog_recordings.client.errors import PostHogBudgetWait
from airflow_provider_posthog_recordings.jobs import archive


def _result(rid: str, status: str) -> archive.ArchiveResult:
    entry = {"snapshot_requests": 3, "mobile": False} if status == archive.ARCHIVED else None
    return archive.ArchiveResult(rid, status, f"s3://bucket/{rid}", entry=entry)


def test_a_recording_archived_again_by_a_later_leg_is_counted_once() -> None:
    """Archived in leg 1 but not deleted (carried), then met again in leg 2 on a worker
    whose archive lacks it (archived again) or has it (already archived)."""
    ledger = archive.ArchiveLedger()
    ledger.add(_result("a", archive.ARCHIVED))
    ledger.add(_result("b", archive.ARCHIVED))
    ledger.carried.extend(["a", "b"])
    later = archive.ArchiveLedger.from_state(json.loads(json.dumps(ledger.to_state())), 10)
    later.add(_result("a", archive.ARCHIVED))
    later.add(_result("b", archive.ALREADY_ARCHIVED))
    later.add(_result("c", archive.ARCHIVED))
    assert (later.archived, later.already_archived) == (3, 0)
    assert later.archived_ids == ["a", "b", "c"] and later.carried == []
    # Each download is counted for the estimate, the one made again too.
    assert (later.downloads, later.snapshot_requests) == (4, 12)


def test_the_cut_download_is_remembered_until_that_recording_is_settled() -> None:
    ledger = archive.ArchiveLedger()
    partial = {"recording_id": "a", "next_block": 21, "lines": 40, "requests": 2, "sha256": "x"}
    ledger.paused(archive.DownloadPaused(60.0, partial), "a")
    state = json.loads(json.dumps(ledger.to_state()))
    later = archive.ArchiveLedger.from_state(state, 10)
    assert later.partial_for("a") == partial and later.partial_for("b") is None
    later.add(_result("b", archive.ARCHIVED))
    assert later.partial_for("a") == partial
    later.add(_result("a", archive.FAILED))
    assert later.partial is None
    later.paused(archive.DownloadPaused(1.0, partial), "a")
    later.paused(PostHogBudgetWait(5.0), "a")  # a wait before its download went on
    assert later.partial_for("a") == partial
    later.paused(PostHogBudgetWait(5.0), "b")  # a wait at another recording
    assert later.partial is None


def test_an_old_state_without_the_new_fields_still_loads() -> None:
    old = {
        "manifest_ids": 5,
        "archived": 1,
        "already_archived": 0,
        "failed": 0,
        "gone": 0,
        "mobile_raw_only": 0,
        "archived_ids": ["a"],
        "failed_ids": {},
        "gone_ids": [],
        "carried": [],
    }
    ledger = archive.ArchiveLedger.from_state(old, 5)
    assert ledger.partial is None and ledger.downloads == 0
