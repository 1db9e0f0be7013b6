"""The file PostHog's "File playback" loads, built from snapshot lines and checked (pure).

PostHog's player exports a recording as ``{"version": "2023-04-28", "data": {"id", "person",
"snapshots"}}`` and loads such a file without processing it further: the snapshots must be
decoded rrweb events, each with an integer ``windowId``, sorted by timestamp. Built here as
the player builds its export: window UUIDs numbered from 1 in order of first appearance,
posthog-js compressed fields (``cv: "2024-10"``: gzip, latin-1 strings holding JSON) decoded,
then a stable sort by timestamp. :func:`load_problems` are the checks a file must pass before
its recording counts as archived. Mobile recordings would need PostHog's
``transformEventToWeb``: they are archived raw only (:func:`is_mobile`).
"""

from __future__ import annotations

import gzip
import json
from typing import Any

PLAYBACK_VERSION = "2023-04-28"
COMPRESSION_VERSION = "2024-10"
META = 4
FULL_SNAPSHOT = 2
INCREMENTAL = 3
#: Incremental sources whose fields posthog-js compresses, and the fields.
COMPRESSED_FIELDS: dict[int, tuple[str, ...]] = {
    0: ("adds", "removes", "texts", "attributes"),  # Mutation
    8: ("adds", "removes"),  # StyleSheetRule
}
#: At most this many problems are reported for one file.
MAX_PROBLEMS = 10


def parse_line(line: str) -> tuple[str, dict[str, Any]]:
    """``[windowId, event]`` of one JSON line.

    :raises ValueError: not JSON, or not a pair of a window id and an event object.
    """
    parsed = json.loads(line)
    if (
        not isinstance(parsed, list)
        or len(parsed) != 2
        or not isinstance(parsed[0], str)
        or not isinstance(parsed[1], dict)
    ):
        raise ValueError(f"a snapshot line is not [windowId, event]: {line[:120]!r}")
    return parsed[0], parsed[1]


def decode_field(value: str) -> Any:
    """One compressed field: latin-1 string -> gzip -> JSON."""
    return json.loads(gzip.decompress(value.encode("latin-1")))


def decompress_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its ``cv: "2024-10"`` fields decoded (a new dict; ``cv`` dropped).

    Events of another ``cv`` are left as they are (the load checks then refuse them).
    """
    if event.get("cv") != COMPRESSION_VERSION:
        return event
    decoded = {key: value for key, value in event.items() if key != "cv"}
    data = decoded.get("data")
    if decoded.get("type") == FULL_SNAPSHOT and isinstance(data, str):
        decoded["data"] = decode_field(data)
    elif decoded.get("type") == INCREMENTAL and isinstance(data, dict):
        fields = COMPRESSED_FIELDS.get(data.get("source", -1), ())
        decoded["data"] = {
            key: decode_field(value) if key in fields and isinstance(value, str) else value
            for key, value in data.items()
        }
    return decoded


def is_mobile(lines: list[str]) -> bool:
    """Whether the recording is a mobile one (FullSnapshots of wireframes, no DOM node)."""
    for line in lines:
        _, event = parse_line(line)
        data = event.get("data")
        if event.get("type") == FULL_SNAPSHOT and isinstance(data, dict) and "wireframes" in data:
            return True
    return False


def build_playback(recording_id: str, person: Any, lines: list[str]) -> dict[str, Any]:
    """The ``2023-04-28`` export of a web recording's lines.

    :raises ValueError: a line that is not ``[windowId, event]``, or a field that does not decode.
    """
    numbers: dict[str, int] = {}
    snapshots = []
    for line in lines:
        window, event = parse_line(line)
        number = numbers.setdefault(window, len(numbers) + 1)
        try:
            decoded = decompress_event(event)
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"a compressed field does not decode: {exc}") from None
        snapshots.append({**decoded, "windowId": number})
    snapshots.sort(key=_timestamp)  # stable: a Meta stays before its FullSnapshot on a tie
    return {
        "version": PLAYBACK_VERSION,
        "data": {"id": recording_id, "person": person, "snapshots": snapshots},
    }


def _timestamp(event: dict[str, Any]) -> float:
    stamp = event.get("timestamp")
    return float(stamp) if isinstance(stamp, int | float) else float("-inf")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _event_problems(index: int, event: Any) -> list[str]:
    """What stops one snapshot from loading."""
    if not isinstance(event, dict):
        return [f"snapshot {index} is not an object"]
    problems = []
    if not _is_int(event.get("type")):
        problems.append(f"snapshot {index} has no integer type")
    if not _is_number(event.get("timestamp")):
        problems.append(f"snapshot {index} has no numeric timestamp")
    if not _is_int(event.get("windowId")):
        problems.append(f"snapshot {index} has no integer windowId")
    data = event.get("data")
    if event.get("type") == FULL_SNAPSHOT:
        if not isinstance(data, dict) or not isinstance(data.get("node"), dict):
            problems.append(f"snapshot {index}: a FullSnapshot without a decoded node")
    elif event.get("type") == INCREMENTAL and isinstance(data, dict):
        for name in COMPRESSED_FIELDS.get(data.get("source", -1), ()):
            if isinstance(data.get(name), str):
                problems.append(f"snapshot {index}: compressed field {name!r} left")
    return problems


def _window_problems(snapshots: list[dict[str, Any]]) -> list[str]:
    """Each window's first FullSnapshot must follow a Meta with width and height."""
    problems = []
    meta_seen: set[Any] = set()
    full_seen: set[Any] = set()
    windows: list[Any] = []
    for event in snapshots:
        window = event.get("windowId")
        if window not in windows:
            windows.append(window)
        data = event.get("data")
        if event.get("type") == META and isinstance(data, dict):
            if _is_number(data.get("width")) and _is_number(data.get("height")):
                meta_seen.add(window)
        elif event.get("type") == FULL_SNAPSHOT and window not in full_seen:
            full_seen.add(window)
            if window not in meta_seen:
                problems.append(f"window {window}: a FullSnapshot with no Meta before it")
    problems += [f"window {w} has no FullSnapshot" for w in windows if w not in full_seen]
    return problems


def load_problems(document: Any, raw_line_count: int) -> list[str]:
    """Why File playback would not load ``document`` (empty: it loads).

    Checks: the version, a non-empty list of snapshots sorted by timestamp, an integer
    ``type`` and ``windowId`` and a numeric ``timestamp`` on each, no compressed string field
    left, a Meta before each window's first FullSnapshot, as many snapshots as raw lines.
    """
    if not isinstance(document, dict) or document.get("version") != PLAYBACK_VERSION:
        return [f"version is not {PLAYBACK_VERSION}"]
    data = document.get("data")
    snapshots = data.get("snapshots") if isinstance(data, dict) else None
    if not isinstance(snapshots, list) or not snapshots:
        return ["data.snapshots is missing or empty"]
    problems: list[str] = []
    for index, event in enumerate(snapshots):
        problems += _event_problems(index, event)
        if len(problems) >= MAX_PROBLEMS:
            return problems[:MAX_PROBLEMS]
    if problems:
        return problems
    stamps = [event["timestamp"] for event in snapshots]
    if any(later < earlier for earlier, later in zip(stamps, stamps[1:], strict=False)):
        problems.append("snapshots are not sorted by timestamp")
    problems += _window_problems(snapshots)
    if len(snapshots) != raw_line_count:
        problems.append(f"{len(snapshots)} snapshots for {raw_line_count} raw lines")
    return problems[:MAX_PROBLEMS]
