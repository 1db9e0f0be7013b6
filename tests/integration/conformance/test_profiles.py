"""The same scenarios against every emulator profile, with the real client over real HTTP.

Every scenario keeps PostHog's request budgets on both sides (the emulator's profile budgets
and the client's matching ones), on a simulated clock shared by both, and checks at the end
that the client never made the server throttle it. Listing and purge run in a project whose
time zone is America/New_York, so that a naive datetime sent anywhere moves a boundary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from posthog_recordings_emulator import PROFILES, PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.query import RecordingsQuery
from airflow_provider_posthog_recordings.jobs import curation, erasure, purge
from airflow_provider_posthog_recordings.jobs.curation import CurationSettings
from airflow_provider_posthog_recordings.jobs.erasure import ErasureSettings
from airflow_provider_posthog_recordings.jobs.purge import PurgeSettings
from tests.integration.conformance.helpers import NEW_YORK, NOW, start_time

Server = Callable[..., PostHogEmulator]
ClientOf = Callable[..., PostHogClient]


def refuses(profile: str, action: str) -> bool:
    """Whether the profile refuses ``action`` (e.g. ``recordings.bulk_viewed``) to a key."""
    return action in PROFILES[profile].refused_to_keys


def list_requests(emulator: PostHogEmulator) -> list[Any]:
    """The recordings-list requests the emulator received (existence checks included)."""
    return [
        r
        for r in emulator.requests
        if r.method == "GET" and r.path.endswith(f"/{emulator.project_id}/session_recordings/")
    ]


def assert_never_throttled(emulator: PostHogEmulator) -> None:
    """The client kept within the server's budgets: no 429 from any budget."""
    assert sum(emulator.throttles.values()) == 0, dict(emulator.throttles)
    assert not emulator.internal_errors, emulator.internal_errors[:1]


def test_every_profile_is_covered(profile: str) -> None:
    assert profile in PROFILES
    assert set(PROFILES) == {"cloud", "cloud_bulk_delete", "self_hosted_legacy", "permissive"}


# ----------------------------------------------------------------------------- listing


def test_listing_reads_every_page_once(profile: str, server: Server, client_of: ClientOf) -> None:
    emulator = server(profile, project_timezone=NEW_YORK)
    seeded = set(emulator.seed_recordings(230, days=30, seed=11, end=NOW))
    date_from = NOW - timedelta(days=31)
    date_to = NOW - timedelta(days=2)
    # Two hours either side of each bound: a bound sent without its offset is read five
    # hours off in New York, and these land on the wrong side.
    inside = [
        emulator.add_recording(start_time=date_from + timedelta(hours=2))["id"],
        emulator.add_recording(start_time=date_to - timedelta(hours=2))["id"],
    ]
    outside = [
        emulator.add_recording(start_time=date_from - timedelta(hours=2))["id"],
        emulator.add_recording(start_time=date_to + timedelta(hours=2))["id"],
    ]
    expected = {
        rid for rid in seeded | set(inside) if date_from <= start_time(emulator, rid) < date_to
    }
    client = client_of(emulator, page_size=20)

    listed = [
        rec.id
        for rec in client.iter_recordings(RecordingsQuery(date_from=date_from, date_to=date_to))
    ]

    assert len(listed) == len(set(listed)), "a recording was listed twice"
    assert set(listed) == expected
    assert set(inside) <= set(listed) and not set(outside) & set(listed)
    pages = list_requests(emulator)
    assert len(pages) >= len(expected) // 20
    later = pages[1:]
    if PROFILES[profile].offset_only:
        assert all("offset" in r.query and "after" not in r.query for r in later)
    else:
        assert all("after" in r.query for r in later)
    assert_never_throttled(emulator)


# ----------------------------------------------------------------------------- views


def test_mark_viewed_marks_exactly_the_existing_ones(
    profile: str, server: Server, client_of: ClientOf
) -> None:
    emulator = server(profile)
    ids = emulator.seed_recordings(45, days=10, seed=12, end=NOW)
    unknown = "0190aaaa-0000-7000-8000-000000000000"
    client = client_of(emulator)

    client.mark_viewed([*ids, unknown])

    assert emulator.viewed_ids() == set(ids)
    bulk = [r for r in emulator.requests if r.path.endswith("/bulk_viewed/")]
    patches = [r for r in emulator.requests if r.method == "PATCH"]
    if not refuses(profile, "recordings.bulk_viewed"):
        assert len(bulk) == 3 and not patches  # 46 ids, 20 a request
    else:
        # Refused once (403), remembered: one PATCH per id for the rest of the run.
        assert len(bulk) == 1 and bulk[0].status == 403
        assert len(patches) == len(ids) + 1
    assert_never_throttled(emulator)


# ----------------------------------------------------------------------------- sharing


def test_sharing_links_only_existing_recordings_and_revokes(
    profile: str, server: Server, monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    from airflow_provider_posthog_recordings.operators.recording_operators import (
        PostHogShareRecordingsOperator,
    )

    emulator = server(profile)
    ids = emulator.seed_recordings(3, days=5, seed=13, end=NOW)
    unknown = "0190bbbb-0000-7000-8000-000000000000"
    connection = {
        "conn_type": "posthog",
        "host": emulator.url,
        "password": emulator.api_key,
        "extra": {"project_id": emulator.project_id},
    }
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(connection))
    mocker.patch("airflow_provider_posthog_recordings.client.http.backoff.sleep")

    # The operator fails the task with the client's own error.
    with pytest.raises(Exception, match=f"{unknown}.*nothing was shared"):
        PostHogShareRecordingsOperator(task_id="s", recording_ids=[ids[0], unknown]).execute({})
    assert emulator.sharing_enabled_ids() == set(), "a link was made before the check failed"

    links = PostHogShareRecordingsOperator(task_id="s", recording_ids=ids[:2]).execute({})
    assert set(links) == set(ids[:2]) and emulator.sharing_enabled_ids() == set(ids[:2])
    tokens = {rid: str(url).rsplit("/shared/", 1)[1] for rid, url in links.items()}
    assert all(str(url).startswith(f"{emulator.url}/shared/") for url in links.values())
    assert all(emulator.share_token_valid(token) for token in tokens.values())

    revoked = PostHogShareRecordingsOperator(
        task_id="r", recording_ids=[ids[0]], enabled=False
    ).execute({})
    assert revoked == {ids[0]: None}
    assert not emulator.share_token_valid(tokens[ids[0]])
    assert emulator.share_token_valid(tokens[ids[1]])
    assert emulator.sharing_enabled_ids() == {ids[1]}


# ----------------------------------------------------------------------------- delete


def test_deleting_explicit_ids_accounts_exactly(
    profile: str, server: Server, client_of: ClientOf
) -> None:
    emulator = server(profile)
    ids = emulator.seed_recordings(130, days=20, seed=14, end=NOW)
    gone_before = ids[7]
    emulator.delete_recording(gone_before)  # someone else deleted it
    unknown = "0190cccc-0000-7000-8000-000000000000"
    client = client_of(emulator)

    result = client.delete_recordings([*ids, unknown])

    by_api = emulator.deleted_ids - {gone_before}
    assert by_api == set(ids) - {gone_before}
    assert set(result.deleted) == by_api and result.deleted_count == len(by_api)
    assert set(result.already_gone) == {gone_before, unknown}
    assert result.already_gone_count == 2
    assert not result.failed and not result.unattributed and not result.unsent
    assert emulator.recording_ids() == set()
    assert_never_throttled(emulator)


# ----------------------------------------------------------------------------- purge


def test_purge_keeps_a_pinned_collection_larger_than_a_page(
    profile: str, server: Server, client_of: ClientOf
) -> None:
    emulator = server(profile, project_timezone=NEW_YORK)
    emulator.seed_recordings(320, days=90, seed=15, end=NOW)
    cutoff = NOW - timedelta(days=30)
    just_old = emulator.add_recording(start_time=cutoff - timedelta(hours=2), end_time=None)["id"]
    just_young = emulator.add_recording(start_time=cutoff + timedelta(hours=2))["id"]
    old = sorted(rid for rid in emulator.recording_ids() if start_time(emulator, rid) < cutoff)
    protected = [rid for rid in old if rid != just_old][:120]
    emulator.create_playlist("Keep forever", pinned=True, recording_ids=protected)
    expected = set(old) - set(protected)
    assert len(expected) > 50 and just_old in expected
    client = client_of(emulator, page_size=50)

    manifest = purge.run(
        client, PurgeSettings(older_than_days=30, reference=NOW, max_deletions=None)
    ).manifest

    deleted = emulator.deleted_ids
    assert not deleted & set(protected), "a protected recording was deleted"
    assert deleted == expected
    assert just_young in emulator.recording_ids()
    assert manifest["deleted"] == len(deleted)
    assert manifest["already_gone"] == 0 and manifest["failed"] == 0
    assert manifest["kept"].get("protected_playlist") == 120
    assert_never_throttled(emulator)


# ----------------------------------------------------------------------------- curation


def test_curation_saved_search_works_on_every_profile(
    profile: str, server: Server, client_of: ClientOf
) -> None:
    emulator = server(profile)
    emulator.seed_recordings(20, days=10, seed=16, end=NOW)
    client = client_of(emulator)
    settings = CurationSettings(name="Slow checkouts", query={"date_from": "-7d"})

    first = curation.run(client, settings)
    second = curation.run(client, settings)

    stored = [p for p in emulator.playlists() if p["name"] == "Slow checkouts"]
    assert len(stored) == 1 and stored[0]["type"] == "filters"
    assert stored[0]["filters"]["date_from"] == "-7d"
    assert first["created"] and not second["created"] and not second["updated"]
    assert first["short_id"] == second["short_id"] == stored[0]["short_id"]
    assert_never_throttled(emulator)


def test_curation_collection_where_allowed_else_a_clear_refusal(
    profile: str, server: Server, client_of: ClientOf
) -> None:
    emulator = server(profile)
    emulator.seed_recordings(40, days=10, seed=17, end=NOW)
    client = client_of(emulator)
    settings = CurationSettings(
        name="Hand-picked",
        query={"date_from": "-30d"},
        playlist_type="collection",
        max_recordings=25,
    )

    if not refuses(profile, "playlists.item"):
        summary = curation.run(client, settings)
        items = emulator.playlist_items(summary["short_id"])
        newest = [rec.id for rec in client.iter_recordings({"date_from": "-30d"}, max_results=25)]
        assert summary["created"] and set(items) == set(newest) and len(items) == 25
    else:
        with pytest.raises(PostHogConfigError, match=r"playlist_type='filters'"):
            curation.run(client, settings)
        assert emulator.playlists() == [], "a playlist was created before the refusal"
        changes = [r for r in emulator.requests if r.method != "GET" and r.status != 403]
        assert changes == [], "only the refused permission probe may change anything"
    assert_never_throttled(emulator)


# ----------------------------------------------------------------------------- erasure


def test_erasure_deletes_every_recording_of_a_person(
    profile: str, server: Server, client_of: ClientOf
) -> None:
    emulator = server(profile)
    others = set(emulator.seed_recordings(60, days=60, seed=18, end=NOW))
    person = "person-to-forget@example.com"
    theirs = {
        emulator.add_recording(distinct_id=person, start_time=NOW - timedelta(days=days))["id"]
        for days in (400, 95, 3)
    }
    client = client_of(emulator)

    manifest = erasure.run(client, ErasureSettings(distinct_ids=[person])).manifest

    assert emulator.deleted_ids == theirs
    assert emulator.recording_ids() == others
    assert manifest["deleted"] == 3 and manifest["remaining"] == 0
    assert manifest["already_gone"] == 0 and manifest["failed"] == 0
    assert_never_throttled(emulator)
