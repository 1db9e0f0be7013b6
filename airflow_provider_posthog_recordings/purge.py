"""The retention purge as a plain job over a :class:`PostHogClient` (no Airflow import).

The Airflow operator is a thin wrapper around :func:`run_purge`; the benchmark and the fault
suite run it bare. The job:

1. collects the recordings of protected playlists (named, and pinned ones when asked);
2. lists the window ``[cutoff - 5 years, cutoff]`` (never PostHog's silent 3-day default),
   page by page, and asks the pure :class:`RetentionPolicy` about each recording;
3. writes the ids to delete to a spill file, so memory stays flat however many there are;
4. refuses to start deleting when there are more than ``max_deletions``;
5. deletes in bulk (100 a request) and returns a small manifest.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from airflow_provider_posthog_recordings.client import PostHogClient, chunked
from airflow_provider_posthog_recordings.errors import PostHogConfigError
from airflow_provider_posthog_recordings.models import DeleteResult, Playlist
from airflow_provider_posthog_recordings.policies import (
    LONGEST_RETENTION_DAYS,
    PurgeTally,
    RetentionPolicy,
    check_deletion_cap,
    compute_cutoff,
    validate_max_deletions,
)
from airflow_provider_posthog_recordings.query import RecordingsQuery, encode_date

log = logging.getLogger(__name__)

DEFAULT_MANIFEST_IDS = 1000


@dataclass
class PurgeSettings:
    """What to purge.

    Attributes:
        older_than_days: delete recordings that started more than this many days before
            ``reference``.
        reference: the run's logical end (``data_interval_end``), aware.
        dry_run: decide and report, delete nothing.
        max_deletions: refuse to delete anything when more would go (None: no cap).
        keep_playlists: names or short ids of playlists whose recordings are kept.
        keep_pinned: also keep recordings of every pinned playlist.
        keep_shared: keep recordings whose public sharing is enabled (one extra request per
            candidate).
        query: extra filters that narrow what the policy looks at.
        manifest_ids: how many deleted ids the manifest lists at most.
    """

    older_than_days: int
    reference: datetime
    dry_run: bool = False
    max_deletions: int | None = 1000
    keep_playlists: Sequence[str] = ()
    keep_pinned: bool = True
    keep_shared: bool = False
    query: RecordingsQuery | Mapping[str, Any] | None = None
    manifest_ids: int = DEFAULT_MANIFEST_IDS
    page_size: int | None = None


@dataclass
class _Spill:
    """Ids to delete, on disk rather than in memory."""

    # Closed by run_purge's finally block.
    handle: IO[str] = field(
        default_factory=lambda: tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
    )
    count: int = 0

    def add(self, recording_id: str) -> None:
        self.handle.write(recording_id + "\n")
        self.count += 1

    def __iter__(self) -> Iterator[str]:
        self.handle.flush()
        self.handle.seek(0)
        for line in self.handle:
            if line.strip():
                yield line.strip()

    def close(self) -> None:
        self.handle.close()


def protected_recording_ids(
    client: PostHogClient, keep_playlists: Sequence[str], keep_pinned: bool
) -> tuple[frozenset[str], list[str]]:
    """Ids of recordings in protected playlists, and the names of those playlists.

    Raises:
        PostHogConfigError: a named playlist does not exist, or is a ``filters`` playlist
            (its recordings are a search, not a list that can be protected by id).
    """
    wanted = {name.strip() for name in keep_playlists if name and name.strip()}
    found: set[str] = set()
    protected: set[str] = set()
    names: list[str] = []
    for playlist in client.iter_playlists():
        named = wanted & {playlist.name or "", playlist.derived_name or "", playlist.short_id}
        if playlist.deleted or not (named or (keep_pinned and playlist.pinned)):
            continue
        found.update(named)
        if not playlist.is_collection:
            if named:
                raise PostHogConfigError(
                    f"playlist {_label(playlist)} is a saved search ('filters' type): its "
                    "recordings cannot be protected by id; exclude them with the query instead"
                )
            log.warning("Pinned playlist %s is a saved search; not protecting it", _label(playlist))
            continue
        before = len(protected)
        protected.update(rec.id for rec in client.iter_playlist_recordings(playlist.short_id))
        names.append(playlist.name or playlist.short_id)
        added = len(protected) - before
        log.info("Protecting %d recordings of playlist %s", added, _label(playlist))
    missing = wanted - found
    if missing:
        raise PostHogConfigError(
            f"keep_playlists names playlists that do not exist: {sorted(missing)} (nothing was "
            "deleted; check the names or short ids)"
        )
    return frozenset(protected), names


def _label(playlist: Playlist) -> str:
    return f"{playlist.name or playlist.derived_name!r} ({playlist.short_id})"


def purge_query(settings: PurgeSettings, cutoff: datetime) -> RecordingsQuery:
    """The list query of a purge: the user's filters with an explicit window ending at cutoff."""
    base = RecordingsQuery.parse(settings.query)
    if base.session_ids:
        raise PostHogConfigError(
            "a purge query cannot use session_ids (PostHog ignores the date window with them); "
            "delete explicit ids with PostHogDeleteRecordingsOperator"
        )
    if base.date_to is not None and not isinstance(base.date_to, datetime):
        raise PostHogConfigError(
            f"a purge query's date_to must be an ISO datetime, not {base.date_to!r}: the window "
            "always ends at the cutoff, or earlier when date_to says so"
        )
    earliest = cutoff - timedelta(days=LONGEST_RETENTION_DAYS)
    date_from: Any = base.date_from or encode_date(earliest)
    date_to = encode_date(cutoff)
    if isinstance(base.date_to, datetime) and base.date_to < cutoff:
        date_to = encode_date(base.date_to)
    return base.model_copy(update={"date_from": date_from, "date_to": date_to})


def run_purge(client: PostHogClient, settings: PurgeSettings) -> dict[str, Any]:
    """Run one purge and return its manifest (JSON-able, small).

    Raises:
        PostHogConfigError: bad settings, an unknown protected playlist, or more candidates
            than ``max_deletions`` (in which case nothing was deleted).
    """
    cutoff = compute_cutoff(settings.reference, settings.older_than_days)
    max_deletions = validate_max_deletions(settings.max_deletions)
    query = purge_query(settings, cutoff)
    requests_before = client.request_count
    log.info(
        "Retention purge: recordings that started before %s (%d days before %s)%s",
        cutoff.isoformat(),
        settings.older_than_days,
        settings.reference.isoformat(),
        " [dry run]" if settings.dry_run else "",
    )
    protected, protected_names = protected_recording_ids(
        client, settings.keep_playlists, settings.keep_pinned
    )
    policy = RetentionPolicy(
        cutoff=cutoff, protected_ids=protected, keep_shared=settings.keep_shared
    )
    tally = PurgeTally()
    spill = _Spill()
    try:
        for page_number, page in enumerate(
            client.iter_recording_pages(query, settings.page_size, prefetch=True), start=1
        ):
            for recording in page:
                shared = None
                if policy.needs_sharing_check(recording):
                    shared = client.get_sharing(recording.id).enabled
                decision = policy.decide(recording, shared=shared)
                tally.add(decision)
                if decision.delete:
                    spill.add(recording.id)
            log.info(
                "Listed page %d: %d recordings so far, %d to delete",
                page_number,
                tally.listed,
                tally.candidates,
            )
        log.info(
            "Plan: %d listed, %d to delete, kept %s",
            tally.listed,
            tally.candidates,
            dict(tally.kept) or "none",
        )
        over_cap = max_deletions is not None and tally.candidates > max_deletions
        if not settings.dry_run:
            check_deletion_cap(tally.candidates, max_deletions)
        elif over_cap:
            log.warning(
                "Dry run: %d recordings would go, more than max_deletions=%s: a real run with "
                "this cap would stop before deleting anything",
                tally.candidates,
                max_deletions,
            )
        manifest: dict[str, Any] = {
            "exceeds_max_deletions": over_cap,
            "dry_run": settings.dry_run,
            "cutoff": cutoff.isoformat(),
            "older_than_days": settings.older_than_days,
            "listed": tally.listed,
            "kept": dict(tally.kept),
            "kept_total": sum(tally.kept.values()),
            "protected_playlists": protected_names,
            "candidates": tally.candidates,
        }
        if settings.dry_run:
            sample = [rid for _, rid in zip(range(settings.manifest_ids), spill, strict=False)]
            manifest.update(
                deleted=0,
                already_gone=0,
                failed=0,
                would_delete_ids=sample,
                ids_truncated=tally.candidates > len(sample),
            )
        else:
            deletion = delete_in_chunks(client, spill, spill.count, settings.manifest_ids)
            manifest.update(deletion.summary())
        manifest["requests"] = client.request_count - requests_before
        return manifest
    finally:
        spill.close()


@dataclass
class DeletionTally:
    """Counts of a long deletion, with at most ``cap`` ids kept for the manifest."""

    cap: int
    deleted: int = 0
    already_gone: int = 0
    deleted_ids: list[str] = field(default_factory=list)
    failed_ids: dict[str, str] = field(default_factory=dict)
    failed: int = 0

    def add(self, result: DeleteResult) -> None:
        """Count one chunk's result."""
        self.deleted += len(result.deleted)
        self.already_gone += len(result.already_gone)
        self.failed += len(result.failed)
        room = self.cap - len(self.deleted_ids)
        if room > 0:
            self.deleted_ids.extend(result.deleted[:room])
        for rid, reason in result.failed.items():
            if len(self.failed_ids) < self.cap:
                self.failed_ids[rid] = reason

    @property
    def done(self) -> int:
        """Deleted, already gone or failed so far."""
        return self.deleted + self.already_gone + self.failed

    def summary(self) -> dict[str, Any]:
        """The manifest part of the deletion."""
        return {
            "deleted": self.deleted,
            "already_gone": self.already_gone,
            "failed": self.failed,
            "deleted_ids": self.deleted_ids,
            "ids_truncated": self.deleted > len(self.deleted_ids),
            "failed_ids": self.failed_ids,
        }


DELETE_CHUNK = 1000


def delete_in_chunks(
    client: PostHogClient, ids: Iterable[str], total: int, manifest_ids: int
) -> DeletionTally:
    """Delete ``ids`` (streamed) in chunks, logging progress about every 10%."""
    tally = DeletionTally(cap=manifest_ids)
    step = max(1, total // 10)
    next_report = step
    for chunk in chunked(ids, DELETE_CHUNK):
        tally.add(client.delete_recordings(chunk))
        if tally.done >= next_report or tally.done >= total:
            log.info(
                "Deleted %d/%d (%d already gone, %d failed)",
                tally.done,
                total,
                tally.already_gone,
                tally.failed,
            )
            while next_report <= tally.done:
                next_report += step
    return tally
