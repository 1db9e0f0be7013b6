"""The emulator's snapshots endpoint, over raw HTTP, on every profile."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from posthog_recordings_emulator import PROFILES, PostHogEmulator


def _get(server: PostHogEmulator, rid: str, **params: Any) -> requests.Response:
    url = f"{server.url}/api/projects/{server.project_id}/session_recordings/{rid}/snapshots"
    headers = {"Authorization": f"Bearer {server.api_key}"}
    return requests.get(url, params=params, headers=headers, timeout=5)


def _find(server: PostHogEmulator, **wanted: Any) -> str:
    for seed in range(300):
        for rid in server.seed_recordings(20, days=5, seed=500 + seed):
            info = server.snapshot_info(rid)
            if all(info[k] >= v if k == "blocks" else info[k] == v for k, v in wanted.items()):
                return str(rid)
    raise AssertionError(f"no recording with {wanted}")


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_sources_then_blocks_on_every_profile(emulator_factory: Any, profile: str) -> None:
    server = emulator_factory(profile=profile, snapshot_plan="none")
    rid = _find(server, lts=False, blocks=22)
    sources = _get(server, rid).json()["sources"]
    assert [s["blob_key"] for s in sources] == [str(i) for i in range(len(sources))]
    assert all(
        s["source"] == "blob_v2" and s["start_timestamp"] <= s["end_timestamp"] for s in sources
    )
    answer = _get(server, rid, source="blob_v2", start_blob_key=0, end_blob_key=20)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/jsonl")
    lines = answer.text.split("\n")
    assert not answer.text.endswith("\n")
    assert lines == server.snapshot_lines(rid)[: len(lines)]
    window, event = json.loads(lines[0])
    assert isinstance(window, str) and event["type"] == 4 and event["data"]["width"] > 0
    too_many = _get(server, rid, source="blob_v2", start_blob_key=0, end_blob_key=21)
    assert too_many.status_code == 400
    last = len(sources)
    beyond = _get(server, rid, source="blob_v2", start_blob_key=last - 5, end_blob_key=last)
    assert beyond.status_code == 404 and beyond.json()["detail"] == "Block index out of range"
    assert _get(server, rid, source="realtime").status_code == 400


def test_generation_is_deterministic_with_compressed_and_mobile_recordings(
    emulator_factory: Any,
) -> None:
    one = emulator_factory(snapshot_plan="none")
    two = emulator_factory(snapshot_plan="none")
    end = datetime(2026, 3, 1, tzinfo=timezone.utc)
    ids = one.seed_recordings(60, days=5, seed=9, end=end)
    assert ids == two.seed_recordings(60, days=5, seed=9, end=end)
    assert [one.snapshot_lines(r) for r in ids] == [two.snapshot_lines(r) for r in ids]
    compressed = next(r for r in ids if one.snapshot_info(r)["compressed"])
    events = [json.loads(line)[1] for line in one.snapshot_lines(compressed)]
    full = next(e for e in events if e["type"] == 2)
    assert full["cv"] == "2024-10" and isinstance(full["data"], str)
    assert "node" in json.loads(gzip.decompress(full["data"].encode("latin-1")))
    mobile = _find(one, mobile=True)
    first_full = next(
        json.loads(line)[1]
        for line in one.snapshot_lines(mobile)
        if json.loads(line)[1]["type"] == 2
    )
    assert "wireframes" in first_full["data"]


def test_partial_failure_empty_sources_and_deletion(emulator_factory: Any) -> None:
    server = emulator_factory(profile="cloud", snapshot_plan="none")
    rid = _find(server, lts=False, blocks=3)
    server.fail_snapshot_blocks(rid, [0], times=1)
    partial = _get(server, rid, source="blob_v2", start_blob_key=0, end_blob_key=2)
    assert partial.status_code == 200  # silently without block 0
    assert json.loads(partial.text.split("\n")[0]) != json.loads(server.snapshot_lines(rid)[0])
    server.fail_snapshot_blocks(rid, [1, 2], times=1)
    failed = _get(server, rid, source="blob_v2", start_blob_key=1, end_blob_key=2)
    assert failed.status_code == 502 and failed.json()["error"] == "recording_blocks_unavailable"
    server.empty_snapshot_sources(times=1)
    assert _get(server, rid).json() == {"sources": []}
    assert _get(server, rid).json()["sources"]
    headers = {"Authorization": f"Bearer {server.api_key}"}
    url = f"{server.url}/api/projects/1/session_recordings/{rid}/"
    assert requests.delete(url, headers=headers, timeout=5).status_code == 204
    gone = _get(server, rid)
    assert gone.status_code == 410 and gone.json()["error"] == "recording_deleted"
    other = _find(server, lts=False)
    server.delete_recording(other)  # never confirmed to the endpoint: not cached
    assert _get(server, other).status_code == 404


@pytest.mark.parametrize(("plan", "per_minute"), [("free", 12), ("paid", 60), ("enterprise", 100)])
def test_the_plans_snapshots_budget(emulator_factory: Any, plan: str, per_minute: int) -> None:
    now = [0.0]
    server = emulator_factory(profile="cloud", snapshot_plan=plan, monotonic=lambda: now[0])
    [rid] = server.seed_recordings(1, days=1, seed=4)
    statuses = [_get(server, rid).status_code for _ in range(per_minute + 1)]
    assert statuses == [200] * per_minute + [429]
    assert server.throttles == {"snapshots_minute": 1}
    url = f"{server.url}/api/projects/1/session_recordings/{rid}/"
    answer = requests.get(url, headers={"Authorization": f"Bearer {server.api_key}"}, timeout=5)
    assert answer.status_code == 200  # the recording's own GET is not a snapshots request
