"""Playlists (and their quirks) and sharing against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import (
    PostHogConfigError,
    PostHogNotFoundError,
)


def test_create_get_update_and_soft_delete_a_collection(posthog: Any, client: Any) -> None:
    created = client.create_playlist("Support cases", description="from tickets", pinned=True)
    assert created.type == "collection" and created.pinned and created.short_id
    assert client.get_playlist(created.short_id).name == "Support cases"
    renamed = client.update_playlist(created.short_id, name="Support")
    assert renamed.name == "Support"
    client.playlists.delete_playlist(created.short_id)
    with pytest.raises(PostHogNotFoundError):
        client.get_playlist(created.short_id)
    assert [p.short_id for p in client.iter_playlists()] == []


def test_updating_a_filters_playlist_resends_its_filters(posthog: Any, client: Any) -> None:
    filters = {
        "date_from": "-7d",
        "duration": [{"type": "recording", "key": "duration", "operator": "gt", "value": 1}],
        "filter_group": {"type": "AND", "values": []},
    }
    saved = client.create_playlist("Errors", type="filters", filters=filters)
    assert client.update_playlist(saved.short_id, pinned=True).pinned
    patch = [r for r in posthog.requests if r.method == "PATCH"][-1]
    assert patch.body["filters"] == filters
    client.playlists.delete_playlist(saved.short_id)
    assert posthog.playlists()[0]["deleted"] is True


def test_collection_with_filters_is_refused_before_sending(posthog: Any, client: Any) -> None:
    with pytest.raises(PostHogConfigError):
        client.create_playlist("x", type="collection", filters={"a": 1})
    assert posthog.request_count == 0


def test_items_add_remove_and_list(posthog: Any, client: Any) -> None:
    ids = posthog.seed_recordings(45, days=5)
    playlist = client.create_playlist("Mine")
    client.add_to_playlist(playlist.short_id, ids)
    client.add_to_playlist(playlist.short_id, ids[:5])
    assert sorted(posthog.playlist_items(playlist.short_id)) == sorted(ids)
    listed = [r.id for r in client.iter_playlist_recordings(playlist.short_id)]
    assert sorted(listed) == sorted(ids)
    assert client.remove_from_playlist(playlist.short_id, ids[:10]) == 10
    assert sorted(posthog.playlist_items(playlist.short_id)) == sorted(ids[10:])


def test_bulk_refused_falls_back_and_missing_items_count_as_removed(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(bulk_mode="refuse")
    ids = server.seed_recordings(6, days=5)
    client = client_for(server)
    playlist = client.create_playlist("Fallback")
    client.add_to_playlist(playlist.short_id, ids[:4])
    assert sorted(server.playlist_items(playlist.short_id)) == sorted(ids[:4])
    # ids[5] is not in the playlist: the real server answers 500 for it.
    assert client.remove_from_playlist(playlist.short_id, [ids[0], ids[5]]) == 2
    assert sorted(server.playlist_items(playlist.short_id)) == sorted(ids[1:4])
    statuses = [r.status for r in server.requests if r.method == "DELETE"]
    assert 500 in statuses


def test_sharing_unsaved_then_enabled_then_revoked(posthog: Any, client: Any) -> None:
    [rid] = posthog.seed_recordings(1, days=1)
    unsaved = client.get_sharing(rid)
    assert not unsaved.enabled and unsaved.share_url is None
    shared = client.enable_sharing(rid)
    assert shared.share_url == f"{posthog.url}/shared/{shared.access_token}"
    assert client.get_sharing(rid).access_token == shared.access_token
    assert rid in posthog.sharing_enabled_ids()
    revoked = client.disable_sharing(rid)
    assert revoked.share_url is None and rid not in posthog.sharing_enabled_ids()


def test_refresh_rotates_the_link(posthog: Any, client: Any) -> None:
    [rid] = posthog.seed_recordings(1, days=1)
    first = client.enable_sharing(rid)
    rotated = client.sharing.refresh_sharing(rid)
    assert rotated.access_token != first.access_token and rotated.share_url


def test_synthetic_playlists_are_recognised(emulator_factory: Any, client_for: Any) -> None:
    server = emulator_factory(synthetic_playlists=True)
    client = client_for(server)
    playlists = list(client.iter_playlists(include_synthetic=True))
    assert playlists and all(p.synthetic for p in playlists)
    assert list(client.iter_playlists()) == []  # left out unless asked for


def test_gateway_errors_on_single_removes_are_retried(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(bulk_mode="refuse")
    ids = server.seed_recordings(3, days=5)
    client = client_for(server)
    playlist = client.create_playlist("Retry")
    client.add_to_playlist(playlist.short_id, ids)
    server.inject("503", method="DELETE", path_contains="/recordings/")
    assert client.remove_from_playlist(playlist.short_id, ids[:1]) == 1
    assert server.faults_injected["503"] == 1
    assert sorted(server.playlist_items(playlist.short_id)) == sorted(ids[1:])


def test_pinned_false_is_applied_by_the_client(emulator_factory: Any, client_for: Any) -> None:
    server = emulator_factory(profile="cloud")
    server.create_playlist("pinned", pinned=True)
    server.create_playlist("plain")
    client = client_for(server)
    assert [p.name for p in client.iter_playlists(pinned=False)] == ["plain"]
    assert [p.name for p in client.iter_playlists(pinned=True)] == ["pinned"]
    sent = [r.query for r in server.requests if r.path.endswith("session_recording_playlists/")]
    assert "pinned" not in sent[0]  # PostHog would ignore "false" and answer pinned ones


def test_item_changes_permission_is_learnt_without_a_change(
    emulator_factory: Any, client_for: Any
) -> None:
    for profile, allowed in (("cloud", False), ("permissive", True)):
        server = emulator_factory(profile=profile)
        assert client_for(server).playlists.can_change_playlist_items() is allowed
        assert server.playlists() == [] or all(p["is_synthetic"] for p in server.playlists())
