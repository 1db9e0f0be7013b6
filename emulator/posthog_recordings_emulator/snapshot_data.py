"""A recording's snapshot blocks, generated deterministically from its id (pure).

Each block is JSON lines ``[windowUuid, rrwebEvent]`` as PostHog's ingestion writes them. Per
window: a Meta (type 4, width and height) then a FullSnapshot (type 2) where the window first
appears, then incrementals (type 3: mutations, mouse moves, clicks) and some Custom events
(type 5). Within a block the lines go window by window, so a recording with two windows is
not sorted by timestamp. Some recordings carry posthog-js compressed fields
(``cv: "2024-10"``: gzip, latin-1 strings holding JSON); mobile recordings (``snapshot_source``
``mobile``) carry wireframes instead of DOM nodes; a few have a long-term-storage copy.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

COMPRESSION_VERSION = "2024-10"
COMPRESSED_FRACTION = 0.3
LTS_FRACTION = 0.05
TWO_WINDOWS_FRACTION = 0.3
LONG_FRACTION = 0.2


@dataclass
class SnapshotBlock:
    """One stored block: its lines and its time window (epoch ms)."""

    lines: list[str]
    start_ms: int
    end_ms: int


@dataclass
class RecordingSnapshots:
    """Every block of one recording, and how it is stored."""

    blocks: list[SnapshotBlock]
    compressed: bool = False
    mobile: bool = False
    lts_path: str | None = None
    windows: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Every line, block after block (what a lossless archive holds)."""
        return [line for block in self.blocks for line in block.lines]


def compress_value(value: Any) -> str:
    """posthog-js's compression of one field: gzip of the JSON, as a latin-1 string."""
    return gzip.compress(json.dumps(value).encode("utf-8"), mtime=0).decode("latin-1")


def iso_ms(epoch_ms: int) -> str:
    """An ISO timestamp with milliseconds, as PostHog lists block windows."""
    when = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=epoch_ms)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _node(rng: random.Random) -> dict[str, Any]:
    texts = [
        {"type": 3, "textContent": f"text {rng.randint(0, 999)}", "id": 5 + i} for i in range(2)
    ]
    body = {"type": 2, "tagName": "body", "attributes": {}, "childNodes": texts, "id": 4}
    html = {"type": 2, "tagName": "html", "attributes": {}, "childNodes": [body], "id": 2}
    return {"type": 0, "childNodes": [{"type": 1, "name": "html", "id": 1}, html], "id": 0}


def _full(rng: random.Random, ts: int, mobile: bool, compressed: bool) -> dict[str, Any]:
    if mobile:
        wireframe = {"id": rng.randint(1, 10**6), "type": "screenshot", "width": 390, "x": 0}
        data: Any = {"wireframes": [wireframe], "initialOffset": {"top": 0, "left": 0}}
        return {"type": 2, "data": data, "timestamp": ts}
    data = {"node": _node(rng), "initialOffset": {"top": 0, "left": 0}}
    if compressed:
        return {"type": 2, "data": compress_value(data), "cv": COMPRESSION_VERSION, "timestamp": ts}
    return {"type": 2, "data": data, "timestamp": ts}


def _mutation(rng: random.Random, ts: int, compressed: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "adds": [
            {"parentId": 4, "nextId": None, "node": {"type": 3, "textContent": "x", "id": 50}}
        ],
        "removes": [{"parentId": 4, "id": rng.randint(5, 6)}],
        "texts": [{"id": 5, "value": f"v{rng.randint(0, 99)}"}],
        "attributes": [{"id": 4, "attributes": {"class": f"c{rng.randint(0, 9)}"}}],
    }
    if compressed:
        data = {"source": 0, **{k: compress_value(v) for k, v in fields.items()}}
        return {"type": 3, "data": data, "cv": COMPRESSION_VERSION, "timestamp": ts}
    return {"type": 3, "data": {"source": 0, **fields}, "timestamp": ts}


def _incremental(rng: random.Random, ts: int, mobile: bool, compressed: bool) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.1:
        return {"type": 5, "data": {"tag": "$pageview", "payload": {"n": 1}}, "timestamp": ts}
    if roll < 0.4 and not mobile:
        return _mutation(rng, ts, compressed)
    if roll < 0.7:
        positions = [{"x": rng.randint(0, 1200), "y": rng.randint(0, 800), "id": 4}]
        return {"type": 3, "data": {"source": 1, "positions": positions}, "timestamp": ts}
    data = {"source": 2, "type": 2, "id": 4, "x": rng.randint(0, 1200), "y": rng.randint(0, 800)}
    return {"type": 3, "data": data, "timestamp": ts}


def _block_count(rng: random.Random) -> int:
    if rng.random() < LONG_FRACTION:
        return rng.randint(22, 45)
    return rng.randint(1, 12)


def generate_snapshots(record: dict[str, Any]) -> RecordingSnapshots:
    """The blocks of ``record`` (a stored recording): the same id always gives the same."""
    rng = random.Random(f"posthog-emulator-snapshots:{record['id']}")
    mobile = record.get("snapshot_source") == "mobile"
    compressed = not mobile and rng.random() < COMPRESSED_FRACTION
    n_windows = 2 if rng.random() < TWO_WINDOWS_FRACTION else 1
    windows = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n_windows)]
    start: datetime = record.get("start_time") or datetime(2026, 1, 1, tzinfo=timezone.utc)
    clock = int(start.timestamp() * 1000)
    opened: set[str] = set()
    blocks = []
    for index in range(_block_count(rng)):
        per_window: dict[str, list[dict[str, Any]]] = {window: [] for window in windows}
        # The second window opens in a later block, the first in the first.
        active = windows if index > 0 else windows[:1]
        for _ in range(rng.randint(2, 6)):
            window = rng.choice(active)
            clock += rng.randint(1, 900)
            if window not in opened:
                opened.add(window)
                meta = {"href": "https://app.example.com/", "width": 1280, "height": 800}
                per_window[window].append({"type": 4, "data": meta, "timestamp": clock})
                if rng.random() < 0.5:
                    clock += 1  # else the FullSnapshot shares the Meta's timestamp
                per_window[window].append(_full(rng, clock, mobile, compressed))
                continue
            per_window[window].append(_incremental(rng, clock, mobile, compressed))
        events = [(w, e) for w in windows for e in per_window[w]]
        lines = [json.dumps([w, e], separators=(",", ":")) for w, e in events]
        stamps = [event["timestamp"] for _, event in events]
        blocks.append(SnapshotBlock(lines, min(stamps), max(stamps)))
        clock += rng.randint(1000, 9000)  # blocks never overlap
    lts = f"session_recordings/lts/{record['id']}" if rng.random() < LTS_FRACTION else None
    return RecordingSnapshots(blocks, compressed, mobile, lts, windows)
