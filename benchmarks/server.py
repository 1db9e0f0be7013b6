"""Run a seeded PostHog emulator in a child process (so its memory is not counted as ours)."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from posthog_recordings_emulator import PostHogEmulator


@dataclass(frozen=True)
class ServerConfig:
    """How the benchmark's emulator behaves."""

    recordings: int
    latency: float
    rate_limit: int | None
    bulk_mode: str
    older_than_days: int


def _serve(config: ServerConfig, ready: Any, commands: Any) -> None:
    emulator = PostHogEmulator(
        # PostHog Cloud for a personal key; the newest Cloud when bulk deletes are accepted.
        profile="cloud_bulk_delete" if config.bulk_mode == "allow" else "cloud",
        latency=config.latency,
        rate_limits=bool(config.rate_limit),  # the per-minute pace; hours: benchmarks.long_run
        rate_limit_per_hour=0,
        rate_limit_per_minute=config.rate_limit,
    )
    # Every recording is older than the cutoff: the whole set is the purge's job.
    end = datetime.now(timezone.utc) - timedelta(days=config.older_than_days + 2)
    emulator.start()
    try:
        emulator.seed_recordings(config.recordings, days=60, end=end, seed=7)
        emulator.reset_requests()
        ready.send({"url": emulator.url, "api_key": emulator.api_key, "project_id": 1})
        while True:
            command = commands.recv()
            if command == "stats":
                statuses = [r.status for r in emulator.requests]
                commands.send(
                    {
                        "requests": len(statuses),
                        "throttled": statuses.count(429),
                        "left": len(emulator.recording_ids()),
                    }
                )
                emulator.reset_requests()
            else:
                break
    finally:
        emulator.stop()


class EmulatorProcess:
    """A context manager around the child process; ``.stats()`` reads and resets counters."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        ctx = mp.get_context("spawn")
        self._ready, child_ready = ctx.Pipe()
        self._commands, child_commands = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve, args=(config, child_ready, child_commands), daemon=True
        )
        self.info: dict[str, Any] = {}

    def __enter__(self) -> EmulatorProcess:
        self._process.start()
        if not self._ready.poll(600):
            raise RuntimeError("the emulator did not start in time")
        self.info = self._ready.recv()
        return self

    def stats(self) -> dict[str, int]:
        """Requests, 429s and recordings left since the last call."""
        self._commands.send("stats")
        result: dict[str, int] = self._commands.recv()
        return result

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._commands.send("stop")
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
