"""The emulator's command line: start, serve one request, stop cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
MODULE = [sys.executable, "-m", "posthog_recordings_emulator"]


def _wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the emulator did not write its ready file")


def test_cli_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [
        sys.executable,
        "-m",
        "posthog_recordings_emulator",
        "--port",
        "0",
        "--recordings",
        "40",
        "--days",
        "10",
        "--api-key",
        "phx_cli_key",
        "--pinned-playlist-size",
        "5",
        "--ready-file",
        str(ready),
    ]
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        info = _wait_for(ready, process)
        assert info["api_key"] == "phx_cli_key" and info["project_id"] == 1
        headers = {"Authorization": "Bearer phx_cli_key"}
        base = f"{info['url']}/api/projects/1/"
        listed = requests.get(
            base + "session_recordings/",
            params={"date_from": "-11d", "limit": "100"},
            headers=headers,
            timeout=10,
        )
        assert listed.status_code == 200 and len(listed.json()["results"]) == 40
        playlists = requests.get(
            base + "session_recording_playlists/",
            params={"pinned": "true"},
            headers=headers,
            timeout=10,
        ).json()["results"]
        assert [p["name"] for p in playlists] == ["Protected: support cases"]
        assert playlists[0]["recordings_counts"]["collection"]["count"] == 5
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert info["url"] in stdout and "phx_cli_key" in stdout


@contextlib.contextmanager
def _serve(tmp_path: Path, *args: str) -> Iterator[dict[str, Any]]:
    """Run the CLI with ``args`` until the block ends; yields its ready-file JSON."""
    ready = tmp_path / "ready.json"
    ready.unlink(missing_ok=True)
    command = [*MODULE, "--port", "0", "--ready-file", str(ready), *args]
    process = subprocess.Popen(
        command, env=ENV, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield _wait_for(ready, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    assert process.returncode == 0


def _bulk_delete_status(info: dict[str, Any]) -> int:
    return requests.post(
        f"{info['url']}/api/projects/1/session_recordings/bulk_delete/",
        json={"session_recording_ids": ["x"]},
        headers={"Authorization": f"Bearer {info['api_key']}"},
        timeout=10,
    ).status_code


def test_cli_default_profile_is_cloud(tmp_path: Path) -> None:
    with _serve(tmp_path) as info:
        assert info["profile"] == "cloud" and info["api_key"] == "phx_emulator_test_key"
        assert _bulk_delete_status(info) == 403


def test_cli_profile_option(tmp_path: Path) -> None:
    with _serve(tmp_path, "--profile", "self_hosted_legacy", "--recordings", "3") as info:
        assert info["profile"] == "self_hosted_legacy"
        assert _bulk_delete_status(info) == 200
        listed = requests.get(
            f"{info['url']}/api/projects/1/session_recordings/",
            params={"date_from": "-90d", "limit": "1"},
            headers={"Authorization": f"Bearer {info['api_key']}"},
            timeout=10,
        ).json()
        assert listed["has_next"] is True and "next_cursor" not in listed  # offset only
    with _serve(tmp_path, "--profile", "cloud", "--bulk-mode", "allow") as info:
        assert _bulk_delete_status(info) == 200  # an explicit option overrides the profile


def test_cli_help_lists_the_profiles_and_defaults() -> None:
    result = subprocess.run(
        [*MODULE, "--help"], env=ENV, capture_output=True, text=True, timeout=30, check=True
    )
    for name in ("cloud", "cloud_bulk_delete", "self_hosted_legacy", "permissive"):
        assert f"  {name} " in result.stdout
    assert "phx_emulator_test_key" in result.stdout and "project 1" in result.stdout
    assert "--no-rate-limits" in result.stdout


def _snapshot_statuses(info: dict[str, Any], count: int) -> list[int]:
    headers = {"Authorization": f"Bearer {info['api_key']}"}
    listed = requests.get(
        f"{info['url']}/api/projects/1/session_recordings/",
        params={"date_from": "-90d", "limit": "1"},
        headers=headers,
        timeout=10,
    ).json()
    rid = listed["results"][0]["id"]
    url = f"{info['url']}/api/projects/1/session_recordings/{rid}/snapshots"
    return [requests.get(url, headers=headers, timeout=10).status_code for _ in range(count)]


def test_cli_snapshot_plan_option(tmp_path: Path) -> None:
    with _serve(tmp_path, "--recordings", "2") as info:  # free by default: 12 a minute
        assert _snapshot_statuses(info, 13) == [200] * 12 + [429]
    with _serve(tmp_path, "--recordings", "2", "--snapshot-plan", "paid") as info:
        assert _snapshot_statuses(info, 13) == [200] * 13


def test_cli_admin_routes_let_another_process_add_delete_and_look(tmp_path: Path) -> None:
    """What a system test in another process needs: plant recordings, delete some as someone
    else would, read what exists and every request with its status (429s), all without a
    key and outside the budgets; off unless --admin."""
    args = ("--recordings", "6", "--rate-limit", "2", "--window-scale", "0.05", "--admin")
    with _serve(tmp_path, *args) as info:
        admin = f"{info['url']}/_emulator"
        listed = requests.get(f"{admin}/recordings", timeout=10).json()
        assert len(listed["recordings"]) == 6 and listed["deleted_ids"] == []
        planted = requests.post(
            f"{admin}/recordings",
            json={"recordings": [{"start_time": "2026-01-02T03:04:05+00:00", "ongoing": False}]},
            timeout=10,
        ).json()["recordings"]
        assert planted[0]["start_time"].startswith("2026-01-02T03:04:05")
        seeded = requests.post(
            f"{admin}/seed", json={"n": 2, "days": 3, "seed": 9, "end": "2026-01-01"}, timeout=10
        ).json()["ids"]
        gone = [planted[0]["id"], "no-such-id"]
        answer = requests.post(f"{admin}/delete", json={"ids": gone}, timeout=10).json()
        assert answer == {"deleted": [planted[0]["id"]]}
        listed = requests.get(f"{admin}/recordings", timeout=10).json()
        assert len(listed["recordings"]) == 8 and set(seeded) <= {
            r["id"] for r in listed["recordings"]
        }
        assert listed["deleted_ids"] == [planted[0]["id"]]
        # The budget: 2 requests per 3 s (a minute scaled by 0.05); admin calls are free.
        url = f"{info['url']}/api/projects/1/session_recordings/"
        headers = {"Authorization": f"Bearer {info['api_key']}"}
        statuses = [requests.get(url, headers=headers, timeout=10).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        time.sleep(3.1)
        assert requests.get(url, headers=headers, timeout=10).status_code == 200
        # Another key has budgets of its own.
        requests.post(f"{admin}/keys", json={"key": "phx_other_key"}, timeout=10).raise_for_status()
        other = {"Authorization": "Bearer phx_other_key"}
        assert requests.get(url, headers=other, timeout=10).status_code == 200
        seen = requests.get(f"{admin}/requests", timeout=10).json()["requests"]
        assert [r["status"] for r in seen] == [200, 200, 429, 200, 200]
        assert all(r["path"].startswith("/api/") and r["at"] > 1e9 for r in seen)
    with _serve(tmp_path) as info:
        assert requests.get(f"{info['url']}/_emulator/recordings", timeout=10).status_code == 404


def test_cli_admin_fault_route_gives_the_next_matching_requests_a_fault(tmp_path: Path) -> None:
    """``POST /_emulator/faults``: another process makes the next matching request fail (or
    slow) after ``skip`` matches, e.g. to stop a worker while its request is in flight."""
    with _serve(tmp_path, "--recordings", "2", "--admin") as info:
        admin = f"{info['url']}/_emulator"
        url = f"{info['url']}/api/projects/1/session_recordings/"
        headers = {"Authorization": f"Bearer {info['api_key']}"}
        fault = {"kind": "503", "method": "GET", "path_contains": "session_recordings", "skip": 1}
        answer = requests.post(f"{admin}/faults", json=fault, timeout=10)
        assert answer.status_code == 200, answer.text
        statuses = [requests.get(url, headers=headers, timeout=10).status_code for _ in range(3)]
        assert statuses == [200, 503, 200]
        slow = {"kind": "slow", "seconds": 1.5, "method": "GET"}
        counters = requests.post(f"{admin}/faults", json=slow, timeout=10).json()
        assert counters == {"faults_injected": {"503": 1}}
        started = time.monotonic()
        assert requests.get(url, headers=headers, timeout=10).status_code == 200
        assert time.monotonic() - started >= 1.5
        bad = requests.post(f"{admin}/faults", json={"times": 1}, timeout=10)
        assert bad.status_code == 400 and "kind" in bad.json()["detail"]
