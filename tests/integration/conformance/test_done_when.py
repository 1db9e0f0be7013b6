"""The issue's "done when" checks, each against the server profile it names.

1. PostHog Cloud: a purge with a pinned collection of 120 old recordings (items endpoint
   ignoring paging) deletes every other old one and none of the 120.
2. A collection that cannot be read whole (``playlist_items_max_rows``): the purge deletes
   none of its items (it asks each candidate's playlists), or fails before deleting anything.
3. Someone else deletes candidates between the listing and the first bulk call: they are
   reported already gone, never deleted, and ``deleted`` is what the API deleted.
4. 3,000 recordings on Cloud with budgets of 60/minute and 300/hour on both sides (ten hours,
   simulated): no 429 from the hourly budget.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from posthog_recordings_emulator import PROFILES, PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.jobs import purge
from airflow_provider_posthog_recordings.jobs.deletion import DeletionRecord, read_deletion_record
from airflow_provider_posthog_recordings.jobs.purge import PurgeSettings
from tests.integration.conformance.helpers import (
    NEW_YORK,
    NOW,
    HookedSession,
    OutOfBand,
    SimClock,
    sim_client,
    start_time,
)

Server = Callable[..., PostHogEmulator]
ClientOf = Callable[..., PostHogClient]

OLDER_THAN_DAYS = 30
CUTOFF = NOW - timedelta(days=OLDER_THAN_DAYS)


def seed_with_pinned_collection(
    emulator: PostHogEmulator, protected_count: int = 120
) -> tuple[list[str], set[str]]:
    """Seed old and young recordings and pin a collection of ``protected_count`` old ones.

    Returns the protected ids and the ids the purge must delete (every other old one).
    """
    emulator.seed_recordings(330, days=90, seed=21, end=NOW)
    old = sorted(rid for rid in emulator.recording_ids() if start_time(emulator, rid) < CUTOFF)
    protected = old[:protected_count]
    emulator.create_playlist("Pinned for legal", pinned=True, recording_ids=protected)
    return protected, set(old) - set(protected)


def settings(**changes: object) -> PurgeSettings:
    """The purge of these checks: older than 30 days before NOW, no typo cap."""
    base = PurgeSettings(older_than_days=OLDER_THAN_DAYS, reference=NOW, max_deletions=None)
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def test_cloud_purge_keeps_all_120_of_a_pinned_collection(
    server: Server, client_of: ClientOf
) -> None:
    emulator = server("cloud", project_timezone=NEW_YORK)
    protected, expected = seed_with_pinned_collection(emulator)
    assert len(expected) > 50
    client = client_of(emulator, page_size=50)

    manifest = purge.run(client, settings()).manifest

    deleted = emulator.deleted_ids
    assert not deleted & set(protected)
    assert deleted == expected
    assert manifest["deleted"] == len(deleted)
    items = [r for r in emulator.requests if r.path.endswith("/recordings/") and r.method == "GET"]
    assert items, "the collection's items were never read"
    assert emulator.throttles["minute"] == emulator.throttles["hour"] == 0


@pytest.mark.parametrize("profile", ["cloud", "cloud_bulk_delete", "self_hosted_legacy"])
def test_a_collection_that_cannot_be_read_whole_still_protects_every_item(
    profile: str, server: Server, client_of: ClientOf
) -> None:
    # The items endpoint answers at most 50 of the 120 items in its one answer (PostHog's
    # one-year window, a capped answer): the purge must find the other 70 some other way, or
    # stop. (The legacy server pages its items, so there paging reads them all.)
    emulator = server(profile, project_timezone=NEW_YORK, playlist_items_max_rows=50)
    protected, expected = seed_with_pinned_collection(emulator)
    client = client_of(emulator, page_size=50)

    try:
        manifest = purge.run(client, settings()).manifest
    except PostHogError:
        assert emulator.deleted_ids == set(), "failed, but only after deleting"
        return
    deleted = emulator.deleted_ids
    assert not deleted & set(protected), "a protected recording was deleted"
    assert deleted == expected
    assert manifest["deleted"] == len(deleted)
    lookups = [r for r in emulator.requests if "session_recording_id" in r.query]
    if not PROFILES[profile].paginated_playlist_items:
        assert lookups, "each candidate's playlists should have been asked for"


def _purge_with_others_deleting(
    emulator: PostHogEmulator,
    sim: SimClock,
    tmp_path: Path,
    moment: Callable[[str, str], bool],
) -> tuple[dict[str, object], OutOfBand, list[str]]:
    """Purge while someone else deletes 3 candidates at the first request ``moment`` picks.

    Returns the manifest, the out-of-band deleter and the 3 ids.
    """
    _, expected = seed_with_pinned_collection(emulator)
    victims = sorted(expected)[10:13]
    others = OutOfBand(emulator)

    def before(method: str, url: str) -> None:
        if not others.ids and moment(method, url):
            others.delete(victims)

    client = sim_client(emulator, sim, page_size=50, session=HookedSession(before))
    record = DeletionRecord(folder=tmp_path, run_id="run-1", cutoff=None, policy={})
    try:
        manifest = purge.run(client, settings(record=record)).manifest
    finally:
        client.close()
    assert others.ids == set(victims), "the out-of-band deletion did not happen"
    by_api = others.deleted_through_api()
    assert by_api == expected - set(victims)
    assert manifest["deleted"] == len(by_api)
    assert manifest["already_gone"] == 3 and manifest["failed"] == 0
    assert not set(manifest["deleted_ids"]) & set(victims)  # type: ignore[arg-type]
    lines = read_deletion_record(tmp_path, "run-1")
    claimed = {line["recording_id"] for line in lines if line["outcome"] == "deleted"}
    assert not claimed & set(victims), "the durable record claims an id someone else deleted"
    assert claimed <= by_api
    return manifest, others, victims


def test_others_deleting_before_the_first_bulk_call_are_already_gone(
    server: Server, sim: SimClock, tmp_path: Path
) -> None:
    # After the listing and the existence check, just before the first bulk_delete: PostHog
    # skips the 3 silently, and only looking afterwards can tell.
    emulator = server("cloud_bulk_delete")

    def first_bulk_call(method: str, url: str) -> bool:
        return method == "POST" and url.endswith("/session_recordings/bulk_delete/")

    _purge_with_others_deleting(emulator, sim, tmp_path, first_bulk_call)


def test_on_cloud_others_deleting_before_the_refused_bulk_call_are_already_gone(
    server: Server, sim: SimClock, tmp_path: Path
) -> None:
    # The same moment on PostHog Cloud for a personal API key: the bulk call is refused.
    emulator = server("cloud")

    def first_bulk_call(method: str, url: str) -> bool:
        return method == "POST" and url.endswith("/session_recordings/bulk_delete/")

    _purge_with_others_deleting(emulator, sim, tmp_path, first_bulk_call)


def test_others_deleting_right_after_the_listing_are_already_gone(
    server: Server, sim: SimClock, tmp_path: Path
) -> None:
    # Right after the listing, before the existence check of the first group.
    emulator = server("cloud_bulk_delete")

    def existence_check(method: str, url: str) -> bool:
        return method == "GET" and "session_ids=" in url

    _purge_with_others_deleting(emulator, sim, tmp_path, existence_check)


def test_3000_deletions_with_bulk_refused_stay_within_the_hourly_budget(
    server: Server, sim: SimClock
) -> None:
    # Ten hours of PostHog Cloud at a paid plan's listing budget (60/minute, 300/hour),
    # simulated: the emulator and the client share one clock that sleeps instantly. One
    # thread: concurrent simulated sleeps would add up and make time run too fast, which
    # would hide throttling.
    emulator = server("cloud", rate_limit_per_minute=60, rate_limit_per_hour=300)
    emulator.seed_recordings(3000, days=20, seed=22, end=NOW - timedelta(days=31))
    client = sim_client(emulator, sim, requests_per_minute=60, requests_per_hour=300, concurrency=1)
    try:
        outcome = purge.run(client, settings(reference=sim.now_utc(), max_deletions=None))
    finally:
        client.close()

    manifest = outcome.manifest
    assert not outcome.paused
    assert manifest["deleted"] == 3000 and len(emulator.deleted_ids) == 3000
    assert emulator.throttles["hour"] == 0, dict(emulator.throttles)
    assert emulator.throttles["minute"] == 0, dict(emulator.throttles)
    assert sim.slept >= 9 * 3600, "3,000 requests at 300/hour take about ten hours"
