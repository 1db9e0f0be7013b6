"""The write-ahead deletion record (jobs/deletion.py): intents, settle parts, recovery, run
totals, and what it costs on object-storage semantics (no append: each write a new object)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from airflow_provider_posthog_recordings.client.models import DeleteResult
from airflow_provider_posthog_recordings.jobs.deletion import (
    GROUP_SIZE,
    DeletionLedger,
    DeletionRecord,
    RunTotals,
    read_deletion_record,
)


class ObjectStore:
    """Object storage as S3 offers it: whole objects written once per ``open("w")``, no
    append, listing by prefix; counts the objects and bytes written."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts = 0
        self.bytes = 0


class ObjectPath:
    """An ``ObjectStoragePath``-like key in :class:`ObjectStore`."""

    protocol = "s3"

    def __init__(self, store: ObjectStore, key: str) -> None:
        self.store = store
        self.key = key.strip("/")

    def __truediv__(self, other: str) -> ObjectPath:
        return ObjectPath(self.store, f"{self.key}/{other}")

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Object stores have no folders: nothing to do."""

    def iterdir(self) -> list[ObjectPath]:
        prefix = self.key + "/"
        names = {
            k[len(prefix) :].split("/", 1)[0] for k in self.store.objects if k.startswith(prefix)
        }
        if not names:
            raise FileNotFoundError(self.key)
        return [self / name for name in sorted(names)]

    def open(self, mode: str = "r") -> Any:
        if mode == "r":
            if self.key not in self.store.objects:
                raise FileNotFoundError(self.key)
            return io.StringIO(self.store.objects[self.key].decode())
        assert mode == "w", f"object storage cannot open {mode!r}"
        path = self

        class Writer(io.StringIO):
            def close(self) -> None:
                data = self.getvalue().encode()
                path.store.objects[path.key] = data
                path.store.puts += 1
                path.store.bytes += len(data)
                super().close()

        return Writer()


def ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n:04d}" for n in range(count)]


def record_at(folder: Any, **fields: Any) -> DeletionRecord:
    fields.setdefault("task", "dag/purge")
    return DeletionRecord(
        folder=folder, run_id="scheduled__1", cutoff="C", policy={"older_than_days": 30}, **fields
    )


def test_each_group_is_written_twice_intent_first(tmp_path: Path) -> None:
    record = record_at(tmp_path)
    record.write_intent(["a", "b", "c"])
    folder = tmp_path / "scheduled__1"
    [intent] = [p.name for p in folder.iterdir()]
    assert intent == f"intent-{record.started}-0000-000001.json"
    assert json.loads((folder / intent).read_text())["ids"] == ["a", "b", "c"]
    assert list(record.unsettled_intents().values()) == [["a", "b", "c"]]
    record.write(DeleteResult(deleted=["a"], already_gone=["b"], kept={"c": "now_protected"}))
    names = sorted(p.name for p in folder.iterdir())
    assert names == [intent, f"part-{record.started}-0000-000001.jsonl"]
    assert record.unsettled_intents() == {}
    assert record.files_written == 2
    lines = read_deletion_record(tmp_path, "scheduled__1", every_outcome=True)
    assert [(line["recording_id"], line["outcome"]) for line in lines] == [
        ("a", "deleted"),
        ("b", "already_gone"),
    ]
    assert {line["task"] for line in lines} == {"dag/purge"}


def test_an_intent_settled_with_nothing_still_gets_its_part(tmp_path: Path) -> None:
    record = record_at(tmp_path)
    record.write_intent(["a"])
    record.write(DeleteResult(unsent=["a"]))  # the budget stopped it before its DELETE
    assert record.unsettled_intents() == {}
    assert read_deletion_record(tmp_path, "scheduled__1", every_outcome=True) == []


def test_recovery_settles_a_killed_leg_s_intent_by_one_look(tmp_path: Path) -> None:
    killed = record_at(tmp_path, started="20260101T000000000000Z")
    killed.write(DeleteResult(deleted=["x0"]))  # a group settled before the kill
    killed.write_intent(["a", "b", "c", "d"])  # ... and one in flight: b and d were deleted
    other_task = record_at(tmp_path, started="20260101T000000000001Z", task="dag/other")
    other_task.write_intent(["z"])  # another task's intent in the same run folder
    retry = record_at(tmp_path, started="20260101T000100000000Z")
    looks: list[list[str]] = []

    def exists(batch: list[str]) -> set[str]:
        looks.append(list(batch))
        return {"a", "c"}

    assert retry.recover(exists) == 2
    assert looks == [["a", "b", "c", "d"]]  # one existence check per group, this task's only
    assert retry.unsettled_intents() == {}
    assert other_task.unsettled_intents() != {}
    deleted = read_deletion_record(tmp_path, "scheduled__1")
    assert [line["recording_id"] for line in deleted] == ["x0", "b", "d"]
    assert [line.get("recovered", False) for line in deleted] == [False, True, True]
    # Recovered once: a second retry finds nothing to settle.
    assert retry.recover(exists) == 0 and len(looks) == 1
    totals = retry.totals()
    assert totals.counts() == {"deleted": 3, "already_gone": 0, "failed": 0, "archived": 0}
    assert totals.recovered == 2 and totals.done == {"x0", "b", "d"}


def test_run_totals_count_each_id_once_and_a_retry_s_success_replaces_a_failure() -> None:
    totals = RunTotals()
    for rid, outcome in [
        ("a", "failed"),
        ("a", "deleted"),
        ("b", "deleted"),
        ("b", "already_gone"),  # a later try found it gone: still deleted once
        ("c", "deleted_or_already_gone"),
        ("d", "failed"),
    ]:
        totals.add_line({"recording_id": rid, "outcome": outcome, "archive": "s3://x/" + rid})
    assert totals.counts() == {"deleted": 3, "already_gone": 0, "failed": 1, "archived": 3}
    assert totals.done == {"a", "b", "c"}


def test_totals_before_this_try_leave_its_own_files_out(tmp_path: Path) -> None:
    first = record_at(tmp_path, started="20260101T000000000000Z")
    first.write(DeleteResult(deleted=["a"], failed={"f": "500"}))
    second = record_at(tmp_path, started="20260101T010000000000Z")
    second.write(DeleteResult(deleted=["f", "b"]))
    assert second.totals().counts()["deleted"] == 1
    everything = second.totals(before_this_try=False)
    assert everything.counts() == {"deleted": 3, "already_gone": 0, "failed": 0, "archived": 0}


def test_on_object_storage_a_group_costs_two_objects() -> None:
    store = ObjectStore()
    record = record_at(ObjectPath(store, "bucket/posthog"))
    ledger = DeletionLedger()
    groups = 4
    for group in range(groups):
        batch = ids(f"{group:02d}-0190a5b2-7c3d-7e4f-8a9b-", GROUP_SIZE)
        record.write_intent(batch)
        result = DeleteResult(
            deleted=batch[:-3], already_gone=batch[-3:-1], failed={batch[-1]: "x"}
        )
        ledger.add(result)
        record.write(result)
    assert store.puts == record.files_written == 2 * groups
    assert store.bytes == record.bytes_written
    intents = [v for k, v in store.objects.items() if "/intent-" in k]
    parts = [v for k, v in store.objects.items() if "/part-" in k]
    assert len(intents) == len(parts) == groups
    lines = read_deletion_record(ObjectPath(store, "bucket/posthog"), "scheduled__1", True)
    assert len(lines) == groups * GROUP_SIZE
    per_group = store.bytes / groups
    print(
        f"\nrecord on object storage: {store.puts / groups:.0f} objects per group of "
        f"{GROUP_SIZE} ids, {per_group:,.0f} bytes per group (intent "
        f"{sum(map(len, intents)) / groups:,.0f} B, settle part "
        f"{sum(map(len, parts)) / groups:,.0f} B), {per_group / GROUP_SIZE:,.1f} B per id"
    )


def test_on_disk_a_file_is_whole_or_absent_and_leftovers_are_ignored(tmp_path: Path) -> None:
    record = record_at(tmp_path)
    record.write_intent(["a"])
    record.write(DeleteResult(deleted=["a"]))
    folder = tmp_path / "scheduled__1"
    assert not [p for p in folder.iterdir() if p.name.startswith("tmp-")]  # renamed into place
    # What a process killed while writing leaves: a scratch file, an intent cut short.
    (folder / "tmp-part-20260101T000000000000Z-0000-000009.jsonl").write_text('{"recor')
    (folder / "intent-20260101T000000000000Z-0000-000009.json").write_text('{"run_id": "sch')
    assert record.unsettled_intents() == {}
    assert [line["recording_id"] for line in read_deletion_record(tmp_path, "scheduled__1")] == [
        "a"
    ]
