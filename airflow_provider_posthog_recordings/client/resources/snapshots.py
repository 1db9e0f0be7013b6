"""A recording's snapshots: the sources listing and the blocks, checked whole (no Airflow).

A part of :class:`~.client.PostHogClient`. PostHog's snapshots endpoint (left out of its
published API schema) answers in two steps:

1. ``GET session_recordings/{id}/snapshots`` lists the sources: ``blob_v2`` blocks with
   their ``start_timestamp``/``end_timestamp`` (``blob_key`` is the block's index), or one
   ``blob_v2_lts`` file.
2. ``?source=blob_v2&start_blob_key=a&end_blob_key=b`` answers blocks ``a..b`` (inclusive, at
   most 21 for a personal API key) as JSON lines ``[windowId, event]``;
   ``?source=blob_v2_lts&blob_key=<path>`` answers the long-term file.

PostHog fails silently in two ways, both refused here: an empty sources list (the block
listing failed upstream; it never means "nothing to archive") and a range answered 200 with
some blocks left out. A listed block with no event in its time window is fetched again alone;
alone, a block that failed answers 502. A 404 (gone or expired) and a 410 (deleted) are
raised as :class:`~.errors.PostHogNotFoundError` and :class:`~.errors.PostHogGoneError`.

Every request counts against the key's budget and, when the connection names it, the plan's
snapshots budget (free 12/min and 60/h, paid 60 and 300, enterprise 100 and 400).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_posthog_recordings.client.errors import PostHogSnapshotsError
from airflow_provider_posthog_recordings.client.http.paths import safe_id
from airflow_provider_posthog_recordings.client.http.transport import Transport

#: Blocks one ``blob_v2`` request may ask for with a personal API key (end - start <= 20).
MAX_BLOCKS_PER_REQUEST = 21
#: PostHog's snapshots budgets per plan tier: (per minute, per hour).
SNAPSHOT_PLAN_LIMITS: dict[str, tuple[int, int]] = {
    "free": (12, 60),
    "paid": (60, 300),
    "enterprise": (100, 400),
}
BLOB_V2 = "blob_v2"
BLOB_V2_LTS = "blob_v2_lts"
#: Retries of a blob request after a 5xx (PostHog already tries each block 3 times inside).
BLOB_RETRIES = 2


@dataclass(frozen=True)
class SnapshotSource:
    """One entry of the sources listing.

    :ivar source: ``blob_v2`` or ``blob_v2_lts``.
    :ivar blob_key: the block's index (``blob_v2``) or the file's path (``blob_v2_lts``).
    :ivar start_timestamp: the block's time window (ISO; None for LTS).
    :ivar end_timestamp: as ``start_timestamp``.
    """

    source: str
    blob_key: str
    start_timestamp: str | None = None
    end_timestamp: str | None = None

    def window_ms(self) -> tuple[float, float] | None:
        """The block's window in epoch milliseconds, or None when it has none."""
        if self.start_timestamp is None or self.end_timestamp is None:
            return None
        return _epoch_ms(self.start_timestamp), _epoch_ms(self.end_timestamp)

    def as_json(self) -> dict[str, Any]:
        """The entry as PostHog listed it."""
        return {
            "source": self.source,
            "blob_key": self.blob_key,
            "start_timestamp": self.start_timestamp,
            "end_timestamp": self.end_timestamp,
        }


@dataclass
class SnapshotDownload:
    """A recording's snapshots, whole.

    :ivar recording_id: the recording.
    :ivar sources: the sources listing.
    :ivar lines: the JSON lines, block after block, exactly as served (lossless).
    :ivar refetched_blocks: blocks missing from a range answer and fetched again alone.
    :ivar requests: snapshots requests sent (listing included, retries not).
    :ivar next_block: the first block not fetched yet: blocks before it are in ``lines``
        (a whole range at a time; for an LTS file, 1 once it was fetched).
    """

    recording_id: str
    sources: list[SnapshotSource]
    lines: list[str] = field(default_factory=list)
    refetched_blocks: list[int] = field(default_factory=list)
    requests: int = 0
    next_block: int = 0

    @property
    def complete(self) -> bool:
        """Whether every listed block (or the LTS file) was fetched."""
        if self.sources and self.sources[0].source == BLOB_V2_LTS:
            return self.next_block >= 1
        return self.next_block >= len(self.sources)

    def to_json(self) -> dict[str, Any]:
        """Everything fetched so far (the lines included), to resume in another process."""
        return {
            "recording_id": self.recording_id,
            "sources": [source.as_json() for source in self.sources],
            "lines": list(self.lines),
            "refetched_blocks": list(self.refetched_blocks),
            "requests": self.requests,
            "next_block": self.next_block,
        }

    @classmethod
    def from_json(cls, data: Any) -> SnapshotDownload:
        """The download :meth:`to_json` described.

        :raises ValueError: not such a description (the caller starts again).
        """
        if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
            raise ValueError("not a partial snapshots download")
        rid = str(data["recording_id"])
        sources = [parse_source(rid, item) for item in data["sources"]]
        download = cls(
            rid,
            sources,
            lines=[str(line) for line in data["lines"]],
            refetched_blocks=[int(n) for n in data.get("refetched_blocks", [])],
            requests=int(data.get("requests", 0)),
            next_block=int(data["next_block"]),
        )
        if not sources or download.next_block < 0:
            raise ValueError("a partial snapshots download without sources")
        if download.next_block % MAX_BLOCKS_PER_REQUEST and not download.complete:
            raise ValueError("a partial snapshots download cut inside a range")
        return download


def _epoch_ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000.0


def parse_source(recording_id: str, item: Any) -> SnapshotSource:
    """One sources entry, checked.

    :raises PostHogSnapshotsError: not an object with a known ``source`` and a ``blob_key``.
    """
    if not isinstance(item, dict) or item.get("source") not in (BLOB_V2, BLOB_V2_LTS):
        raise PostHogSnapshotsError(recording_id, f"unknown snapshot source {item!r}")
    key = item.get("blob_key")
    if key is None or str(key) == "":
        raise PostHogSnapshotsError(recording_id, f"a source without blob_key: {item!r}")
    start, end = item.get("start_timestamp"), item.get("end_timestamp")
    return SnapshotSource(
        source=str(item["source"]),
        blob_key=str(key),
        start_timestamp=None if start is None else str(start),
        end_timestamp=None if end is None else str(end),
    )


def line_timestamp(line: str) -> float | None:
    """The event timestamp (ms) of a ``[windowId, event]`` line, or None when it has none."""
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    event = parsed[1] if isinstance(parsed, list) and len(parsed) == 2 else parsed
    stamp = event.get("timestamp") if isinstance(event, dict) else None
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return None
    return float(stamp)


def split_lines(text: str) -> list[str]:
    """The non-empty lines of a JSON-lines body."""
    return [line for line in text.split("\n") if line.strip()]


def lines_by_block(lines: list[str], blocks: list[SnapshotSource]) -> dict[int, list[str]]:
    """Give each line to its block: blocks come in order, each line to the first block (from
    the current one) whose window ends at or after its timestamp (pure).

    A block to which no line falls is missing from the answer (PostHog's silent partial
    failure). Lines with no timestamp stay with the current block.
    """
    owned: dict[int, list[str]] = {index: [] for index in range(len(blocks))}
    windows = [block.window_ms() for block in blocks]
    current = 0
    for line in lines:
        stamp = line_timestamp(line)
        while stamp is not None and current < len(blocks) - 1:
            window = windows[current]
            if window is None or stamp <= window[1]:
                break
            current += 1
        owned[current].append(line)
    return owned


def empty_blocks(owned: dict[int, list[str]], blocks: list[SnapshotSource]) -> list[int]:
    """Blocks with no line inside their own time window (pure)."""
    missing = []
    for index, block in enumerate(blocks):
        window = block.window_ms()
        stamps = [line_timestamp(line) for line in owned.get(index, [])]
        if window is None:
            if not owned.get(index):
                missing.append(index)
            continue
        if not any(s is not None and window[0] <= s <= window[1] for s in stamps):
            missing.append(index)
    return missing


class RecordingSnapshots:
    """The snapshots endpoint: a recording's sources and blocks, checked whole.

    :param transport: the client's HTTP transport (its snapshots budget applies).
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _snapshots_get(self, recording_id: str, params: dict[str, str], raw: bool) -> Any:
        rules = self.transport.rules(max_retries=min(self.transport.max_retries, BLOB_RETRIES))
        answer = self.transport.send(
            "GET",
            f"session_recordings/{safe_id(recording_id)}/snapshots",
            params=params or None,
            rules=rules,
            snapshots=True,
            raw=raw,
        )
        return answer.body

    def recording_metadata(self, recording_id: str) -> dict[str, Any]:
        """The recording's own answer as PostHog sends it (person, start and end, expiry).

        One request on the key's budget only. Raises PostHogNotFoundError when it is gone.
        """
        answer = self.transport.send("GET", f"session_recordings/{safe_id(recording_id)}/")
        if not isinstance(answer.body, dict) or answer.body.get("id") != recording_id:
            raise PostHogSnapshotsError(
                recording_id, "the recording's answer is not that recording"
            )
        return answer.body

    def snapshot_sources(self, recording_id: str) -> list[SnapshotSource]:
        """The sources of a recording's snapshots (one request).

        :raises PostHogSnapshotsError: an empty or malformed listing (never "nothing to archive").
        :raises PostHogNotFoundError: the recording does not exist (never did, expired, deleted).
        :raises PostHogGoneError: the recording was deleted (410 ``recording_deleted``).
        """
        body = self._snapshots_get(recording_id, {}, raw=False)
        items = body.get("sources") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise PostHogSnapshotsError(recording_id, "the snapshots answer has no sources list")
        if not items:
            raise PostHogSnapshotsError(
                recording_id,
                "PostHog listed no snapshot sources (its block listing can fail upstream and "
                "answer an empty list): not archived; try again later",
            )
        sources = [parse_source(recording_id, item) for item in items]
        kinds = {source.source for source in sources}
        if BLOB_V2_LTS in kinds and len(sources) != 1:
            raise PostHogSnapshotsError(recording_id, "an LTS source must be the only one")
        return sources

    def snapshot_block_lines(self, recording_id: str, start: int, end: int) -> list[str]:
        """The JSON lines of blocks ``start..end`` (inclusive, at most 21), as served.

        :raises PostHogSnapshotsError: a range of more than 21 blocks.
        :raises PostHogServerError: 502 when every block of the range failed (after retries).
        """
        if start < 0 or end < start or end - start >= MAX_BLOCKS_PER_REQUEST:
            raise PostHogSnapshotsError(
                recording_id, f"block range {start}..{end} is not 1 to 21 blocks"
            )
        params = {"source": BLOB_V2, "start_blob_key": str(start), "end_blob_key": str(end)}
        return split_lines(str(self._snapshots_get(recording_id, params, raw=True)))

    def snapshot_lts_lines(self, recording_id: str, blob_key: str) -> list[str]:
        """The JSON lines of a recording's long-term-storage file."""
        params = {"source": BLOB_V2_LTS, "blob_key": blob_key}
        return split_lines(str(self._snapshots_get(recording_id, params, raw=True)))

    def download_snapshots(self, recording_id: str) -> SnapshotDownload:
        """Every line of a recording's snapshots, each listed block accounted for.

        Blocks are asked for 21 at a time; a block with no event in its window is asked for
        again alone, and must then have some. :meth:`start_download` and
        :meth:`continue_download` do the same in two steps, for a caller that may have to
        stop in between and carry on later.

        :raises PostHogSnapshotsError: empty sources, or a block still empty when fetched alone.
        :raises PostHogAPIError: 404, 410, 502 and the other error answers (typed).
        """
        download = self.start_download(recording_id)
        self.continue_download(download)
        return download

    def start_download(self, recording_id: str) -> SnapshotDownload:
        """List the recording's sources (one request): a download with no block fetched yet.

        :raises PostHogSnapshotsError: empty or malformed sources.
        """
        sources = self.snapshot_sources(recording_id)
        return SnapshotDownload(recording_id, sources, requests=1)

    def continue_download(self, download: SnapshotDownload) -> None:
        """Fetch the blocks ``download`` lacks, a range at a time, in place.

        ``download`` is updated after each whole range (``lines``, ``next_block``,
        ``requests``): when a request cannot go now
        (:class:`~airflow_provider_posthog_recordings.client.errors.PostHogBudgetWait`), what
        was fetched stays in it, and a later call
        (in another process, from :meth:`SnapshotDownload.from_json`) fetches only the rest.
        """
        rid, sources = download.recording_id, download.sources
        if sources[0].source == BLOB_V2_LTS:
            if download.next_block < 1:
                lines = self.snapshot_lts_lines(rid, sources[0].blob_key)
                download.requests += 1
                if not lines:
                    raise PostHogSnapshotsError(rid, "the LTS file has no lines")
                download.lines = lines
                download.next_block = 1
            return
        for first in range(download.next_block, len(sources), MAX_BLOCKS_PER_REQUEST):
            blocks = sources[first : first + MAX_BLOCKS_PER_REQUEST]
            lines = self._range_whole(download, first, blocks)
            download.lines.extend(lines)
            download.next_block = first + len(blocks)

    def _range_whole(
        self, download: SnapshotDownload, first: int, blocks: list[SnapshotSource]
    ) -> list[str]:
        """The lines of one range, its missing blocks fetched again alone."""
        rid = download.recording_id
        for block_number, block in enumerate(blocks, start=first):
            if block.blob_key != str(block_number):
                raise PostHogSnapshotsError(rid, f"block {block_number} is listed as {block}")
        lines = self.snapshot_block_lines(rid, first, first + len(blocks) - 1)
        download.requests += 1
        owned = lines_by_block(lines, blocks)
        for index in empty_blocks(owned, blocks):
            number = first + index
            if owned[index]:
                raise PostHogSnapshotsError(rid, f"lines outside block {number}'s time window")
            alone = self.snapshot_block_lines(rid, number, number)
            download.requests += 1
            download.refetched_blocks.append(number)
            if empty_blocks({0: alone}, [blocks[index]]):
                raise PostHogSnapshotsError(
                    rid, f"block {number} has no events in its window even when fetched alone"
                )
            owned[index] = alone
        return [line for index in range(len(blocks)) for line in owned[index]]
