"""The deletion ledger, the cap and the durable record (jobs/deletion.py), without a server."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.models import DeleteResult
from airflow_provider_posthog_recordings.jobs.deletion import (
    DeletionLedger,
    DeletionRecord,
    Progress,
    check_deletion_cap,
    read_deletion_record,
)


def result(**fields: Any) -> DeleteResult:
    return DeleteResult(**fields)


def test_the_ledger_counts_each_outcome_and_caps_the_ids() -> None:
    ledger = DeletionLedger(manifest_ids=3)
    ledger.add(result(deleted=["a", "b"], already_gone=["c"], failed={"d": "500"}))
    ledger.add(result(deleted=["e", "f"], unsent=["g"]))
    assert (ledger.deleted, ledger.already_gone, ledger.failed) == (4, 1, 1)
    assert ledger.settled == 6  # unsent ids are not counted: they come again
    summary = ledger.summary()
    assert summary["deleted_ids"] == ["a", "b", "e"]
    assert summary["ids_truncated"] is True
    assert summary["failed_ids"] == {"d": "500"}
    assert (summary["deleted"], summary["already_gone"], summary["failed"]) == (4, 1, 1)


def test_unattributed_ids_count_as_deleted_and_gone_as_posthog_said() -> None:
    ledger = DeletionLedger()
    ledger.add(result(unattributed=["x", "y", "z"], unattributed_deleted=2))
    assert (ledger.deleted, ledger.already_gone) == (2, 1)
    assert ledger.deleted_ids == []  # which two is unknown: none is named as deleted


def test_failed_ids_are_capped_too() -> None:
    ledger = DeletionLedger(manifest_ids=1)
    ledger.add(result(failed={"a": "x", "b": "y"}))
    assert ledger.failed == 2 and ledger.failed_ids == {"a": "x"}
    assert ledger.summary()["ids_truncated"] is False


def test_the_ledger_survives_a_deferral_as_json() -> None:
    ledger = DeletionLedger(manifest_ids=5)
    ledger.add(result(deleted=["a"], already_gone=["b"], failed={"c": "500"}))
    again = DeletionLedger.from_state(json.loads(json.dumps(ledger.to_state())))
    assert again == ledger
    again.add(result(deleted=["d"]))
    assert again.summary()["deleted_ids"] == ["a", "d"]


def test_over_the_cap_is_refused_naming_the_count() -> None:
    with pytest.raises(PostHogConfigError) as info:
        check_deletion_cap(1500, 1000, "the retention policy")
    assert str(info.value) == (
        "1500 recordings match the retention policy but max_deletions is 1000: nothing was "
        "deleted. Check with report_only=True, then raise max_deletions (e.g. "
        "max_deletions=1500) or set it to None to lift the cap"
    )


@pytest.mark.parametrize(
    ("candidates", "cap"), [(1000, 1000), (0, 0), (3, 10), (10**9, None), (0, None)]
)
def test_within_the_cap(candidates: int, cap: int | None) -> None:
    assert check_deletion_cap(candidates, cap, "the policy") is None


def test_cap_zero_refuses_any_deletion() -> None:
    with pytest.raises(PostHogConfigError, match="1 recordings match"):
        check_deletion_cap(1, 0, "the policy")


def test_the_record_writes_one_part_per_group_and_reads_back_in_order(tmp_path: Path) -> None:
    record = DeletionRecord(
        folder=tmp_path, run_id="manual__2026-01-01T00:00:00+00:00", cutoff="C", policy={"p": 1}
    )
    record.write(result(deleted=["a", "b"], unattributed=["u"], unattributed_deleted=1))
    record.write(result(already_gone=["g"], failed={"f": "500"}))  # settled: a part too
    record.write(result(unsent=["n"]))  # nothing settled, no intent open: no part
    record.leg = 2
    record.write(result(deleted=["c"]))
    folder = tmp_path / "manual__2026-01-01T00_00_00+00_00"
    assert len(list(folder.iterdir())) == 3
    deleted = read_deletion_record(tmp_path, record.run_id)
    assert [line["recording_id"] for line in deleted] == ["a", "b", "u", "c"]
    lines = read_deletion_record(tmp_path, record.run_id, every_outcome=True)
    assert [(line["recording_id"], line["outcome"]) for line in lines] == [
        ("a", "deleted"),
        ("b", "deleted"),
        ("u", "deleted_or_already_gone"),
        ("g", "already_gone"),
        ("f", "failed"),
        ("c", "deleted"),
    ]
    assert lines[4]["reason"] == "500"
    assert {line["cutoff"] for line in lines} == {"C"}
    assert {line["run_id"] for line in lines} == {record.run_id}
    assert lines[0]["policy"] == {"p": 1}


def test_progress_logs_about_every_tenth(caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    progress = Progress(total=100)
    ledger = DeletionLedger()
    for _ in range(100):
        ledger.add(result(deleted=["x"]))
        progress.update(ledger)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Deleted")]
    assert len(lines) == 10 and lines[-1].startswith("Deleted 100/100")


def test_progress_logs_at_each_tenth_and_at_the_end(caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    progress = Progress(total=25)  # a tenth is 2 recordings
    ledger = DeletionLedger()
    for _ in range(25):
        ledger.add(result(deleted=["x"]))
        progress.update(ledger)
    done = [int(r.getMessage().split()[1].split("/")[0]) for r in caplog.records]
    assert done == [*range(2, 25, 2), 25]


def test_progress_of_a_few_logs_each_and_a_resumed_one_counts_from_where_it_was(
    caplog: Any,
) -> None:
    caplog.set_level(logging.INFO)
    small, ledger = Progress(total=3), DeletionLedger()
    for _ in range(3):
        ledger.add(result(deleted=["x"]))
        small.update(ledger)
    resumed, again = Progress(total=100, done=50), DeletionLedger(deleted=50)
    for _ in range(10):
        again.add(result(deleted=["x"]))
        resumed.update(again)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Deleted 1/3 (0 already gone, 0 failed)",
        "Deleted 2/3 (0 already gone, 0 failed)",
        "Deleted 3/3 (0 already gone, 0 failed)",
        "Deleted 60/100 (0 already gone, 0 failed)",
    ]


def test_the_record_s_parts_are_named_in_order_under_a_new_folder(tmp_path: Path) -> None:
    root = tmp_path / "records" / "posthog"  # not there yet: made with its parents
    record = DeletionRecord(folder=root, run_id="scheduled__1", cutoff=None, policy={})
    for group in range(12):
        record.write(result(deleted=[f"r{group:02d}"]))
    record.leg = 1
    record.write(result(deleted=["r12"]))
    names = sorted(path.name for path in (root / "scheduled__1").iterdir())
    assert names == [
        *(f"part-{record.started}-0000-{n:06d}.jsonl" for n in range(1, 13)),
        f"part-{record.started}-0001-000013.jsonl",
    ]
    lines = read_deletion_record(root, "scheduled__1")
    assert [line["recording_id"] for line in lines] == [f"r{n:02d}" for n in range(13)]


def test_each_line_has_an_aware_batch_time_and_json_able_policy(tmp_path: Path) -> None:
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    record = DeletionRecord(
        folder=tmp_path,
        run_id="r",
        cutoff=None,
        policy={"since": since, "day": date(2026, 1, 2), "folder": Path("/data/x")},
    )
    before = datetime.now(timezone.utc)
    record.write(result(deleted=["a"]))
    [line] = read_deletion_record(tmp_path, "r")
    assert line["policy"] == {
        "since": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "folder": "/data/x",
    }
    written = datetime.fromisoformat(line["batch_time"])
    assert written.utcoffset() == timedelta(0)
    assert before <= written <= datetime.now(timezone.utc)


def test_archived_recordings_name_their_archive_once(tmp_path: Path) -> None:
    record = DeletionRecord(
        folder=tmp_path, run_id="r", cutoff="C", policy={}, archives={"a": "s3://b/a/"}
    )
    record.write(result(deleted=["a", "b"]))
    lines = read_deletion_record(tmp_path, "r")
    assert [line.get("archive") for line in lines] == ["s3://b/a/", None]
    assert record.archives == {}  # written: not carried into later parts


def test_a_run_id_with_nothing_safe_in_it_still_gets_a_folder(tmp_path: Path) -> None:
    record = DeletionRecord(folder=tmp_path, run_id="", cutoff=None, policy={})
    record.write(result(deleted=["a"]))
    assert [path.name for path in tmp_path.iterdir()] == ["run"]


def test_recordings_kept_at_the_last_moment_are_counted_by_reason_and_settled() -> None:
    ledger = DeletionLedger()
    ledger.keep("now_protected")
    ledger.keep("not_archived", 3)
    ledger.keep("now_protected")
    ledger.add(result(deleted=["a"], kept={"b": "now_protected", "c": "pinned"}))
    assert ledger.kept == {"now_protected": 3, "not_archived": 3, "pinned": 1}
    assert ledger.settled == 1 + 7
    summary = ledger.summary()
    assert summary["kept_at_deletion"] == {"now_protected": 3, "not_archived": 3, "pinned": 1}
    assert summary["deleted"] == 1 and summary["ids_truncated"] is False
    assert DeletionLedger.from_state(ledger.to_state()).kept == ledger.kept
