"""Endpoints under ``session_recordings/``: list, one recording, bulk actions."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from .context import RequestContext
from .recording_query import query_page
from .responses import ApiError, Response, not_found, server_error, validation_error
from .schema_check import check_list_query
from .state import RETENTION_PERIOD_DAYS
from .timeutil import parse_date_param

REPEATED_ITEMS = 2
LIST_VERSION = 4


def recordings_page(
    ctx: RequestContext,
    params: dict[str, str],
    *,
    only_ids: Collection[str] | None = None,
    paginate: bool = True,
    max_rows: int | None = None,
) -> dict[str, Any]:
    """A recordings-list body (``results``, ``has_next``, ``next_cursor``, ``version``).

    ``only_ids`` limits it to those recordings, date window ignored (playlist items);
    without ``paginate`` every match is answered at once, at most ``max_rows`` of them.
    """
    state = ctx.state
    user_id = ctx.user.id

    def is_viewed(record: dict[str, Any], anyone: bool) -> bool:
        viewers = state.viewed_by.get(record["id"], set())
        return bool(viewers) if anyone else user_id in viewers

    page = query_page(
        state.recordings,
        params,
        now=ctx.now,
        is_viewed=is_viewed,
        offset_only=ctx.config.offset_only,
        index=ctx.index,
        version=state.version,
        only_ids=only_ids,
        tz=ctx.config.project_timezone,
        paginate=paginate,
    )
    results = [ctx.serialize(record) for record in page.records[:max_rows]]
    served = list(results)
    # Repeats come from the previous page of the same listing (same path and filters), as
    # with a real server: never from another query.
    listing = " ".join(
        [ctx.key.key, ctx.path]
        + [f"{k}={v}" for k, v in sorted(params.items()) if k not in ("limit", "offset", "after")]
    )
    if ctx.repeat_items:
        results = state.last_pages.get(listing, [])[:REPEATED_ITEMS] + results
    state.last_pages[listing] = served
    body: dict[str, Any] = {"results": results, "has_next": page.has_next}
    if page.next_cursor is not None:
        body["next_cursor"] = page.next_cursor
    body["version"] = LIST_VERSION
    return body


def list_recordings(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``GET session_recordings/``: the query checked as PostHog's ``RecordingsQuery`` first."""
    check_list_query(ctx.query, ctx.config.posthog_schema)
    return Response(200, recordings_page(ctx, ctx.query))


def _existing(ctx: RequestContext, recording_id: str) -> dict[str, Any]:
    record = ctx.state.existing(recording_id)
    if record is None:
        raise not_found("Recording not found")
    return record


def get_recording(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``GET session_recordings/{id}/``."""
    return Response(200, ctx.serialize(_existing(ctx, params["recording_id"])))


def patch_recording(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``PATCH session_recordings/{id}/``: ``viewed`` and/or ``analyzed`` must be true."""
    record = _existing(ctx, params["recording_id"])
    body = ctx.body_object()
    viewed = body.get("viewed") is True
    analyzed = body.get("analyzed") is True
    if not viewed and not analyzed:
        raise validation_error("Either viewed or analyzed must be true")
    if viewed:
        ctx.state.mark_viewed(record["id"], ctx.user.id)
    return Response(200, {"success": True})


def _recording_api_failure() -> Response:
    return ApiError(
        500,
        "server_error",
        "recording_api_failure",
        "Failed to delete the recording: the recording API did not answer (emulated fault)",
    ).to_response()


def delete_recording(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``DELETE session_recordings/{id}/``: 204, then the configured "missing" answer.

    A ``recording_api_failure`` fault answers 500 without deleting.
    """
    if ctx.recording_api_fails:
        return _recording_api_failure()
    if ctx.state.remove_recording(params["recording_id"]):
        ctx.state.deleted_at[params["recording_id"]] = ctx.now
        return Response(204)
    status = ctx.config.delete_missing_status
    if status == 204:
        return Response(204)
    if status == 404:
        return not_found("Recording not found").to_response()
    if status >= 500:
        return server_error("Recording not found")
    return Response(status, {"detail": "Recording not found"})


def _bulk_window_start(ctx: RequestContext) -> datetime:
    text = ctx.body_object().get("date_from") or f"-{RETENTION_PERIOD_DAYS}d"
    if not isinstance(text, str):
        raise validation_error("date_from must be a string", "date_from")
    return parse_date_param(text, ctx.now, "date_from", tz=ctx.config.project_timezone)


def bulk_delete(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``POST session_recordings/bulk_delete/``.

    The ids are looked up in the window from the body's ``date_from`` (default: the
    retention period) to now; ids not found there are skipped silently: counted in
    ``total_requested`` only. ``failed_ids`` lists found ones whose deletion failed
    (under a ``recording_api_failure`` fault).
    """
    ids = ctx.bulk_ids(ctx.config.bulk_delete_cap)
    start = _bulk_window_start(ctx)
    deleted = 0
    failed: list[str] = []
    for recording_id in dict.fromkeys(ids):
        record = ctx.state.existing(recording_id)
        started = record.get("start_time") if record is not None else None
        if started is None or not start <= started <= ctx.now:
            continue
        if ctx.recording_api_fails:
            failed.append(recording_id)
        elif ctx.state.remove_recording(recording_id):
            deleted += 1
    body: dict[str, Any] = {"success": True, "deleted_count": deleted, "total_requested": len(ids)}
    if not ctx.config.legacy_bulk_response:
        body["failed_ids"] = failed
    return Response(200, body)


def _bulk_view(ctx: RequestContext, viewed: bool) -> int:
    count = 0
    for recording_id in dict.fromkeys(ctx.bulk_ids(ctx.config.bulk_viewed_cap)):
        if ctx.state.existing(recording_id) is not None:
            ctx.state.mark_viewed(recording_id, ctx.user.id, viewed)
            count += 1
    return count


def bulk_viewed(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``POST session_recordings/bulk_viewed/``."""
    count = _bulk_view(ctx, True)
    total = len(ctx.body_object()["session_recording_ids"])
    return Response(200, {"success": True, "viewed_count": count, "total_requested": total})


def bulk_not_viewed(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``POST session_recordings/bulk_not_viewed/``."""
    count = _bulk_view(ctx, False)
    total = len(ctx.body_object()["session_recording_ids"])
    return Response(200, {"success": True, "not_viewed_count": count, "total_requested": total})
