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
MODULE = [sys.executable, "-m", "airflow_provider_posthog_recordings.testing"]


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
        "airflow_provider_posthog_recordings.testing",
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
