"""Deleting a stream of ids for a job: groups, progress, manifest and durable record.

Shared by the purge and the erasure. :class:`DeletionLedger` keeps the counts and a capped
list of ids for the manifest (small enough for an XCom) and can be carried across a deferral;
:class:`DeletionRecord` writes each group to durable storage ahead of its request (an
intent) and once settled (a part, JSON lines), so that a run killed at any instant leaves a
record its next leg or try can settle exactly (:meth:`DeletionRecord.recover`) and from which
the run's totals over every try are read (:class:`RunTotals`).
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


#: The counts a manifest gives for this try and for the whole run.
RUN_TOTAL_KEYS = ("deleted", "already_gone", "failed", "archived")


def add_run_totals(manifest: dict[str, Any], record: DeletionRecord | None) -> None:
    """Put this try's own counts and the run's totals (every try) in a final manifest.

    The top-level ``deleted``, ``already_gone`` and ``archived`` become the run's (the
    tries before this one, as the record said at this try's start: ``earlier_tries``);
    ``failed`` stays this try's (a later try takes the failed ids again); ``this_try`` keeps
    this try's own, ``run_totals`` the run's, ``run_totals_from`` where they were read.
    """
    if manifest.get("report_only"):
        return
    this_try = {key: int(manifest.get(key) or 0) for key in RUN_TOTAL_KEYS}
    earlier = manifest.pop("earlier_tries", None) or {}
    totals = {
        key: this_try[key] + (0 if key == "failed" else int(earlier.get(key, 0)))
        for key in RUN_TOTAL_KEYS
    }
    manifest["this_try"] = this_try
    manifest["run_totals"] = totals
    manifest["run_totals_from"] = str(record.run_folder) if record is not None else "this try only"
    for key in ("deleted", "already_gone"):
        manifest[key] = totals[key]
    if "archived" in manifest:
        manifest["archived"] = totals["archived"]


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


#: The outcomes a settle part may name, and the run total each adds to.
SETTLED_OUTCOMES = {
    "deleted": "deleted",
    "deleted_or_already_gone": "deleted",
    "already_gone": "already_gone",
    "failed": "failed",
}


@dataclass
class RunTotals:
    """What a run's record says was settled: by every try, or by the tries before this one.

    Each id counts once: a later ``failed`` does not undo a deletion, and a later
    deletion replaces an earlier ``failed`` (a retry that succeeded).

    :ivar outcomes: id -> its total (``deleted``, ``already_gone`` or ``failed``).
    :ivar archived: deleted ids whose line names their archive.
    :ivar recovered: ids an interrupted leg's intent left unsettled, settled by looking.
    """

    outcomes: dict[str, str] = field(default_factory=dict)
    archived_ids: set[str] = field(default_factory=set)
    recovered: int = 0

    def count(self, total: str) -> int:
        """How many ids ended in ``total``."""
        return sum(1 for value in self.outcomes.values() if value == total)

    def counts(self) -> dict[str, int]:
        """The totals as a manifest shows them."""
        return {
            "deleted": self.count("deleted"),
            "already_gone": self.count("already_gone"),
            "failed": self.count("failed"),
            "archived": len(self.archived_ids),
        }

    @property
    def done(self) -> set[str]:
        """The ids settled for good (a continued run does not take them again; failed ones
        it does)."""
        return {rid for rid, total in self.outcomes.items() if total != "failed"}

    def add_line(self, line: dict[str, Any]) -> None:
        """Count one settled line."""
        rid = str(line.get("recording_id"))
        total = SETTLED_OUTCOMES.get(str(line.get("outcome")))
        if total is None or self.outcomes.get(rid, "failed") != "failed":
            return
        self.outcomes[rid] = total
        if total == "deleted" and line.get("archive"):
            self.archived_ids.add(rid)
        if line.get("recovered"):
            self.recovered += 1


@dataclass
class DeletionRecord:
    """The durable, write-ahead record of a run's deletions: JSON under ``folder``.

    Each group of ids is written twice, never more (object stores cannot append: each write
    is a new object):

    1. before its request is sent, its **intent**,
       ``<run>/intent-<started>-<leg>-<group>.json``: ``{"task": ..., "ids": [...]}``;
    2. once its result is known, its **settle part**, ``<run>/part-<started>-<leg>-<group>.jsonl``,
       one line per id settled::

        {"run_id": ..., "task": ..., "cutoff": ..., "policy": {...}, "batch_time": ...,
         "recording_id": ..., "outcome": "deleted"}

    ``outcome`` is ``deleted``, ``already_gone``, ``failed``, or ``deleted_or_already_gone``
    for the rare ids PostHog's counts cannot attribute (see
    :class:`~airflow_provider_posthog_recordings.client.models.DeleteResult`). Ids of the
    intent that the part does not name (kept at the last moment, or never sent) were not
    deleted. A purge that archives first adds ``"archive": <the recording's archive folder>``.

    An intent without its part is a group whose process died between the two writes (its
    DELETE may have been applied): :meth:`recover` settles it by looking which of its ids
    still exist (one request), writing the part the dead process could not (lines with
    ``"recovered": true``; the gone ids are counted deleted).

    ``started`` keeps a retried task's files apart and in order; ``task`` (the DAG's and
    task's id, and map index) keeps apart the tasks of one run that share a folder.

    :ivar folder: where the files go (a local ``pathlib.Path`` or an ``ObjectStoragePath``).
    :ivar run_id: the Airflow run id (also the sub-folder's name, made safe).
    :ivar cutoff: the purge's cutoff, or None for an erasure.
    :ivar policy: the rule that chose the ids (JSON-able).
    :ivar leg: which leg of a deferred run this is (files never overwrite each other).
    :ivar archives: where each recording to be deleted was archived (archive-then-purge).
    :ivar task: the task's key within the run (None: the only task writing there).
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
    task: str | None = None
    #: The group whose intent is written and whose part is not yet (its file suffix).
    open_intent: str | None = None
    #: Files written (intents and parts) and their bytes: what the record costs.
    files_written: int = 0
    bytes_written: int = 0

    @property
    def run_folder(self) -> Any:
        """The run's own folder."""
        return self.folder / safe_file_name(self.run_id)

    def _suffix(self) -> str:
        return f"{self.started}-{self.leg:04d}-{self.parts:06d}"

    def _put(self, name: str, text: str) -> None:
        """Write one whole file, once: all of it or none of it, even when the process is
        killed while writing (an object store's put is; on a disk the file is written under
        a temporary name, then renamed)."""
        run_folder = self.run_folder
        run_folder.mkdir(parents=True, exist_ok=True)
        if _on_disk(run_folder):
            scratch = run_folder / f"tmp-{name}"
            with scratch.open("w") as handle:
                handle.write(text)
            scratch.rename(str(run_folder / name))
        else:
            with (run_folder / name).open("w") as handle:
                handle.write(text)
        self.files_written += 1
        self.bytes_written += len(text.encode())

    def write_intent(self, ids: list[str]) -> None:
        """Write that ``ids`` are about to be sent for deletion (before the request)."""
        if not ids:
            return
        self.parts += 1
        self.open_intent = self._suffix()
        text = json.dumps({"run_id": self.run_id, "task": self.task, "ids": list(ids)})
        self._put(f"intent-{self.open_intent}.json", text + "\n")

    def write(self, result: DeleteResult) -> None:
        """Write one group's settled ids: its intent's part (written even when it names no
        id, to settle the intent), or a part of its own when no intent is open (nothing when
        it settled none)."""
        outcomes = [(rid, "deleted") for rid in result.deleted]
        outcomes += [(rid, "deleted_or_already_gone") for rid in result.unattributed]
        outcomes += [(rid, "already_gone") for rid in result.already_gone]
        outcomes += [(rid, "failed") for rid in result.failed]
        suffix, self.open_intent = self.open_intent, None
        if suffix is None:
            if not outcomes:
                return
            self.parts += 1
            suffix = self._suffix()
        self._put(f"part-{suffix}.jsonl", self._lines(outcomes, result.failed))

    def _lines(
        self,
        outcomes: list[tuple[str, str]],
        reasons: dict[str, str] | None = None,
        recovered: bool = False,
    ) -> str:
        batch_time = datetime.now(timezone.utc).isoformat()
        lines = []
        for rid, outcome in outcomes:
            line: dict[str, Any] = {
                "run_id": self.run_id,
                "task": self.task,
                "cutoff": self.cutoff,
                "policy": self.policy,
                "batch_time": batch_time,
                "recording_id": rid,
                "outcome": outcome,
            }
            if reasons and rid in reasons:
                line["reason"] = reasons[rid]
            if recovered:
                line["recovered"] = True
            if outcome != "failed" and rid in self.archives:
                line["archive"] = self.archives.pop(rid)
            lines.append(json.dumps(line, default=_json_default) + "\n")
        return "".join(lines)

    def unsettled_intents(self) -> dict[str, list[str]]:
        """This task's intents that have no part (file suffix -> ids), oldest first."""
        names = _names(self.run_folder)
        settled = {name[len("part-") : -len(".jsonl")] for name in names if _is_part(name)}
        found: dict[str, list[str]] = {}
        for name in sorted(names):
            if not (name.startswith("intent-") and name.endswith(".json")):
                continue
            suffix = name[len("intent-") : -len(".json")]
            if suffix in settled:
                continue
            with (self.run_folder / name).open("r") as handle:
                text = handle.read()
            try:
                intent = json.loads(text)
            except ValueError:
                # Cut short as it was written (a store without whole writes): its process died
                # before sending the request, so none of its ids went.
                log.warning("Skipping the unreadable intent %s (written by a killed leg)", name)
                continue
            if intent.get("task") == self.task:
                found[suffix] = [str(rid) for rid in intent.get("ids", [])]
        return found

    def recover(self, exists: Callable[[list[str]], set[str]]) -> int:
        """Settle the intents an interrupted leg or try left: one look per intent.

        :param exists: which of some ids still exist (one request: the client's
            ``existing_recording_ids``).
        :return: How many ids were found gone (and recorded deleted).
        """
        gone_total = 0
        for suffix, ids in self.unsettled_intents().items():
            still = exists(ids)
            gone = [rid for rid in ids if rid not in still]
            log.warning(
                "An earlier leg or try stopped after writing its intent to delete %d "
                "recordings and before settling them: %d are gone (recorded deleted), %d "
                "still exist (taken again)",
                len(ids),
                len(gone),
                len(ids) - len(gone),
            )
            self._put(
                f"part-{suffix}.jsonl", self._lines([(rid, "deleted") for rid in gone], None, True)
            )
            gone_total += len(gone)
        return gone_total

    def totals(self, before_this_try: bool = True) -> RunTotals:
        """What this task's record says was settled in the run (by the tries before this one,
        or by every try).

        :param before_this_try: leave out the files this try wrote.
        """
        totals = RunTotals()
        for line in _read_lines(self.run_folder, self.started if before_this_try else None):
            if line.get("task") in (None, self.task):
                totals.add_line(line)
        return totals


def _on_disk(folder: Any) -> bool:
    """Whether ``folder`` is on a local disk (``pathlib.Path``, or ``file``/``local`` URL)."""
    protocol = getattr(folder, "protocol", "")
    if isinstance(protocol, tuple | list):
        protocol = protocol[0] if protocol else ""
    return str(protocol) in ("", "file", "local")


def _names(run_folder: Any) -> list[str]:
    try:
        return [path.name for path in run_folder.iterdir()]
    except (FileNotFoundError, NotADirectoryError):  # object stores: no such "folder"
        return []


def _is_part(name: str) -> bool:
    return name.startswith("part-") and name.endswith(".jsonl")


def _read_lines(run_folder: Any, leave_out: str | None = None) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for name in sorted(_names(run_folder)):
        if not _is_part(name) or (leave_out and name.startswith(f"part-{leave_out}-")):
            continue
        with (run_folder / name).open("r") as handle:
            lines.extend(json.loads(line) for line in handle.read().splitlines() if line.strip())
    return lines


def read_deletion_record(
    folder: RecordPath, run_id: str, every_outcome: bool = False
) -> list[dict[str, Any]]:
    """The lines of the recordings a run deleted, part by part in order (intents are not
    read).

    :param every_outcome: also the lines of ids found already gone or that failed.
    """
    lines = _read_lines(folder / safe_file_name(run_id))
    if every_outcome:
        return lines
    return [line for line in lines if SETTLED_OUTCOMES.get(line.get("outcome", "")) == "deleted"]


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

    With a record, the group's intent is written before any request and its settle part
    after (two writes per group, see :class:`DeletionRecord`).

    ``keep`` checks each recording's current fields just before it is deleted (see
    :meth:`~..recording_deletion.RecordingDeletion.delete_recordings`).
    """
    if record is not None:
        record.write_intent(ids)  # before the request: a crash leaves it to recover()
    result = client.delete_recordings(ids, date_from=date_from, keep=keep)
    ledger.add(result)
    if record is not None:
        record.write(result)
    return result
