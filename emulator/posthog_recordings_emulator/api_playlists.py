"""Endpoints under ``session_recording_playlists/``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .api_recordings import LIST_VERSION, recordings_page
from .context import RequestContext
from .playlist_records import (
    SYNTHETIC,
    add_playlist,
    is_synthetic,
    item_ids,
    serialize_playlist,
    synthetic_forbidden,
    synthetic_playlist,
    validated_new,
    validated_update,
)
from .responses import Response, method_not_allowed, not_found, server_error, validation_error
from .saved_filters import saved_filter_counts
from .schema_check import check_list_query, check_saved_search

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
ORDERABLE = ("id", "name", "created_at", "last_modified_at")

Playlist = dict[str, Any]


def _serialize(ctx: RequestContext, playlist: Playlist) -> dict[str, Any]:
    """The playlist as the API answers it; a saved search with PostHog's backend count."""
    out = serialize_playlist(ctx.state, playlist, ctx.user.id)
    if playlist["type"] == "filters" and playlist["filters"]:
        counts = saved_filter_counts(ctx, playlist["filters"])
        if counts is not None:
            out["recordings_counts"]["saved_filters"] = counts
    return out


def _positive_int(text: str | None, default: int, *, strict: bool) -> int:
    """DRF's parsing of ``limit``/``offset``: bad values fall back to the default."""
    try:
        value = int(text) if text is not None else default
    except ValueError:
        return default
    if value < 0 or (strict and value == 0):
        return default
    return value


def _all_playlists(ctx: RequestContext) -> list[Playlist]:
    real = [p for p in ctx.state.playlists.values() if not p["deleted"]]
    order = ctx.query.get("order") or "-last_modified_at"
    field = order.lstrip("-")
    if field not in ORDERABLE:
        field, order = "last_modified_at", "-last_modified_at"
    real.sort(
        key=lambda p: (p[field] if p[field] is not None else "", p["id"]),
        reverse=order.startswith("-"),
    )
    synthetic = []
    if ctx.config.synthetic_playlists:
        synthetic = [synthetic_playlist(short_id, ctx.now) for short_id in SYNTHETIC]
    return synthetic + real


def _matches(ctx: RequestContext, playlist: Playlist) -> bool:
    query = ctx.query
    if query.get("short_id") and playlist["short_id"] != query["short_id"]:
        return False
    if query.get("type") and playlist["type"] != query["type"]:
        return False
    # PostHog ignores the value: ``pinned=false`` also answers only pinned playlists.
    if "pinned" in query and not playlist["pinned"]:
        return False
    search = (query.get("search") or "").lower()
    names = f"{playlist['name'] or ''}\n{playlist['derived_name'] or ''}".lower()
    if search and search not in names:
        return False
    recording_id = query.get("session_recording_id")
    return not recording_id or recording_id in item_ids(ctx.state, playlist, ctx.user.id)


def _page_url(ctx: RequestContext, limit: int, offset: int | None) -> str:
    query = {k: v for k, v in ctx.query.items() if k not in ("limit", "offset")}
    query["limit"] = str(limit)
    if offset:
        query["offset"] = str(offset)
    return f"{ctx.base_url}{ctx.path}?{urlencode(query)}"


def list_playlists(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``GET session_recording_playlists/`` with DRF limit/offset pagination."""
    limit = min(_positive_int(ctx.query.get("limit"), DEFAULT_LIMIT, strict=True), MAX_LIMIT)
    offset = _positive_int(ctx.query.get("offset"), 0, strict=False)
    matching = [p for p in _all_playlists(ctx) if _matches(ctx, p)]
    page = matching[offset : offset + limit]
    next_url = _page_url(ctx, limit, offset + limit) if offset + limit < len(matching) else None
    previous = None
    if offset > 0:
        previous = _page_url(ctx, limit, offset - limit if offset - limit > 0 else None)
    return Response(
        200,
        {
            "count": len(matching),
            "next": next_url,
            "previous": previous,
            "results": [_serialize(ctx, p) for p in page],
        },
    )


def create_playlist(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``POST session_recording_playlists/``."""
    fields = validated_new(ctx.body_object())
    if fields["type"] == "filters":
        check_saved_search(fields["filters"], ctx.config.posthog_schema)
    playlist = add_playlist(ctx.state, fields, ctx.user, ctx.now)
    return Response(201, _serialize(ctx, playlist))


def _playlist(ctx: RequestContext, short_id: str, *, writable: bool = False) -> Playlist:
    if is_synthetic(short_id) and ctx.config.synthetic_playlists and short_id in SYNTHETIC:
        if writable:
            raise synthetic_forbidden()
        return synthetic_playlist(short_id, ctx.now)
    playlist = ctx.state.live_playlist(short_id)
    if playlist is None:
        raise not_found()
    return playlist


def get_playlist(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``GET session_recording_playlists/{short_id}/``."""
    playlist = _playlist(ctx, params["short_id"])
    return Response(200, _serialize(ctx, playlist))


def patch_playlist(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``PATCH session_recording_playlists/{short_id}/`` (``deleted: true`` soft-deletes)."""
    playlist = _playlist(ctx, params["short_id"], writable=True)
    changes = validated_update(playlist, ctx.body_object())
    if playlist["type"] == "filters" and "filters" in changes:
        check_saved_search(changes["filters"], ctx.config.posthog_schema)
    playlist.update(changes)
    playlist["last_modified_at"] = ctx.now
    playlist["last_modified_by"] = ctx.user.as_json()
    return Response(200, _serialize(ctx, playlist))


def delete_playlist(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``DELETE session_recording_playlists/{short_id}/``: never allowed (soft-delete instead)."""
    raise method_not_allowed("DELETE")


def playlist_recordings(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``GET session_recording_playlists/{short_id}/recordings/`` (recordings-list shape).

    For a collection, current servers ignore ``limit``/``offset``/``after``: every item
    whose recording exists comes in one answer (at most ``playlist_items_max_rows``),
    and its ``next_cursor`` leads to the same page again. A saved search answers nothing.
    """
    playlist = _playlist(ctx, params["short_id"])
    if playlist["type"] == "filters":
        return Response(200, {"results": [], "has_next": False, "version": LIST_VERSION})
    check_list_query(ctx.query, ctx.config.posthog_schema)
    ids = item_ids(ctx.state, playlist, ctx.user.id)
    config = ctx.config
    page = recordings_page(
        ctx,
        ctx.query,
        only_ids=ids,
        paginate=config.paginated_playlist_items,
        max_rows=None if config.paginated_playlist_items else config.playlist_items_max_rows,
    )
    return Response(200, page)


def _collection(ctx: RequestContext, short_id: str) -> list[str]:
    playlist = _playlist(ctx, short_id, writable=True)
    if playlist["type"] != "collection":
        raise validation_error(
            "Cannot add recordings to a playlist that is type 'filters'.", "type"
        )
    return ctx.state.playlist_items.setdefault(short_id, [])


def add_item(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``POST .../{short_id}/recordings/{id}/``: add (adding again is harmless)."""
    items = _collection(ctx, params["short_id"])
    if params["recording_id"] not in items:
        items.append(params["recording_id"])
    return Response(200, {"success": True})


def remove_item(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``DELETE .../{short_id}/recordings/{id}/``: 500 when it is not in the playlist."""
    items = ctx.state.playlist_items.setdefault(
        _playlist(ctx, params["short_id"], writable=True)["short_id"], []
    )
    if params["recording_id"] not in items:
        return server_error("SessionRecordingPlaylistItem matching query does not exist.")
    items.remove(params["recording_id"])
    return Response(200, {"success": True})


def bulk_add(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``POST .../{short_id}/recordings/bulk_add/``."""
    items = _collection(ctx, params["short_id"])
    ids = ctx.bulk_ids(ctx.config.bulk_playlist_cap)
    added = 0
    for recording_id in dict.fromkeys(ids):
        if recording_id not in items:
            items.append(recording_id)
            added += 1
    return Response(200, {"success": True, "added_count": added, "total_requested": len(ids)})


def bulk_remove(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``POST .../{short_id}/recordings/bulk_delete/``."""
    items = _collection(ctx, params["short_id"])
    ids = ctx.bulk_ids(ctx.config.bulk_playlist_cap)
    removed = 0
    for recording_id in dict.fromkeys(ids):
        if recording_id in items:
            items.remove(recording_id)
            removed += 1
    return Response(200, {"success": True, "deleted_count": removed, "total_requested": len(ids)})
