"""The emulator's command line: start, serve one request, stop cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]


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
