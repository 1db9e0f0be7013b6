"""Bugs the fault schedules found, each pinned by the smallest case that showed it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from airflow_provider_posthog_recordings.client.http.pagination import PageRequest, next_page
from airflow_provider_posthog_recordings.jobs import purge
from airflow_provider_posthog_recordings.jobs.purge import PurgeSettings

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def _old(emulator: Any, days: int) -> list[str]:
    cutoff = NOW - timedelta(days=days)
    return sorted(
        rid
        for rid in emulator.recording_ids()
        if (start := parse_time(emulator.recording(rid)["start_time"])) and start < cutoff
    )


def test_offset_page_with_repeated_items_does_not_move_the_offset_past_unseen_items() -> None:
    sent = PageRequest(params={"limit": "20", "offset": "20"})
    page = {"results": [{"id": str(i)} for i in range(22)], "has_next": True}
    # Never further than the page size asked for: 2 extra items are a glitch, not the next
    # ones (reading 2 again is harmless, they are dropped as repeats; skipping 2 is not).
    assert next_page(page, sent, "https://us.posthog.com").params["offset"] == "40"
    after = next_page(page, sent, "https://us.posthog.com", repeated=2)
    assert after is not None and after.params["offset"] == "40"
    shorter = {"results": [{"id": str(i)} for i in range(20)], "has_next": True}
    fewer = next_page(shorter, sent, "https://us.posthog.com", repeated=3)
    assert fewer is not None and fewer.params["offset"] == "37"
    # A page made only of repeats still moves on (no loop).
    every = next_page(page, sent, "https://us.posthog.com", repeated=22)
    assert every is not None and every.params["offset"] == "40"


def test_protected_playlist_page_repeating_items_on_an_offset_server_deletes_nothing_protected(
    emulator_factory: Any, client_for: Any
) -> None:
    """Seed 126/103 of the schedules: offset pagination skipped two protected recordings.

    The second page of a protected playlist's items repeated two items of the first page;
    the client dropped them but still advanced the offset by the whole page, so the two
    items after it were never read, not protected, and deleted.
    """
    server = emulator_factory(clock=lambda: NOW, offset_only=True)
    server.seed_recordings(200, days=60, seed=3, end=NOW)
    old = _old(server, 30)
    protected = old[:45]
    server.create_playlist("Legal hold", recording_ids=protected)
    server.inject("repeat_items", method="GET", path_contains="/recordings/", skip=1)
    client = client_for(server, page_size=20)
    settings = PurgeSettings(
        older_than_days=30, reference=NOW, max_deletions=None, keep_playlists=["Legal hold"]
    )
    manifest = purge.run(client, settings).manifest
    assert server.faults_injected["repeat_items"] == 1
    assert server.deleted_ids == set(old) - set(protected)
    assert manifest["kept"] == {"protected_playlist": len(protected)}


def test_offset_listing_with_repeated_items_misses_no_candidate(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(clock=lambda: NOW, offset_only=True)
    server.seed_recordings(150, days=60, seed=4, end=NOW)
    old = _old(server, 30)
    server.inject("repeat_items", times=3, method="GET", path_contains="/session_recordings/")
    client = client_for(server, page_size=20)
    settings = PurgeSettings(older_than_days=30, reference=NOW, max_deletions=len(old))
    manifest = purge.run(client, settings).manifest
    assert server.faults_injected["repeat_items"] == 3
    assert manifest["candidates"] == len(old)
    assert server.deleted_ids == set(old)


def test_emulator_repeats_items_of_the_same_listing_only(emulator_factory: Any) -> None:
    """The emulator used to repeat the previous answer of any listing of the key: a playlist's
    first page could show recordings of another query (unlike any real server)."""
    server = emulator_factory(clock=lambda: NOW)
    server.seed_recordings(30, days=60, seed=5, end=NOW)
    playlist = server.create_playlist("P", recording_ids=_old(server, 30)[:3])
    base = f"{server.url}/api/projects/1"
    headers = {"Authorization": f"Bearer {server.api_key}"}
    requests.get(f"{base}/session_recordings/", params={"date_from": "-90d"}, headers=headers)
    server.inject("repeat_items")
    items = requests.get(
        f"{base}/session_recording_playlists/{playlist['short_id']}/recordings/", headers=headers
    ).json()["results"]
    assert server.faults_injected["repeat_items"] == 1
    assert sorted(item["id"] for item in items) == sorted(
        server.playlist_items(playlist["short_id"])
    )
