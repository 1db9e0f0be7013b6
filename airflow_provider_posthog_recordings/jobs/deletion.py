"""Deleting a stream of ids for a job: groups, progress, manifest and durable record.

Shared by the purge and the erasure. :class:`DeletionLedger` keeps the counts and a capped
list of ids for the manifest (small enough for an XCom) and can be carried across a deferral;
:class:`DeletionRecord` writes every deleted id to durable storage as JSON lines, one part
per group, as soon as the group is settled, so that a run that fails half-way leaves a record
of what it did delete.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import IO, Any, Protocol

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.models import DeleteResult
from airflow_provider_posthog_recordings.client.resources.deletion import KeepCheck
from airflow_provider_posthog_recordings.jobs.progress import log_pause

log = logging.getLogger(__name__)

DEFAULT_MANIFEST_IDS = 1000
#: Ids handed to the client at a time (it checks existence 500 at a time).
GROUP_SIZE = 500


@dataclass
class JobOutcome:
    """The end of one leg of a deleting job (purge or erasure).

    :ivar manifest: the run's manifest (complete when not paused).
    :ivar wait_seconds: set when the leg paused for the key's budget: resume after it.
    :ivar state: JSON-able state to pass back to the job's ``run`` when paused.
    :ivar settled: deletions settled so far and planned in all, when paused after the
        plan was made (for the progress line).
    :ivar planned: as ``settled``.
    """

    manifest: dict[str, Any]
    wait_seconds: float | None = None
    state: dict[str, Any] | None = None
    settled: int | None = None
    planned: int | None = None

    @property
    def paused(self) -> bool:
        """Whether the run waits for the budget and must be resumed."""
        return self.wait_seconds is not None


def run_leg(
    client: PostHogClient, state: dict[str, Any] | None, leg: Callable[[], JobOutcome]
) -> tuple[JobOutcome, int]:
    """Run one leg of a deleting job with what the legs before it knew.

    The client takes over the earlier leg's view of the key's budget and of the refused bulk
    actions (a resumed task runs in a new process); a paused leg's state carries them on,
    with the requests of the run so far, and its progress is logged (:func:`.progress.log_pause`).

    :return: The leg's outcome, and the requests of the whole run up to its end.
    """
    client.continue_from((state or {}).get("carried"))
    spent = int((state or {}).get("requests", 0))
    before = client.request_count
    outcome = leg()
    requests = spent + client.request_count - before
    if outcome.state is not None:
        outcome.state["carried"] = client.key_history()
        outcome.state["requests"] = requests
        log_pause(client, outcome, int(outcome.state.get("leg", 1)))
    return outcome, requests


def check_deletion_cap(candidates: int, max_deletions: int | None, what: str) -> None:
    """Refuse to start when more recordings would go than the cap allows.

    :raises PostHogConfigError: naming the counts and how to raise the cap.
    """
    if max_deletions is not None and candidates > max_deletions:
        raise PostHogConfigError(
            f"{candidates} recordings match {what} but max_deletions is {max_deletions}: "
            "nothing was deleted. Check with report_only=True, then raise max_deletions (e.g. "
            f"max_deletions={candidates}) or set it to None to lift the cap"
        )


@dataclass
class DeletionLedger:
    """Counts of a deletion, with at most ``manifest_ids`` ids kept for the manifest."""

    manifest_ids: int = DEFAULT_MANIFEST_IDS
    deleted: int = 0
    already_gone: int = 0
    failed: int = 0
    deleted_ids: list[str] = field(default_factory=list)
    failed_ids: dict[str, str] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)

    def add(self, result: DeleteResult) -> None:
        """Count one group's result (unsent ids are not counted: they come again)."""
        for reason in result.kept.values():
            self.keep(reason)
        self.deleted += result.deleted_count
        self.already_gone += result.already_gone_count
        self.failed += len(result.failed)
        room = self.manifest_ids - len(self.deleted_ids)
        if room > 0:
            self.deleted_ids.extend(result.deleted[:room])
        for rid, reason in result.failed.items():
            if len(self.failed_ids) < self.manifest_ids:
                self.failed_ids[rid] = reason

    def keep(self, reason: str, count: int = 1) -> None:
        """Count recordings kept at the last moment (the policy checked again said so).

        :param reason: why, e.g. ``now_protected``.
        :param count: how many.
        """
        self.kept[reason] = self.kept.get(reason, 0) + count

    @property
    def settled(self) -> int:
        """Deleted, already gone, failed or kept at the last moment so far."""
        return self.deleted + self.already_gone + self.failed + sum(self.kept.values())

    def summary(self) -> dict[str, Any]:
        """The manifest part of the deletion."""
        return {
            "deleted": self.deleted,
            "already_gone": self.already_gone,
            "failed": self.failed,
            "deleted_ids": list(self.deleted_ids),
            "ids_truncated": self.deleted > len(self.deleted_ids),
            "failed_ids": dict(self.failed_ids),
            "kept_at_deletion": dict(self.kept),
        }

    def to_state(self) -> dict[str, Any]:
        """JSON-able state, to carry across a deferral."""
        return {
            "manifest_ids": self.manifest_ids,
            "deleted": self.deleted,
            "already_gone": self.already_gone,
            "failed": self.failed,
            "deleted_ids": list(self.deleted_ids),
            "failed_ids": dict(self.failed_ids),
            "kept": dict(self.kept),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DeletionLedger:
        """The ledger :meth:`to_state` described."""
        return cls(**state)


class RecordPath(Protocol):
    """What the record needs of a path: ``pathlib.Path`` and Airflow's ``ObjectStoragePath``."""

    def __truediv__(self, other: str) -> RecordPath: ...

    def mkdir(self, parents: bool = ..., exist_ok: bool = ...) -> None: ...

    def open(self, mode: str = ...) -> IO[Any]: ...


@dataclass
class DeletionRecord:
    """The durable record of a run's deletions: JSON lines under ``folder``.

    Each settled group is written as its own part, ``<run>/part-<started>-<leg>-<group>.jsonl``,
    once (object stores cannot append; ``started`` keeps a retried task's parts apart and in
    order), with one line per recording deleted::

        {"run_id": ..., "cutoff": ..., "policy": {...}, "batch_time": ...,
         "recording_id": ..., "outcome": "deleted"}

    ``outcome`` is ``deleted``, or ``deleted_or_already_gone`` for the rare ids PostHog's
    counts cannot attribute (see
    :class:`~airflow_provider_posthog_recordings.client.models.DeleteResult`).
    A purge that archives first adds ``"archive": <the recording's archive folder>``.

    :ivar folder: where the parts go (a local ``pathlib.Path`` or an ``ObjectStoragePath``).
    :ivar run_id: the Airflow run id (also the sub-folder's name, made safe).
    :ivar cutoff: the purge's cutoff, or None for an erasure.
    :ivar policy: the rule that chose the ids (JSON-able).
    :ivar leg: which leg of a deferred run this is (parts never overwrite each other).
    :ivar archives: where each recording to be deleted was archived (archive-then-purge).
    """

    folder: RecordPath
    run_id: str
    cutoff: str | None
    policy: dict[str, Any]
    leg: int = 0
    parts: int = 0
    archives: dict[str, str] = field(default_factory=dict)
    started: str = field(
        default_factory=lambda: datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    )

    def write(self, result: DeleteResult) -> None:
        """Write one group's deleted ids (nothing when it deleted none)."""
        outcomes = [(rid, "deleted") for rid in result.deleted]
        outcomes += [(rid, "deleted_or_already_gone") for rid in result.unattributed]
        if not outcomes:
            return
        self.parts += 1
        run_folder = self.folder / safe_file_name(self.run_id)
        run_folder.mkdir(parents=True, exist_ok=True)
        part = run_folder / f"part-{self.started}-{self.leg:04d}-{self.parts:06d}.jsonl"
        batch_time = datetime.now(timezone.utc).isoformat()
        with part.open("w") as handle:
            for rid, outcome in outcomes:
                line = {
                    "run_id": self.run_id,
                    "cutoff": self.cutoff,
                    "policy": self.policy,
                    "batch_time": batch_time,
                    "recording_id": rid,
                    "outcome": outcome,
                }
                if rid in self.archives:
                    line["archive"] = self.archives.pop(rid)
                handle.write(json.dumps(line, default=_json_default) + "\n")


def read_deletion_record(folder: RecordPath, run_id: str) -> list[dict[str, Any]]:
    """Every line a run wrote to its record, part by part in order."""
    run_folder: Any = folder / safe_file_name(run_id)
    lines: list[dict[str, Any]] = []
    for part in sorted(run_folder.iterdir(), key=lambda path: str(path)):
        with part.open("r") as handle:
            lines.extend(json.loads(line) for line in handle if line.strip())
    return lines


def safe_file_name(text: str) -> str:
    """``text`` as a file or folder name (run ids hold colons and plus signs)."""
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in text) or "run"


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class Progress:
    """Logs a long deletion about every 10%."""

    def __init__(self, total: int, done: int = 0) -> None:
        self.total = total
        self.step = max(1, total // 10)
        self.next_report = done + self.step

    def update(self, ledger: DeletionLedger) -> None:
        """Log when another tenth is settled."""
        done = ledger.settled
        if done >= self.next_report or done >= self.total:
            log.info(
                "Deleted %d/%d (%d already gone, %d failed)",
                done,
                self.total,
                ledger.already_gone,
                ledger.failed,
            )
            while self.next_report <= done:
                self.next_report += self.step


def delete_group(
    client: PostHogClient,
    ids: list[str],
    *,
    ledger: DeletionLedger,
    record: DeletionRecord | None,
    date_from: datetime | date | str | None = None,
    keep: KeepCheck | None = None,
) -> DeleteResult:
    """Delete one group of ids, count it and write it to the record; return its result.

    ``keep`` checks each recording's current fields just before it is deleted (see
    :meth:`~..recording_deletion.RecordingDeletion.delete_recordings`).
    """
    result = client.delete_recordings(ids, date_from=date_from, keep=keep)
    ledger.add(result)
    if record is not None:
        record.write(result)
    return result
