"""Operators on session recordings: list, mark viewed, share, delete, purge by retention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_posthog_recordings.errors import PostHogConfigError, PostHogError
from airflow_provider_posthog_recordings.operators.base import (
    PostHogBaseOperator,
    as_id_list,
    run_reference_time,
)
from airflow_provider_posthog_recordings.policies import (
    LONGEST_RETENTION_DAYS,
    check_deletion_cap,
    validate_max_deletions,
    validate_older_than_days,
)
from airflow_provider_posthog_recordings.purge import (
    DEFAULT_MANIFEST_IDS,
    PurgeSettings,
    delete_in_chunks,
    run_purge,
)
from airflow_provider_posthog_recordings.query import RecordingsQuery, encode_date, query_as_dict

if TYPE_CHECKING:
    from airflow.sdk import Context

QueryArg = RecordingsQuery | Mapping[str, Any] | None

#: Default cap on what the list operator returns: XComs must stay small.
DEFAULT_MAX_RESULTS = 10_000


def _warn_if_no_window(operator: PostHogBaseOperator, query: RecordingsQuery) -> None:
    if query.date_from is None and not query.session_ids:
        operator.log.warning(
            "The query has no date_from: PostHog then only looks at the last 3 days"
        )


class PostHogListRecordingsOperator(PostHogBaseOperator):
    """List recordings matching a query and return their ids (or a few chosen fields).

    Args:
        query: a :class:`RecordingsQuery` or dict of API parameters (templated). Give
            ``date_from``: without it PostHog only looks at the last 3 days.
        max_results: stop after this many (default 10,000; XComs must stay small).
        fields: return dicts with these recording fields (plus ``id``) instead of bare ids.
        batch_size: return a list of batches of this size, for ``.expand()`` downstream.
        posthog_conn_id: the PostHog connection.

    Returns:
        ``["id", ...]``, or ``[{"id": ..., field: ...}, ...]`` with ``fields``, or a list of
        such lists with ``batch_size``.
    """

    template_fields: Sequence[str] = ("query", "max_results", "fields")
    ui_color = "#f9bd38"

    def __init__(
        self,
        *,
        query: QueryArg = None,
        max_results: int | str | None = DEFAULT_MAX_RESULTS,
        fields: Sequence[str] | None = None,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if batch_size is not None and batch_size < 1:
            raise PostHogConfigError("batch_size must be at least 1")
        self.query = query_as_dict(query)
        self.max_results = max_results
        self.fields = list(fields) if fields else None
        self.batch_size = batch_size

    def run(self, context: Context) -> list[Any]:
        query = RecordingsQuery.parse(self.query)
        _warn_if_no_window(self, query)
        limit = None if self.max_results is None else int(self.max_results)
        client = self.hook.get_client()
        include = {"id", *self.fields} if self.fields else None
        items: list[Any] = []
        for recording in client.iter_recordings(query, max_results=limit):
            if include is None:
                items.append(recording.id)
            else:
                items.append(recording.model_dump(mode="json", include=include))
        if limit is not None and len(items) >= limit:
            self.log.warning("Stopped at max_results=%d recordings; more may match", limit)
        self.log.info("Listed %d recordings in %d requests", len(items), client.request_count)
        if self.batch_size:
            return [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        return items


class PostHogMarkRecordingsViewedOperator(PostHogBaseOperator):
    """Mark recordings as viewed by the key's owner (20 per request where bulk is allowed).

    Args:
        recording_ids: ids to mark (templated; a list or comma-separated text).
        query: or mark the recordings matching this query (templated).
        max_recordings: cap on recordings taken from ``query``.
        posthog_conn_id: the PostHog connection.

    Returns:
        The number of recordings PostHog marked.
    """

    template_fields: Sequence[str] = ("recording_ids", "query")

    def __init__(
        self,
        *,
        recording_ids: Sequence[str] | str | None = None,
        query: QueryArg = None,
        max_recordings: int | None = DEFAULT_MAX_RESULTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if recording_ids is None and query is None:
            raise PostHogConfigError("give recording_ids or query")
        self.recording_ids = recording_ids
        self.query = query_as_dict(query)
        self.max_recordings = max_recordings

    def run(self, context: Context) -> int:
        client = self.hook.get_client()
        ids = as_id_list(self.recording_ids, "recording_ids")
        if self.query is not None:
            query = RecordingsQuery.parse(self.query)
            _warn_if_no_window(self, query)
            ids.extend(r.id for r in client.iter_recordings(query, max_results=self.max_recordings))
        marked = client.mark_viewed(ids)
        self.log.info("Marked %d of %d recordings viewed", marked, len(set(ids)))
        return marked


class PostHogShareRecordingsOperator(PostHogBaseOperator):
    """Enable (or revoke) public sharing of recordings.

    Shared recordings are kept one year by PostHog regardless of the project's retention.

    Args:
        recording_ids: ids to share (templated; a list or comma-separated text).
        enabled: True to share, False to revoke.
        posthog_conn_id: the PostHog connection.

    Returns:
        ``{recording_id: share_url}`` (``None`` for revoked links).
    """

    template_fields: Sequence[str] = ("recording_ids",)

    def __init__(
        self, *, recording_ids: Sequence[str] | str, enabled: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.recording_ids = recording_ids
        self.enabled = enabled

    def run(self, context: Context) -> dict[str, str | None]:
        client = self.hook.get_client()
        links: dict[str, str | None] = {}
        for rid in as_id_list(self.recording_ids, "recording_ids"):
            config = client.enable_sharing(rid) if self.enabled else client.disable_sharing(rid)
            links[rid] = config.share_url
        self.log.info(
            "%s sharing of %d recordings", "Enabled" if self.enabled else "Revoked", len(links)
        )
        return links


class PostHogDeleteRecordingsOperator(PostHogBaseOperator):
    """Delete recordings permanently: given ids, or every recording of some people (erasure).

    For an erasure request give ``distinct_ids``: the operator lists that person's
    recordings over a window reaching back past PostHog's longest retention (5 years),
    deletes them, and lists again to confirm none is left.

    Args:
        recording_ids: ids to delete (templated).
        distinct_ids: delete every recording of these distinct ids (templated).
        dry_run: report what would be deleted, delete nothing.
        max_deletions: refuse to delete anything when more would go (None: no cap).
        posthog_conn_id: the PostHog connection.

    Returns:
        A manifest: ``requested``, ``deleted``, ``already_gone``, ``failed``, ``remaining``
        (erasure only), ``deleted_ids`` (capped) and ``dry_run``.
    """

    template_fields: Sequence[str] = ("recording_ids", "distinct_ids", "max_deletions")

    def __init__(
        self,
        *,
        recording_ids: Sequence[str] | str | None = None,
        distinct_ids: Sequence[str] | str | None = None,
        dry_run: bool = False,
        max_deletions: int | str | None = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if recording_ids is None and distinct_ids is None:
            raise PostHogConfigError("give recording_ids or distinct_ids")
        if not isinstance(max_deletions, str):
            validate_max_deletions(max_deletions)
        self.recording_ids = recording_ids
        self.distinct_ids = distinct_ids
        # Not `self.dry_run`: that name is BaseOperator.dry_run(), which Airflow calls.
        self.is_dry_run = dry_run
        self.max_deletions = max_deletions

    @staticmethod
    def _person_query(distinct_ids: list[str]) -> RecordingsQuery:
        """Every recording of these people that PostHog can still hold, up to now."""
        earliest = datetime.now(timezone.utc) - timedelta(days=LONGEST_RETENTION_DAYS)
        return RecordingsQuery(distinct_ids=distinct_ids, date_from=encode_date(earliest))

    def run(self, context: Context) -> dict[str, Any]:
        client = self.hook.get_client()
        cap = validate_max_deletions(self.max_deletions)
        ids = as_id_list(self.recording_ids, "recording_ids")
        people = as_id_list(self.distinct_ids, "distinct_ids")
        if not ids and not people:
            raise PostHogConfigError("nothing to delete: recording_ids and distinct_ids are empty")
        if people:
            found = [r.id for r in client.iter_recordings(self._person_query(people))]
            self.log.info("Found %d recordings of %d distinct ids", len(found), len(people))
            ids = list(dict.fromkeys([*ids, *found]))
        check_deletion_cap(len(ids), cap)
        manifest: dict[str, Any] = {"dry_run": self.is_dry_run, "requested": len(ids)}
        if self.is_dry_run:
            self.log.info("Dry run: would delete %d recordings", len(ids))
            manifest["would_delete_ids"] = ids[:DEFAULT_MANIFEST_IDS]
            return manifest
        tally = delete_in_chunks(client, ids, len(ids), DEFAULT_MANIFEST_IDS)
        manifest.update(tally.summary())
        if people:
            left = [r.id for r in client.iter_recordings(self._person_query(people))]
            manifest["remaining"] = len(left)
            if left:
                raise PostHogError(
                    f"{len(left)} recordings of {people} are still there after deletion "
                    f"(e.g. {left[:5]}); rerun the task"
                )
        if tally.failed:
            raise PostHogError(
                f"{tally.failed} recordings could not be deleted: {tally.failed_ids}"
            )
        self.log.info("Deleted %d recordings (%d already gone)", tally.deleted, tally.already_gone)
        return manifest


class PostHogPurgeRecordingsOperator(PostHogBaseOperator):
    """Delete recordings older than a retention period, keeping protected ones.

    The cutoff is ``older_than_days`` before the run's ``data_interval_end`` (now when the
    run has none), so reruns and backfills decide the same way. The listing always sends an
    explicit window ending at the cutoff (never PostHog's silent 3-day default), and each
    recording's ``start_time`` is checked again before it is deleted: one without a start
    time, or not older than the cutoff, is never deleted.

    Args:
        older_than_days: the retention period in days, at least 1 (templated).
        dry_run: decide and report, delete nothing (templated; stored as ``is_dry_run``).
        max_deletions: when more recordings would go, fail before deleting anything
            (templated; None: no cap).
        keep_playlists: names or short ids of playlists whose recordings are kept
            (templated). An unknown name fails the task.
        keep_pinned: keep the recordings of every pinned playlist.
        keep_shared: keep publicly shared recordings (one extra request per candidate).
        query: extra filters narrowing what is purged (templated).
        manifest_ids: at most this many ids in the manifest.
        posthog_conn_id: the PostHog connection.

    Returns:
        A manifest: ``cutoff``, ``listed``, ``kept`` (by reason), ``candidates``,
        ``deleted``, ``already_gone``, ``failed``, ``deleted_ids`` (capped; ``ids_truncated``
        says when cut), ``requests``, ``dry_run``.
    """

    template_fields: Sequence[str] = (
        "older_than_days",
        "is_dry_run",
        "max_deletions",
        "keep_playlists",
        "query",
    )
    ui_color = "#e8575c"

    def __init__(
        self,
        *,
        older_than_days: int | str,
        dry_run: bool | str = False,
        max_deletions: int | str | None = 1000,
        keep_playlists: Sequence[str] | None = None,
        keep_pinned: bool = True,
        keep_shared: bool = False,
        query: QueryArg = None,
        manifest_ids: int = DEFAULT_MANIFEST_IDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not _is_template(older_than_days):
            validate_older_than_days(older_than_days)
        if not _is_template(max_deletions):
            validate_max_deletions(max_deletions)
        if not _is_template(query):
            RecordingsQuery.parse(query)
        self.older_than_days = older_than_days
        # Not `self.dry_run`: that name is BaseOperator.dry_run(), which Airflow calls.
        self.is_dry_run = dry_run
        self.max_deletions = max_deletions
        self.keep_playlists = list(keep_playlists or [])
        self.keep_pinned = keep_pinned
        self.keep_shared = keep_shared
        self.query = query_as_dict(query)
        self.manifest_ids = manifest_ids

    def run(self, context: Context) -> dict[str, Any]:
        settings = PurgeSettings(
            older_than_days=validate_older_than_days(self.older_than_days),
            reference=run_reference_time(context),
            dry_run=_as_bool(self.is_dry_run, "dry_run"),
            max_deletions=validate_max_deletions(self.max_deletions),
            keep_playlists=as_id_list(self.keep_playlists, "keep_playlists"),
            keep_pinned=self.keep_pinned,
            keep_shared=self.keep_shared,
            query=self.query,
            manifest_ids=self.manifest_ids,
        )
        manifest = run_purge(self.hook.get_client(), settings)
        self.log.info(
            "Purge %s: listed %d, candidates %d, deleted %d, already gone %d, failed %d, "
            "kept %s, %d requests",
            "dry run" if settings.dry_run else "done",
            manifest["listed"],
            manifest["candidates"],
            manifest["deleted"],
            manifest["already_gone"],
            manifest["failed"],
            manifest["kept"],
            manifest["requests"],
        )
        if manifest["failed"]:
            ti = context.get("ti") if hasattr(context, "get") else None
            if ti is not None:
                ti.xcom_push(key="manifest", value=manifest)
            raise PostHogError(
                f"{manifest['failed']} recordings could not be deleted "
                f"({manifest['failed_ids']}); the manifest is in XCom 'manifest'. A rerun "
                "retries them"
            )
        return manifest


def _is_template(value: Any) -> bool:
    """True when ``value`` (or anything inside it) holds a Jinja template to render later."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(_is_template(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_is_template(item) for item in value)
    return False


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", "none", ""):
        return False
    raise PostHogConfigError(f"{name} must be true or false, not {value!r}")
