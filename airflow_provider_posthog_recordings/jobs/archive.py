"""Archiving recordings to the team's own storage, verified, before anything is deleted.

No Airflow import. Each recording goes to its own folder under the archive's root (a local
``pathlib.Path`` or Airflow's ``ObjectStoragePath``, e.g. ``s3://bucket/posthog``)::

    <root>/<recording id>/snapshots.jsonl   the JSON lines as PostHog served them (lossless)
    <root>/<recording id>/metadata.json     the recording's own answer (person, start, end,
                                            expiry) and the sources listing
    <root>/<recording id>/playback.json     the file PostHog's File playback loads (web only)
    <root>/<recording id>/manifest.json     the entry: counts, sha256 and size of each file

A recording counts as archived only when every file was written, read back with the same
sha256, and the playback file read back passes :func:`.playback.load_problems`; the manifest
entry is written last, so its presence (with files that still match it) is what "archived"
means. Mobile recordings are kept raw only, flagged ``playback: false``.

:func:`run` archives given ids or a query's recordings, budgeted, resumable and deferrable
like the purge: a leg that would wait too long for the budget returns a small state, and an
archive whose entry exists and verifies is never made again. :class:`ArchiveGate` is the
purge's side: it archives a group of candidates and lets only the verified ones be deleted.
:func:`read_archive` reads one back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import (
    PostHogBudgetWait,
    PostHogConfigError,
    PostHogError,
    PostHogGoneError,
    PostHogNotFoundError,
)
from airflow_provider_posthog_recordings.client.models import DeleteResult
from airflow_provider_posthog_recordings.client.query import RecordingsQuery
from airflow_provider_posthog_recordings.client.resources.snapshots import SnapshotDownload
from airflow_provider_posthog_recordings.jobs.deletion import (
    DEFAULT_MANIFEST_IDS,
    JobOutcome,
    RecordPath,
    run_leg,
)
from airflow_provider_posthog_recordings.jobs.playback import (
    build_playback,
    is_mobile,
    load_problems,
    parse_line,
)
from airflow_provider_posthog_recordings.jobs.progress import ARCHIVE_JOB

log = logging.getLogger(__name__)

RAW_FILE = "snapshots.jsonl"
METADATA_FILE = "metadata.json"
PLAYBACK_FILE = "playback.json"
MANIFEST_FILE = "manifest.json"
#: What a download cut by the budget fetched so far (deleted once the archive is made).
PARTIAL_FILE = "partial.json"
#: The fields of the recording's own answer kept in ``metadata.json``.
METADATA_FIELDS = (
    "id",
    "distinct_id",
    "person",
    "start_time",
    "end_time",
    "recording_duration",
    "expiry_time",
    "recording_ttl",
    "retention_period_days",
    "snapshot_source",
    "start_url",
)
ARCHIVED = "archived"
ALREADY_ARCHIVED = "already_archived"
FAILED = "failed"
GONE = "gone"


@dataclass(frozen=True)
class ArchiveResult:
    """What happened to one recording.

    :ivar recording_id: the recording.
    :ivar status: ``archived``, ``already_archived`` (a verified archive was there), ``failed``
        (kept in PostHog; ``reason`` says why) or ``gone`` (404/410: nothing to archive).
    :ivar location: the recording's archive folder.
    :ivar reason: why it failed or is gone.
    :ivar entry: the manifest entry (archived and already archived).
    """

    recording_id: str
    status: str
    location: str
    reason: str | None = None
    entry: dict[str, Any] | None = None

    @property
    def verified(self) -> bool:
        """Whether a verified archive of the recording exists."""
        return self.status in (ARCHIVED, ALREADY_ARCHIVED)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_file_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in text) or "_"


def recording_folder(root: RecordPath, recording_id: str) -> Any:
    """The archive folder of one recording."""
    return root / safe_file_name(recording_id)


def _read(path: Any) -> bytes:
    with path.open("rb") as handle:
        return bytes(handle.read())


def _write(path: Any, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)


def verified_entry(root: RecordPath, recording_id: str) -> dict[str, Any] | None:
    """The recording's manifest entry when it exists and every file still matches it."""
    folder = recording_folder(root, recording_id)
    try:
        entry = json.loads(_read(folder / MANIFEST_FILE))
        files = entry["files"]
        for name, expected in files.items():
            data = _read(folder / name)
            if len(data) != expected["bytes"] or _sha256(data) != expected["sha256"]:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if entry.get("recording_id") != recording_id or entry.get("status") != ARCHIVED:
        return None
    return dict(entry)


def _raw_problems(lines: list[str]) -> list[str]:
    """Lines that are not ``[windowId, event]`` with an integer type and a numeric time."""
    if not lines:
        return ["no snapshot lines"]
    for number, line in enumerate(lines):
        try:
            _, event = parse_line(line)
        except ValueError as exc:
            return [f"line {number}: {exc}"]
        kind, stamp = event.get("type"), event.get("timestamp")
        if not isinstance(kind, int) or isinstance(kind, bool):
            return [f"line {number}: no integer type"]
        if not isinstance(stamp, int | float) or isinstance(stamp, bool):
            return [f"line {number}: no numeric timestamp"]
    return []


def _files(recording_id: str, metadata: dict[str, Any], lines: list[str]) -> dict[str, bytes]:
    """The bytes of each file of one archive; ValueError when they would not verify."""
    problems = _raw_problems(lines)
    if problems:
        raise ValueError("; ".join(problems))
    files = {
        RAW_FILE: ("\n".join(lines) + "\n").encode("utf-8"),
        METADATA_FILE: json.dumps(metadata, sort_keys=True, indent=1).encode("utf-8"),
    }
    if not metadata["mobile"]:
        document = build_playback(recording_id, metadata["recording"].get("person"), lines)
        problems = load_problems(document, len(lines))
        if problems:
            raise ValueError("the playback file would not load: " + "; ".join(problems))
        files[PLAYBACK_FILE] = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return files


def _write_verified(folder: Any, files: dict[str, bytes], raw_lines: int) -> dict[str, Any]:
    """Write the files, read them back, check them; the ``files`` part of the entry."""
    folder.mkdir(parents=True, exist_ok=True)
    described: dict[str, Any] = {}
    for name, data in files.items():
        _write(folder / name, data)
    for name, data in files.items():
        back = _read(folder / name)
        if _sha256(back) != _sha256(data):
            raise ValueError(f"{name} read back differs from what was written")
        described[name] = {"sha256": _sha256(data), "bytes": len(data)}
    if PLAYBACK_FILE in files:
        problems = load_problems(json.loads(_read(folder / PLAYBACK_FILE)), raw_lines)
        if problems:
            raise ValueError("the playback file read back would not load: " + "; ".join(problems))
    return described


#: What must not have changed since an archive was made for it to stand for the recording.
CURRENT_FIELDS = ("start_time", "end_time", "recording_duration")


def _archive_is_current(client: PostHogClient, folder: Any, recording_id: str) -> bool:
    """Whether the recording is as it was when archived (one GET on the key's budget).

    An archive made while the recording was still being recorded lacks what came after:
    before a delete, such an archive is made again.
    """
    archived = json.loads(_read(folder / METADATA_FILE)).get("recording", {})
    now = client.recording_metadata(recording_id)
    changed = [name for name in CURRENT_FIELDS if archived.get(name) != now.get(name)]
    if changed:
        log.info("Recording %s changed since it was archived (%s)", recording_id, changed)
    return not changed


def _guarded(
    recording_id: str, location: str, step: Callable[[], ArchiveResult | None]
) -> ArchiveResult | None:
    """Run ``step``; turn a 404/410 into ``gone`` and any other failure into ``failed``
    (a budget wait goes through: nothing was written)."""
    try:
        return step()
    except PostHogBudgetWait:
        raise
    except (PostHogNotFoundError, PostHogGoneError) as exc:
        return ArchiveResult(recording_id, GONE, location, reason=str(exc))
    except (PostHogError, ValueError, OSError) as exc:
        log.warning("Recording %s not archived: %s", recording_id, exc)
        return ArchiveResult(recording_id, FAILED, location, reason=str(exc)[:500])


class DownloadPaused(PostHogBudgetWait):
    """The budget stopped a recording's download part way: what was fetched is in the
    archive's storage (:data:`PARTIAL_FILE`), and ``partial`` (small: positions and a
    checksum, no bytes) lets a later leg carry on from it.

    :ivar partial: ``{"recording_id", "next_block", "lines", "requests", "sha256"}``.
    """

    def __init__(self, wait_seconds: float, partial: dict[str, Any]) -> None:
        super().__init__(wait_seconds)
        self.partial = partial


def _current(recording: Mapping[str, Any]) -> dict[str, Any]:
    return {name: recording.get(name) for name in CURRENT_FIELDS}


def _save_partial(
    folder: Any, download: SnapshotDownload, recording: Mapping[str, Any]
) -> dict[str, Any]:
    """Write what a cut download fetched to the archive's storage, with the recording's
    fields that must not change before it is carried on; the state that finds it."""
    saved = {"download": download.to_json(), "current": _current(recording)}
    data = json.dumps(saved, separators=(",", ":")).encode("utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / PARTIAL_FILE, data)
    return {
        "recording_id": download.recording_id,
        "next_block": download.next_block,
        "lines": len(download.lines),
        "requests": download.requests,
        "sha256": _sha256(data),
    }


def _load_partial(
    folder: Any,
    recording_id: str,
    partial: Mapping[str, Any] | None,
    recording: Mapping[str, Any],
) -> SnapshotDownload | None:
    """The download a paused leg saved, when it is there, is the one ``partial`` names, and
    the recording has not changed since (else None: it is downloaded again whole)."""
    if not partial or partial.get("recording_id") != recording_id:
        return None
    try:
        data = _read(folder / PARTIAL_FILE)
        if _sha256(data) != partial.get("sha256"):
            raise ValueError("it changed since it was written")
        saved = json.loads(data)
        download = SnapshotDownload.from_json(saved["download"])
        if download.recording_id != recording_id:
            raise ValueError("it is another recording's")
        if saved["current"] != _current(recording):
            raise ValueError("the recording changed since (still being recorded?)")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning(
            "Recording %s: the part downloaded before the pause cannot be read back at %s "
            "(%s): downloading it again from the start",
            recording_id,
            folder / PARTIAL_FILE,
            exc,
        )
        return None
    log.info(
        "Recording %s: carrying on its download from block %d (%d lines kept)",
        recording_id,
        download.next_block,
        len(download.lines),
    )
    return download


def _drop_partial(folder: Any) -> None:
    # Never written, or already gone: nothing depends on it.
    with contextlib.suppress(OSError, ValueError):
        (folder / PARTIAL_FILE).unlink()


def _download(
    client: PostHogClient,
    folder: Any,
    recording: Mapping[str, Any],
    partial: Mapping[str, Any] | None,
) -> SnapshotDownload:
    """The recording's whole download, carried on from ``partial`` when it names one.

    :param recording: the recording's own answer, just read.

    :raises DownloadPaused: the budget stopped it after the sources were listed.
    :raises PostHogBudgetWait: as well, when what was fetched could not be saved.
    """
    recording_id = str(recording["id"])
    download = _load_partial(folder, recording_id, partial, recording)
    carried = download is not None
    if download is None:
        download = client.snapshots.start_download(recording_id)
    try:
        client.snapshots.continue_download(download)
    except PostHogBudgetWait as wait:
        try:
            saved = _save_partial(folder, download, recording)
        except (OSError, ValueError) as exc:
            log.warning(
                "Recording %s: what was downloaded before the pause could not be saved (%s): "
                "the next leg downloads it again",
                recording_id,
                exc,
            )
            raise wait from None
        raise DownloadPaused(wait.wait_seconds, saved) from None
    except BaseException:
        if carried:
            _drop_partial(folder)  # the recording fails: nothing will carry on from it
        raise
    return download


def _make_archive(
    client: PostHogClient,
    folder: Any,
    recording_id: str,
    partial: Mapping[str, Any] | None = None,
) -> ArchiveResult:
    """Fetch, build, write, verify, then write the manifest entry last (raises on failure)."""
    recording = client.recording_metadata(recording_id)
    download = _download(client, folder, recording, partial)
    lines = download.lines
    metadata = {
        "recording_id": recording_id,
        "recording": {k: recording.get(k) for k in METADATA_FIELDS if k in recording},
        "sources": [source.as_json() for source in download.sources],
        "mobile": is_mobile(lines),
    }
    files = _files(recording_id, metadata, lines)
    described = _write_verified(folder, files, len(lines))
    entry = {
        "recording_id": recording_id,
        "status": ARCHIVED,
        "location": str(folder),
        "archived_at": datetime.now(timezone.utc).isoformat(),
        "lines": len(lines),
        "windows": len({parse_line(line)[0] for line in lines}),
        "blocks": len(download.sources),
        "source": download.sources[0].source,
        "refetched_blocks": download.refetched_blocks,
        "snapshot_requests": download.requests,
        "mobile": metadata["mobile"],
        "playback": PLAYBACK_FILE in files,
        "files": described,
    }
    _write(folder / MANIFEST_FILE, json.dumps(entry, indent=1).encode("utf-8"))
    _drop_partial(folder)
    return ArchiveResult(recording_id, ARCHIVED, str(folder), entry=entry)


def archive_recording(
    client: PostHogClient,
    root: RecordPath,
    recording_id: str,
    *,
    recheck: bool = False,
    partial: Mapping[str, Any] | None = None,
) -> ArchiveResult:
    """Archive one recording, unless a verified archive of it exists.

    :param client: the PostHog client.
    :param root: the archive's root.
    :param recording_id: the recording.
    :param recheck: before trusting an existing archive, check (one GET) that the recording has
        not changed since (the purge does, as it deletes next); else no request is sent.
    :param partial: what an earlier leg's :class:`DownloadPaused` said (its download is
        carried on, not made again; ignored when it names another recording).

    :return: What happened: ``archived``, ``already_archived``, ``failed`` or ``gone``.

    :raises DownloadPaused: the budget stopped the download part way (what was fetched is kept
        in the archive's storage, no archive written).
    :raises PostHogBudgetWait: the budget would make the client wait too long before the
        download started (nothing written).
    """
    folder = recording_folder(root, recording_id)
    location = str(folder)

    def existing() -> ArchiveResult | None:
        entry = verified_entry(root, recording_id)
        if entry is None or (recheck and not _archive_is_current(client, folder, recording_id)):
            return None
        return ArchiveResult(recording_id, ALREADY_ARCHIVED, location, entry=entry)

    found = _guarded(recording_id, location, existing)
    if found is not None:
        return found
    made = _guarded(
        recording_id, location, lambda: _make_archive(client, folder, recording_id, partial)
    )
    assert made is not None
    return made


def read_archive(path: RecordPath | str, recording_id: str) -> dict[str, Any]:
    """Read one recording's archive back, checked against its manifest entry.

    :param path: the archive's root (a ``pathlib.Path``, an ``ObjectStoragePath``, or a local
        path as text).
    :param recording_id: the recording.

    :return: ``{"metadata", "manifest", "events", "playback"}``: ``events`` are the raw
        ``[windowId, event]`` pairs in the order PostHog served them; ``playback`` is the
        File playback document, or None for a mobile recording.

    :raises PostHogConfigError: no verified archive of that recording there.
    """
    root: Any = path
    if isinstance(path, str):
        from pathlib import Path

        root = Path(path)
    entry = verified_entry(root, recording_id)
    if entry is None:
        raise PostHogConfigError(f"no verified archive of recording {recording_id} in {path}")
    folder = recording_folder(root, recording_id)
    lines = [line for line in _read(folder / RAW_FILE).decode("utf-8").split("\n") if line]
    playback = json.loads(_read(folder / PLAYBACK_FILE)) if entry["playback"] else None
    return {
        "metadata": json.loads(_read(folder / METADATA_FILE)),
        "manifest": entry,
        "events": [list(parse_line(line)) for line in lines],
        "playback": playback,
    }


@dataclass
class ArchiveLedger:
    """Counts of an archiving run, with at most ``manifest_ids`` ids kept per list."""

    manifest_ids: int = DEFAULT_MANIFEST_IDS
    archived: int = 0
    already_archived: int = 0
    failed: int = 0
    gone: int = 0
    mobile_raw_only: int = 0
    archived_ids: list[str] = field(default_factory=list)
    failed_ids: dict[str, str] = field(default_factory=dict)
    gone_ids: list[str] = field(default_factory=list)
    # Archived by this run and not yet deleted (the purge): not counted again when met.
    carried: list[str] = field(default_factory=list)
    # The download a budget wait cut (:class:`DownloadPaused`), carried on by the next leg.
    partial: dict[str, Any] | None = None
    # Snapshots requests and recordings downloaded whole by this run (for estimates).
    snapshot_requests: int = 0
    downloads: int = 0

    def add(self, result: ArchiveResult) -> None:
        """Count one recording's result (a recording this run archived already, met again by
        a later leg, is not counted again, even when its archive had to be made again)."""
        rid = result.recording_id
        if self.partial is not None and self.partial.get("recording_id") == rid:
            self.partial = None
        if result.status == ARCHIVED and result.entry:
            self.snapshot_requests += int(result.entry.get("snapshot_requests") or 0)
            self.downloads += 1
        if result.verified and rid in self.carried:
            self.carried.remove(rid)
            return
        if result.status in (ARCHIVED, ALREADY_ARCHIVED):
            if result.status == ARCHIVED:
                self.archived += 1
            else:
                self.already_archived += 1
            if result.entry and result.entry.get("mobile"):
                self.mobile_raw_only += 1
            if len(self.archived_ids) < self.manifest_ids:
                self.archived_ids.append(rid)
        elif result.status == FAILED:
            self.failed += 1
            if len(self.failed_ids) < self.manifest_ids:
                self.failed_ids[rid] = result.reason or "unknown"
        else:
            self.gone += 1
            if len(self.gone_ids) < self.manifest_ids:
                self.gone_ids.append(rid)

    def to_state(self) -> dict[str, Any]:
        """JSON-able state, to carry across a deferral."""
        return {
            "manifest_ids": self.manifest_ids,
            "archived": self.archived,
            "already_archived": self.already_archived,
            "failed": self.failed,
            "gone": self.gone,
            "mobile_raw_only": self.mobile_raw_only,
            "archived_ids": list(self.archived_ids),
            "failed_ids": dict(self.failed_ids),
            "gone_ids": list(self.gone_ids),
            "carried": list(self.carried),
            "partial": self.partial,
            "snapshot_requests": self.snapshot_requests,
            "downloads": self.downloads,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None, manifest_ids: int) -> ArchiveLedger:
        """The ledger :meth:`to_state` described (a new one for None)."""
        if not state:
            return cls(manifest_ids=manifest_ids)
        return cls(**dict(state))

    def paused(self, wait: PostHogBudgetWait, recording_id: str) -> None:
        """Remember the download of ``recording_id`` a budget wait cut; a wait before its
        download went on (e.g. at its own answer) keeps the part fetched before."""
        if isinstance(wait, DownloadPaused):
            self.partial = wait.partial
        else:
            self.partial = self.partial_for(recording_id)

    def partial_for(self, recording_id: str) -> dict[str, Any] | None:
        """The cut download of ``recording_id`` to carry on, if any."""
        partial = self.partial
        return partial if partial and partial.get("recording_id") == recording_id else None

    def log_done(self, root: RecordPath) -> None:
        """The line that says what the run archived, and where."""
        log.info(
            "Archived %d recordings to %s (%d already there, %d failed and kept, %d gone)",
            self.archived,
            root,
            self.already_archived,
            self.failed,
            self.gone,
        )

    def summary(self, root: RecordPath) -> dict[str, Any]:
        """The manifest part of the archive (``archive_path`` + ``/<id>`` is each one)."""
        return {
            "archive_path": str(root),
            "archived": self.archived,
            "already_archived": self.already_archived,
            "archive_failed": self.failed,
            "archive_gone": self.gone,
            "mobile_raw_only": self.mobile_raw_only,
            "archived_ids": list(self.archived_ids),
            "archive_failed_ids": dict(self.failed_ids),
            "archive_gone_ids": list(self.gone_ids),
        }


# ---------------------------------------------------------------- the purge's gate


@dataclass
class GateResult:
    """One group through the gate.

    :ivar verified: ids with a verified archive: these may be deleted.
    :ivar waiting: ids not tried because the budget would make the client wait too long.
    :ivar wait_seconds: that wait, or None.
    :ivar gate: the gate (None: no archive asked for, every id passes).
    """

    verified: list[str]
    waiting: list[str]
    wait_seconds: float | None = None
    gate: ArchiveGate | None = None

    def settle(self, result: DeleteResult) -> None:
        """Fold the gate's waiting ids into the deletion's ``unsent`` (in place), so that a
        paused purge carries them on; archived ids left undeleted are counted once."""
        if self.gate is not None:
            self.gate.not_deleted(self.verified, result.unsent)
        if self.waiting:
            result.unsent.extend(self.waiting)
            result.wait_seconds = max(result.wait_seconds or 0.0, self.wait_seconds or 0.0)


class ArchiveGate:
    """Archives each candidate of a purge first; only verified ones may be deleted.

    :param root: the archive's root.
    :param ledger: the run's archive counts (carried across deferrals by the purge's state).
    """

    def __init__(self, root: RecordPath, ledger: ArchiveLedger) -> None:
        self.root = root
        self.ledger = ledger

    def filter(self, client: PostHogClient, ids: Sequence[str]) -> GateResult:
        """Archive ``ids`` in order; stop at the first one the budget does not allow now."""
        verified: list[str] = []
        for position, rid in enumerate(ids):
            if rid in self.ledger.failed_ids:
                continue  # failed earlier in this run: kept, counted once
            try:
                result = archive_recording(
                    client,
                    self.root,
                    rid,
                    recheck=True,
                    partial=self.ledger.partial_for(rid),
                )
            except PostHogBudgetWait as wait:
                self.ledger.paused(wait, rid)
                return GateResult(verified, list(ids[position:]), wait.wait_seconds, self)
            self.ledger.add(result)
            if result.verified:
                verified.append(rid)
        return GateResult(verified, [], gate=self)

    def not_deleted(self, verified: Sequence[str], unsent: Sequence[str]) -> None:
        """Remember archived ids whose deletion waits for a later leg (counted once)."""
        left = set(unsent)
        self.ledger.carried.extend(rid for rid in verified if rid in left)

    def locations(self, ids: Sequence[str]) -> dict[str, str]:
        """Where each recording's archive is."""
        return {rid: str(recording_folder(self.root, rid)) for rid in ids}


def purge_gate(
    root: RecordPath | None, carried: Mapping[str, Any] | None, manifest_ids: int
) -> ArchiveGate | None:
    """The gate of a purge that archives first (None when it does not)."""
    if root is None:
        return None
    return ArchiveGate(root, ArchiveLedger.from_state(carried, manifest_ids))


def archive_first(
    client: PostHogClient, gate: ArchiveGate | None, ids: Sequence[str], record: Any = None
) -> GateResult:
    """The ids of a purge's group that may be deleted: all without a gate, else the ones
    whose archive was verified (their locations go to the durable ``record``)."""
    if gate is None:
        return GateResult(list(ids), [])
    passed = gate.filter(client, ids)
    if record is not None:
        record.archives.update(gate.locations(passed.verified))
    return passed


def finish_purge_leg(gate: ArchiveGate | None, outcome: JobOutcome) -> JobOutcome:
    """Carry the archive counts in a paused purge's state, or put them in its manifest
    (``outcome``, changed in place, is returned)."""
    if gate is None:
        return outcome
    if outcome.state is not None:
        outcome.state["archive"] = gate.ledger.to_state()
    elif not outcome.paused:
        outcome.manifest.update(gate.ledger.summary(gate.root))
        gate.ledger.log_done(gate.root)
        if gate.ledger.failed:
            log.warning(
                "%d recordings were not archived and were kept: %s",
                gate.ledger.failed,
                gate.ledger.failed_ids,
            )
    return outcome


# ---------------------------------------------------------------- the archive job


@dataclass
class ArchiveSettings:
    """What to archive.

    :ivar path: the archive's root (``pathlib.Path`` or ``ObjectStoragePath``).
    :ivar recording_ids: archive these (or, when empty, the recordings of ``query``).
    :ivar query: the recordings to archive when no ids are given (give ``date_from``).
    :ivar max_recordings: refuse a query that matches more than this (None: no cap).
    :ivar manifest_ids: at most this many ids per list in the manifest.
    """

    path: RecordPath
    recording_ids: Sequence[str] = ()
    query: RecordingsQuery | Mapping[str, Any] | None = None
    max_recordings: int | None = 1000
    manifest_ids: int = DEFAULT_MANIFEST_IDS


def _select(client: PostHogClient, settings: ArchiveSettings) -> list[str]:
    """The ids to archive: the given ones, or the query's (capped)."""
    if settings.recording_ids:
        return list(dict.fromkeys(settings.recording_ids))
    if settings.query is None:
        raise PostHogConfigError("give recording_ids or a query of the recordings to archive")
    cap = settings.max_recordings
    limit = None if cap is None else cap + 1
    ids = [rec.id for rec in client.iter_recordings(settings.query, max_results=limit)]
    if cap is not None and len(ids) > cap:
        raise PostHogConfigError(
            f"more than {cap} recordings match the query: nothing was archived. Narrow the "
            "query or raise max_recordings"
        )
    return ids


def run(
    client: PostHogClient, settings: ArchiveSettings, state: dict[str, Any] | None = None
) -> JobOutcome:
    """Run one leg of an archiving job: all of it, or until the budget makes it pause.

    :param client: the PostHog client (its ``max_budget_wait`` decides when to pause).
    :param settings: what to archive, and where.
    :param state: the state of the paused leg before, to carry on from.

    :return: The outcome: the manifest (counts, ids, ``archive_path``, ``requests``, ``legs``),
        or the wait and the state to resume with.
    """
    state = dict(state or {})
    leg = int(state.get("leg", 0)) + 1
    ledger = ArchiveLedger.from_state(state.get("ledger"), settings.manifest_ids)

    def pause(wait: float, pending: list[str] | None) -> JobOutcome:
        paused: dict[str, Any] = {"job": ARCHIVE_JOB, "leg": leg, "ledger": ledger.to_state()}
        log.info("Archiving pauses for %.0f s (the key's budget), leg %d", wait, leg)
        if pending is None:
            return JobOutcome({"paused": True}, wait, paused)
        paused["pending"] = pending
        done = ledger.archived + ledger.already_archived + ledger.failed + ledger.gone
        return JobOutcome({"paused": True}, wait, paused, settled=done, planned=done + len(pending))

    def one_leg() -> JobOutcome:
        pending: list[str] | None = state.get("pending")
        if pending is None:
            try:
                pending = _select(client, settings)
            except PostHogBudgetWait as wait:
                return pause(wait.wait_seconds, None)
        for position, rid in enumerate(pending):
            try:
                result = archive_recording(
                    client, settings.path, rid, partial=ledger.partial_for(rid)
                )
            except PostHogBudgetWait as wait:
                ledger.paused(wait, rid)
                return pause(wait.wait_seconds, pending[position:])
            ledger.add(result)
        ledger.log_done(settings.path)
        return JobOutcome({**ledger.summary(settings.path), "legs": leg})

    outcome, requests = run_leg(client, state, one_leg)
    if outcome.state is None:
        outcome.manifest["requests"] = requests
    return outcome
