"""``GET session_recordings/{id}/snapshots``: the sources listing and the blocks.

As PostHog answers a personal API key: without ``source`` the sources listing (``blob_v2``
blocks, or one ``blob_v2_lts`` file); ``source=blob_v2`` with ``start_blob_key`` and
``end_blob_key`` (inclusive, ``end - start <= 20``) the blocks' JSON lines as
``application/jsonl``; ``source=blob_v2_lts`` with ``blob_key`` the long-term file. Blocks made
to fail (:meth:`PostHogEmulator.fail_snapshot_blocks`) are left out of a 200 silently; when
every block of the range fails the answer is 502 ``recording_blocks_unavailable``. An empty
sources answer can be planted (:meth:`PostHogEmulator.empty_snapshot_sources`). A deleted
recording answers 410 ``recording_deleted`` on the UTC day its existence was last confirmed to
this endpoint (PostHog's cache), 404 otherwise.
"""

from __future__ import annotations

from typing import Any

from .context import RequestContext
from .responses import ApiError, Response, not_found, validation_error
from .snapshot_data import RecordingSnapshots, generate_snapshots, iso_ms
from .state import EmulatorState

JSONL_CONTENT_TYPE = "application/jsonl"
MAX_KEY_RANGE = 20
SOURCES = ("blob_v2", "blob_v2_lts")


def snapshots_of(state: EmulatorState, recording_id: str) -> RecordingSnapshots | None:
    """The recording's snapshots (generated on first use), or None when never known."""
    data = state.snapshots.get(recording_id)
    if data is None:
        record = state.recordings.get(recording_id)
        if record is None:
            return None
        data = generate_snapshots(record)
        state.snapshots[recording_id] = data
    return data  # type: ignore[no-any-return]


def _take(counts: dict[Any, int], key: Any) -> bool:
    """Consume one planted fault of ``key``; True when there was one."""
    left = counts.get(key, 0)
    if left == 0:
        return False
    if left > 0:
        counts[key] = left - 1
        if counts[key] == 0:
            del counts[key]
    return True


def _gone_or_missing(ctx: RequestContext, recording_id: str) -> Response:
    state = ctx.state
    if recording_id in state.deleted_ids and state.snapshot_seen.get(recording_id) == (
        ctx.now.date()
    ):
        deleted_at = state.deleted_at.get(recording_id)
        body = {
            "error": "recording_deleted",
            "message": "This recording has been deleted",
            "deleted_at": None if deleted_at is None else deleted_at.isoformat(),
            "deleted_by": None,
        }
        return Response(410, body)
    return not_found("Recording not found").to_response()


def _sources(ctx: RequestContext, recording_id: str, data: RecordingSnapshots) -> Response:
    if _take(ctx.state.empty_sources, recording_id) or _take(ctx.state.empty_sources, "*"):
        return Response(200, {"sources": []})
    if data.lts_path is not None:
        entry = {"source": "blob_v2_lts", "blob_key": data.lts_path}
        return Response(
            200, {"sources": [{**entry, "start_timestamp": None, "end_timestamp": None}]}
        )
    sources = [
        {
            "source": "blob_v2",
            "start_timestamp": iso_ms(block.start_ms),
            "end_timestamp": iso_ms(block.end_ms),
            "blob_key": str(index),
        }
        for index, block in enumerate(data.blocks)
    ]
    return Response(200, {"sources": sources})


def _int_param(ctx: RequestContext, name: str) -> int:
    text = ctx.query.get(name)
    try:
        return int(str(text))
    except ValueError:
        raise validation_error("A valid integer is required.", name) from None


def _blocks(ctx: RequestContext, recording_id: str, data: RecordingSnapshots) -> Response:
    start = _int_param(ctx, "start_blob_key")
    end = _int_param(ctx, "end_blob_key")
    if start < 0 or end < start:
        raise validation_error("start_blob_key must be <= end_blob_key", "start_blob_key")
    if end - start > MAX_KEY_RANGE:
        raise validation_error(
            f"Cannot request more than {MAX_KEY_RANGE + 1} blob keys at once", "end_blob_key"
        )
    if end >= len(data.blocks):
        raise not_found("Block index out of range")
    served: list[str] = []
    failed = 0
    for index in range(start, end + 1):
        if _take(ctx.state.failing_blocks, (recording_id, index)):
            failed += 1
            continue
        served.extend(data.blocks[index].lines)
    if failed == end - start + 1:
        body = {
            "error": "recording_blocks_unavailable",
            "message": "Failed to fetch any recording blocks",
        }
        return Response(502, body)
    return Response(200, raw="\n".join(served).encode("utf-8"), content_type=JSONL_CONTENT_TYPE)


def _lts(ctx: RequestContext, data: RecordingSnapshots) -> Response:
    if data.lts_path is None or ctx.query.get("blob_key") != data.lts_path:
        raise not_found("Recording not found")
    body = "\n".join(data.lines()).encode("utf-8")
    return Response(200, raw=body, content_type=JSONL_CONTENT_TYPE)


def get_snapshots(ctx: RequestContext, params: dict[str, str]) -> Response:
    """``GET session_recordings/{id}/snapshots``."""
    recording_id = params["recording_id"]
    source = ctx.query.get("source")
    if source is not None and source not in SOURCES:
        raise validation_error(
            "Invalid source must be one of [blob_v2, blob_v2_ts, None]", "source"
        )
    if ctx.state.existing(recording_id) is None:
        return _gone_or_missing(ctx, recording_id)
    data = snapshots_of(ctx.state, recording_id)
    if data is None:
        raise ApiError(404, "invalid_request", "not_found", "Session recording not found")
    ctx.state.snapshot_seen[recording_id] = ctx.now.date()
    if source is None:
        return _sources(ctx, recording_id, data)
    if source == "blob_v2_lts":
        return _lts(ctx, data)
    return _blocks(ctx, recording_id, data)
