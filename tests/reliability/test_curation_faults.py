"""Playlist curation under random faults: one playlist, each recording in it once, and a
rerun without faults brings it exactly in step with the query."""

from __future__ import annotations

import random
import traceback
from datetime import timedelta
from typing import Any

import pytest
import requests
from posthog_recordings_emulator import PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.jobs.curation import CurationSettings
from airflow_provider_posthog_recordings.jobs.curation import run as curate_playlist
from tests.reliability.schedules import (
    ALL_KINDS,
    CLIENT_TIMEOUT,
    NOW,
    SLOW_SECONDS,
    capture_logs,
    error_is_clear,
    find_leaks,
    no_wait,
    parse_time,
    wait_idle,
)

NAME = "Console errors this week"
QUERY = {
    "date_from": "-7d",
    "console_log_filters": [
        {"key": "level", "type": "log_entry", "operator": "exact", "value": ["error"]}
    ],
}


def _target(emulator: PostHogEmulator, limit: int) -> list[str]:
    """The newest ``limit`` matching recordings, computed from the emulator's data."""
    since = NOW - timedelta(days=7)
    matching = []
    for rid in emulator.recording_ids():
        record = emulator.recording(rid)
        start = parse_time(record["start_time"])
        if start is not None and start >= since and (record.get("console_error_count") or 0):
            matching.append((start, rid))
    return [rid for _, rid in sorted(matching, reverse=True)[:limit]]


def _live(emulator: PostHogEmulator) -> list[dict[str, Any]]:
    return [p for p in emulator.playlists() if p["name"] == NAME and not p["deleted"]]


def _check(emulator: PostHogEmulator) -> list[str]:
    live = _live(emulator)
    assert len(live) <= 1, f"{len(live)} playlists named {NAME!r}"
    items = emulator.playlist_items(live[0]["short_id"]) if live else []
    assert len(items) == len(set(items)), f"duplicate items: {items}"
    return items


@pytest.mark.parametrize("seed", range(2000, 2020), ids=lambda seed: f"seed-{seed}")
def test_curation_under_faults_never_duplicates(seed: int) -> None:
    rng = random.Random(f"curation:{seed}")
    key = f"phx_curation_{seed}_{rng.getrandbits(64):016x}"
    emulator = PostHogEmulator(
        profile="permissive",  # a collection needs a server that lets keys change items
        rate_limits=False,
        playlist_items_paginated=True,
        api_key=key,
        clock=lambda: NOW,
        bulk_mode=rng.choice(["allow", "allow", "refuse", "missing"]),
        offset_only=rng.random() < 0.3,
    ).start()
    try:
        emulator.seed_recordings(
            rng.randint(80, 200), days=14, seed=seed, end=NOW, error_fraction=0.3
        )
        stale: list[str] = []
        if rng.random() < 0.5:  # a playlist from earlier runs, with items no longer wanted
            stale = rng.sample(sorted(emulator.recording_ids()), 5)
            emulator.create_playlist(NAME, recording_ids=stale)
        limit = rng.choice([10, 25, 60])
        remove_stale = rng.random() < 0.5
        settings = CurationSettings(
            name=NAME,
            query=QUERY,
            playlist_type="collection",
            max_recordings=limit,
            remove_stale=remove_stale,
            pinned=rng.random() < 0.5,
            description=rng.choice([None, "Kept in step by Airflow"]),
        )
        target = _target(emulator, limit)
        kinds = rng.sample(ALL_KINDS, rng.randint(2, len(ALL_KINDS)))
        emulator.random_faults(
            seed=seed, rate=rng.uniform(0.1, 0.3), kinds=kinds, seconds=SLOW_SECONDS
        )
        # The first write (creating the playlist, or adding to it) acts, or not, and its
        # answer is lost: the case that could make a second playlist or a second item.
        emulator.inject(
            rng.choice(["drop_after", "truncated", "slow", "drop_before", "502"]),
            method="POST",
            path_contains="/session_recording_playlists/",
            seconds=SLOW_SECONDS,
            skip=1,  # the first POST is the side-effect-free permission probe
        )
        texts: dict[str, Any] = {}
        sent = 0
        with capture_logs() as lines:
            for attempt in range(4):
                if attempt == 2:
                    emulator.clear_faults()  # the later retries find a healthy server
                client = PostHogClient(
                    emulator.url,
                    key,
                    emulator.project_id,
                    timeout=CLIENT_TIMEOUT,
                    max_retries=rng.choice([1, 4]),
                    max_throttle_retries=6,
                    page_size=rng.choice([10, 50, 500]),
                    requests_per_minute=None,
                    concurrency=rng.randint(1, 4),
                    sleep=no_wait,
                    session=requests.Session(),
                )
                try:
                    summary = curate_playlist(client, settings)
                except Exception as exc:
                    unclear = error_is_clear(exc)
                    assert unclear is None, unclear
                    texts[f"error {attempt}"] = "".join(traceback.format_exception(exc))
                    summary = None
                finally:
                    sent += client.request_count
                    client.close()
                wait_idle(emulator, sent)  # a retried task starts after a delay
                _check(emulator)
                if summary is not None:
                    texts[f"summary {attempt}"] = summary
                    if attempt >= 2:
                        break
            else:
                pytest.fail("curation did not complete once faults stopped")
        texts.update({f"log {i}": line for i, line in enumerate(lines)})
        assert find_leaks(key, texts) == []

        items = _check(emulator)
        assert set(target) <= set(items)
        if remove_stale:
            assert set(items) == set(target)
        else:
            assert set(items) <= set(target) | set(stale)
        playlist = _live(emulator)[0]
        assert playlist["pinned"] == settings.pinned
        if settings.description is not None:
            assert playlist["description"] == settings.description
        assert sum(emulator.faults_injected.values()) > 0
    finally:
        emulator.stop()
