"""Operators that read and mark recordings: list, mark viewed, share.

Each ``__init__`` only stores its arguments (Airflow renders templates after it); values are
checked and converted in ``execute``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_posthog_recordings.client.errors import (
    PostHogConfigError,
    PostHogRecordingsMissingError,
)
from airflow_provider_posthog_recordings.client.query import RecordingsQuery
from airflow_provider_posthog_recordings.jobs.arguments import as_bool, as_id_list, as_optional_int
from airflow_provider_posthog_recordings.operators.base import PostHogBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

QueryArg = RecordingsQuery | Mapping[str, Any] | str | None

#: Default cap on what the list operator returns: XComs must stay small.
DEFAULT_MAX_RESULTS = 10_000


#: At most this many share links are logged (all of them are in the XCom).
LINKS_IN_LOG = 20


class PostHogListRecordingsOperator(PostHogBaseOperator):
    """List recordings matching a query and return their ids (or a few chosen fields).

    :param query: a :class:`RecordingsQuery` or dict of API parameters (templated). Give
        ``date_from``: without it PostHog only looks at the last 3 days.
    :param max_results: stop after this many (templated; default 10,000: XComs must stay small).
    :param fields: return dicts with these recording fields (plus ``id``) instead of bare ids.
    :param batch_size: return a list of batches of this size, for ``.expand()`` downstream.
    :param posthog_conn_id: the PostHog connection.

    :return: ``["id", ...]``, or ``[{"id": ..., field: ...}, ...]`` with ``fields``, or a list of
        such lists with ``batch_size``.
    """

    template_fields: Sequence[str] = (
        "query",
        "max_results",
        "fields",
        "batch_size",
        "posthog_conn_id",
    )
    template_fields_renderers = {"query": "json"}

    def __init__(
        self,
        *,
        query: QueryArg = None,
        max_results: int | str | None = DEFAULT_MAX_RESULTS,
        fields: Sequence[str] | None = None,
        batch_size: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.max_results = max_results
        self.fields = fields
        self.batch_size = batch_size

    def run_job(self, context: Context) -> list[Any]:
        query = RecordingsQuery.parse(self.query)
        self.warn_if_no_window(query)
        limit = as_optional_int(self.max_results, "max_results")
        batch_size = as_optional_int(self.batch_size, "batch_size", minimum=1)
        fields = as_id_list(self.fields, "fields")
        client = self.hook.get_client()
        include = {"id", *fields} if fields else None
        items: list[Any] = []
        for recording in client.iter_recordings(query, max_results=limit):
            if include is None:
                items.append(recording.id)
            else:
                items.append(recording.model_dump(mode="json", include=include))
        if limit is not None and len(items) >= limit:
            self.log.warning("Stopped at max_results=%d recordings; more may match", limit)
        self.log.info("Listed %d recordings in %d requests", len(items), client.request_count)
        if batch_size:
            return [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
        return items


class PostHogMarkRecordingsViewedOperator(PostHogBaseOperator):
    """Mark recordings as viewed by the key's owner.

    20 per request where the server allows bulk actions; PostHog Cloud refuses them to
    personal API keys, so there it is one request per recording.

    :param recording_ids: ids to mark (templated; a list or comma-separated text).
    :param query: or mark the recordings matching this query (templated).
    :param max_recordings: cap on recordings taken from ``query`` (templated).
    :param posthog_conn_id: the PostHog connection.

    :return: The number of recordings marked.
    """

    template_fields: Sequence[str] = ("recording_ids", "query", "max_recordings", "posthog_conn_id")
    template_fields_renderers = {"query": "json"}

    def __init__(
        self,
        *,
        recording_ids: Sequence[str] | str | None = None,
        query: QueryArg = None,
        max_recordings: int | str | None = DEFAULT_MAX_RESULTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.recording_ids = recording_ids
        self.query = query
        self.max_recordings = max_recordings

    def run_job(self, context: Context) -> int:
        if self.recording_ids is None and self.query is None:
            raise PostHogConfigError("give recording_ids or query")
        ids = as_id_list(self.recording_ids, "recording_ids")
        limit = as_optional_int(self.max_recordings, "max_recordings")
        client = self.hook.get_client()
        if self.query is not None:
            query = RecordingsQuery.parse(self.query)
            self.warn_if_no_window(query)
            ids.extend(r.id for r in client.iter_recordings(query, max_results=limit))
        marked = client.mark_viewed(ids)
        self.log.info("Marked %d of %d recordings viewed", marked, len(set(ids)))
        return marked


class PostHogShareRecordingsOperator(PostHogBaseOperator):
    """Enable (or revoke) public sharing of recordings.

    PostHog's sharing endpoints answer "shared" even for recordings that do not exist, so the
    ids are checked first (one request per 500) and the task fails, before sharing anything,
    when some do not exist. Shared recordings are kept one year by PostHog regardless of the
    project's retention.

    :param recording_ids: ids to share (templated; a list or comma-separated text).
    :param enabled: True to share, False to revoke (templated).
    :param posthog_conn_id: the PostHog connection.

    :return: ``{recording_id: share_url}`` (``None`` for revoked links).
    """

    template_fields: Sequence[str] = ("recording_ids", "enabled", "posthog_conn_id")

    def __init__(
        self, *, recording_ids: Sequence[str] | str, enabled: bool | str = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.recording_ids = recording_ids
        self.enabled = enabled

    def run_job(self, context: Context) -> dict[str, str | None]:
        ids = as_id_list(self.recording_ids, "recording_ids")
        enabled = as_bool(self.enabled, "enabled")
        client = self.hook.get_client()
        if enabled:
            existing = client.recordings.existing_recording_ids(ids)
            missing = [rid for rid in ids if rid not in existing]
            if missing:
                raise PostHogRecordingsMissingError(
                    f"recordings {missing[:10]} do not exist: nothing was shared; check the ids "
                    "(PostHog would have made links to nothing)",
                    missing,
                )
        links: dict[str, str | None] = {}
        for rid in ids:
            config = client.enable_sharing(rid) if enabled else client.disable_sharing(rid)
            links[rid] = config.share_url
        self.log.info(
            "%s sharing of %d recordings", "Enabled" if enabled else "Revoked", len(links)
        )
        shared = [(rid, url) for rid, url in links.items() if url]
        for rid, url in shared[:LINKS_IN_LOG]:  # bare URLs, so the log view links them
            self.log.info("Recording %s is shared at %s", rid, url)
        if len(shared) > LINKS_IN_LOG:
            self.log.info("... and %d more links (all in the XCom)", len(shared) - LINKS_IN_LOG)
        return links
