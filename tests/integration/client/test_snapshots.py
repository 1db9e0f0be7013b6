"""The snapshots resource against the emulator: ranges of 21, refetched blocks, empty sources,
404/410/502, and the plan's snapshots budget on top of the key's. Cloud profile."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import (
    PostHogBudgetWait,
    PostHogGoneError,
    PostHogNotFoundError,
    PostHogServerError,
    PostHogSnapshotsError,
)
from airflow_provider_posthog_recordings.client.resources.snapshots import (
    MAX_BLOCKS_PER_REQUEST,
    SnapshotDownload,
    SnapshotSource,
    empty_blocks,
    lines_by_block,
)


def _cloud(emulator_factory: Any, **options: Any) -> Any:
    options.setdefault("snapshot_plan", "none")
    return emulator_factory(profile="cloud", **options)


def _web_recording(server: Any, min_blocks: int = 1, lts: bool = False) -> str:
    """A seeded web recording with at least ``min_blocks`` blocks (deterministic)."""
    for seed in range(200):
        for rid in server.seed_recordings(20, days=5, seed=1000 + seed):
            info = server.snapshot_info(rid)
            if info["lts"] == lts and not info["mobile"] and info["blocks"] >= min_blocks:
                return str(rid)
    raise AssertionError("no such recording seeded")


def _block_requests(server: Any) -> list[dict[str, str]]:
    return [r.query for r in server.requests if r.query.get("source") == "blob_v2"]


def test_a_long_recording_is_fetched_in_ranges_of_21_blocks(
    emulator_factory: Any, client_for: Any
) -> None:
    server = _cloud(emulator_factory)
    rid = _web_recording(server, min_blocks=MAX_BLOCKS_PER_REQUEST + 2)
    blocks = server.snapshot_info(rid)["blocks"]
    download = client_for(server).download_snapshots(rid)
    assert download.lines == server.snapshot_lines(rid)
    ranges = _block_requests(server)
    assert len(ranges) == math.ceil(blocks / 21) == download.requests - 1
    assert ranges[0] == {"source": "blob_v2", "start_blob_key": "0", "end_blob_key": "20"}
    assert ranges[-1]["end_blob_key"] == str(blocks - 1)
    assert download.refetched_blocks == []


def test_a_block_left_out_of_a_range_is_fetched_again_alone(
    emulator_factory: Any, client_for: Any
) -> None:
    server = _cloud(emulator_factory)
    rid = _web_recording(server, min_blocks=4)
    server.fail_snapshot_blocks(rid, [1, 3], times=1)  # 200 without them, once
    download = client_for(server).download_snapshots(rid)
    assert download.lines == server.snapshot_lines(rid)  # every line, in block order
    assert download.refetched_blocks == [1, 3]
    alone = [q for q in _block_requests(server) if q["start_blob_key"] == q["end_blob_key"]]
    assert [q["start_blob_key"] for q in alone] == ["1", "3"]


def test_a_block_that_keeps_failing_alone_is_a_502(emulator_factory: Any, client_for: Any) -> None:
    server = _cloud(emulator_factory)
    rid = _web_recording(server, min_blocks=3)
    server.fail_snapshot_blocks(rid, [2], times=-1)
    with pytest.raises(PostHogServerError) as caught:
        client_for(server).download_snapshots(rid)
    assert caught.value.status == 502 and "recording_blocks_unavailable" in str(caught.value)


def test_empty_sources_is_an_error_never_nothing_to_archive(
    emulator_factory: Any, client_for: Any
) -> None:
    server = _cloud(emulator_factory)
    rid = _web_recording(server)
    server.empty_snapshot_sources(rid, times=1)
    client = client_for(server)
    with pytest.raises(PostHogSnapshotsError, match="no snapshot sources"):
        client.download_snapshots(rid)
    assert client.download_snapshots(rid).lines == server.snapshot_lines(rid)  # next time


def test_long_term_storage_is_one_file(emulator_factory: Any, client_for: Any) -> None:
    server = _cloud(emulator_factory)
    rid = _web_recording(server, lts=True)
    download = client_for(server).download_snapshots(rid)
    assert [s.source for s in download.sources] == ["blob_v2_lts"]
    assert download.lines == server.snapshot_lines(rid) and download.requests == 2


def test_deleted_is_410_the_same_day_then_404(emulator_factory: Any, client_for: Any) -> None:
    server = _cloud(emulator_factory)
    rid = _web_recording(server)
    client = client_for(server)
    client.snapshots.snapshot_sources(rid)  # PostHog caches the existence until midnight
    client.delete_recordings([rid])
    with pytest.raises(PostHogGoneError) as caught:
        client.snapshots.snapshot_sources(rid)
    assert caught.value.status == 410 and "recording_deleted" in str(caught.value)
    with pytest.raises(PostHogNotFoundError):
        client.snapshots.snapshot_sources("01900000-0000-7000-8000-000000000000")


def test_the_plan_budget_is_kept_on_top_of_the_keys(
    emulator_factory: Any, client_for: Any, mocker: Any
) -> None:
    """Free plan: 12 snapshots requests a minute. A client that knows it never sees a 429;
    one that does not is throttled by the server and waits."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    server = _cloud(emulator_factory, snapshot_plan="free", monotonic=lambda: now[0])
    ids = server.seed_recordings(10, days=5, seed=3)
    knows = client_for(
        server,
        sleep=sleep,
        clock=lambda: now[0],
        snapshot_requests_per_minute=12,
        snapshot_requests_per_hour=60,
    )
    for rid in ids[:5]:
        knows.snapshots.snapshot_sources(rid)
    for rid in ids[:5]:
        knows.snapshots.snapshot_sources(rid)
    for rid in ids[:4]:
        knows.snapshots.snapshot_sources(rid)  # 14 requests: the 13th waits for the minute
    assert server.throttles == {} and knows.throttled_count == 0
    assert now[0] >= 60.0
    blind = client_for(server, sleep=sleep, clock=lambda: now[0])
    for rid in ids * 2:
        blind.snapshots.snapshot_sources(rid)
    assert blind.throttled_count > 0 and server.throttles["snapshots_minute"] > 0


def test_lines_are_given_to_blocks_by_their_windows() -> None:
    def block(start: int, end: int, key: str) -> SnapshotSource:
        return SnapshotSource("blob_v2", key, _iso(start), _iso(end))

    blocks = [block(1000, 2000, "0"), block(3000, 4000, "1"), block(5000, 6000, "2")]
    lines = ['["w",{"type":3,"timestamp":1500}]', '["w",{"type":3,"timestamp":5500}]']
    owned = lines_by_block(lines, blocks)
    assert owned == {0: [lines[0]], 1: [], 2: [lines[1]]}
    assert empty_blocks(owned, blocks) == [1]


def _iso(ms: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


@pytest.mark.parametrize("kind", ["truncated", "non_json", "502", "drop_after"])
def test_a_blob_answer_cut_short_or_lost_is_fetched_again(
    emulator_factory: Any, client_for: Any, kind: str
) -> None:
    """A body shorter than its Content-Length (urllib3 1.x would accept it) is not a block."""
    server = _cloud(emulator_factory)
    rid = _web_recording(server, min_blocks=3)
    server.inject(kind, times=1, path_contains="/snapshots", skip=1)  # the first blob call
    download = client_for(server).download_snapshots(rid)
    assert download.lines == server.snapshot_lines(rid)
    assert server.faults_injected[kind] == 1


def test_lines_are_read_as_utf8_without_guessing(emulator_factory: Any, client_for: Any) -> None:
    """PostHog's JSON.stringify leaves non-ASCII text as is: the body is UTF-8 with no charset."""
    server = _cloud(emulator_factory)
    rid = _web_recording(server)
    lines = server.snapshot_lines(rid)
    for index, line in enumerate(lines):  # put non-ASCII text in every event, as UTF-8
        window, event = json.loads(line)
        event["note"] = "café ☕ ünïcödé"
        lines[index] = json.dumps([window, event], ensure_ascii=False)
    server.replace_snapshot_lines(rid, lines)
    assert client_for(server).download_snapshots(rid).lines == lines


def test_a_download_cut_by_the_budget_carries_on_in_another_client(
    emulator_factory: Any, client_for: Any
) -> None:
    """Free plan known to the client, which may not wait: the download stops between ranges;
    a new client, from the JSON of what was fetched, asks only for the ranges left."""
    now = [0.0]
    server = _cloud(emulator_factory, snapshot_plan="free", monotonic=lambda: now[0])
    rid = _web_recording(server, min_blocks=2 * MAX_BLOCKS_PER_REQUEST + 1)
    blocks = server.snapshot_info(rid)["blocks"]
    options: dict[str, Any] = {
        "clock": lambda: now[0],
        "max_budget_wait": 30.0,
        "snapshot_requests_per_minute": 2,  # the listing and one range, then a wait
        "snapshot_requests_per_hour": 60,
    }
    first = client_for(server, **options)
    download = first.snapshots.start_download(rid)
    with pytest.raises(PostHogBudgetWait):
        first.snapshots.continue_download(download)
    assert download.next_block == MAX_BLOCKS_PER_REQUEST and not download.complete
    carried = json.loads(json.dumps(download.to_json()))
    now[0] += 61.0
    server.reset_requests()
    again = SnapshotDownload.from_json(carried)
    client_for(server, **options).snapshots.continue_download(again)
    assert again.complete and again.lines == server.snapshot_lines(rid)
    ranges = _block_requests(server)
    assert [r["start_blob_key"] for r in ranges] == [
        str(start) for start in range(MAX_BLOCKS_PER_REQUEST, blocks, MAX_BLOCKS_PER_REQUEST)
    ]
    assert again.requests == 1 + math.ceil(blocks / MAX_BLOCKS_PER_REQUEST)
    assert server.request_count == len(ranges)  # no listing again


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(lines="x"),
        lambda d: d.update(next_block=5),  # inside a range
        lambda d: d.update(sources=[]),
        lambda d: d.pop("recording_id"),
    ],
)
def test_a_partial_download_that_does_not_describe_one_is_refused(change: Any) -> None:
    sources = [
        {"source": "blob_v2", "blob_key": str(i), "start_timestamp": None, "end_timestamp": None}
        for i in range(30)
    ]
    good = {"recording_id": "r", "sources": sources, "lines": ["[1,{}]"], "next_block": 21}
    assert SnapshotDownload.from_json(dict(good)).next_block == 21
    bad = json.loads(json.dumps(good))
    change(bad)
    with pytest.raises((ValueError, KeyError)):
        SnapshotDownload.from_json(bad)
