"""Keeping a collection playlist in step with a recordings query (no Airflow import)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.errors import (
    PostHogConfigError,
    PostHogConnectionError,
    PostHogServerError,
)
from airflow_provider_posthog_recordings.models import Playlist
from airflow_provider_posthog_recordings.policies import plan_curation
from airflow_provider_posthog_recordings.query import RecordingsQuery

log = logging.getLogger(__name__)


@dataclass
class CurationSettings:
    """What to curate.

    Attributes:
        name: the playlist's exact name (found, or created as a collection).
        query: the recordings that belong in it.
        max_recordings: the newest this many matching recordings are the target.
        remove_stale: remove items outside the target (no longer matching, gone, pushed out).
        pinned: pin the playlist (PostHog keeps pinned recordings one year).
        description: the playlist's description (None leaves it alone).
    """

    name: str
    query: RecordingsQuery | Mapping[str, Any] | None
    max_recordings: int = 100
    remove_stale: bool = False
    pinned: bool = False
    description: str | None = None


def playlist_url(client: PostHogClient, short_id: str) -> str:
    """The playlist's page in PostHog's app."""
    return f"{client.base_url}/project/{client.project_id}/replay/playlists/{short_id}"


def find_playlist(client: PostHogClient, name: str) -> Playlist | None:
    """The one live, non-system playlist with exactly this name, or None.

    Raises:
        PostHogConfigError: several playlists have the name, or it is a ``filters`` playlist.
    """
    matches = [
        playlist
        for playlist in client.iter_playlists(search=name)
        if playlist.name == name and not playlist.deleted and not playlist.synthetic
    ]
    if len(matches) > 1:
        ids = ", ".join(p.short_id for p in matches)
        raise PostHogConfigError(
            f"{len(matches)} playlists are named {name!r} ({ids}): rename or delete the extra "
            "ones so that curation knows which to keep in step"
        )
    if matches and not matches[0].is_collection:
        raise PostHogConfigError(
            f"playlist {name!r} ({matches[0].short_id}) is a saved search ('filters' type) and "
            "cannot hold recordings: choose another name"
        )
    return matches[0] if matches else None


def find_or_create_playlist(client: PostHogClient, settings: CurationSettings) -> Playlist:
    """Find the playlist by name or create it; a lost answer to the create is looked up."""
    existing = find_playlist(client, settings.name)
    if existing is not None:
        return existing
    log.info("Creating collection playlist %r", settings.name)
    try:
        return client.create_playlist(
            settings.name,
            type="collection",
            description=settings.description,
            pinned=settings.pinned,
        )
    except (PostHogConnectionError, PostHogServerError):
        created = find_playlist(client, settings.name)
        if created is None:
            raise
        log.info("The create's answer was lost, but playlist %s exists", created.short_id)
        return created


def curate_playlist(client: PostHogClient, settings: CurationSettings) -> dict[str, Any]:
    """Bring the playlist in step with the query; return a small summary.

    Returns:
        ``{"short_id", "url", "added", "removed", "total"}``.
    """
    if not settings.name or not settings.name.strip():
        raise PostHogConfigError("the playlist name must not be empty")
    if settings.max_recordings < 0:
        raise PostHogConfigError("max_recordings must be 0 or more")
    query = RecordingsQuery.parse(settings.query)
    playlist = find_or_create_playlist(client, settings)
    short_id = playlist.short_id
    current = [rec.id for rec in client.iter_playlist_recordings(short_id)]
    matching = (
        [rec.id for rec in client.iter_recordings(query, max_results=settings.max_recordings)]
        if settings.max_recordings
        else []
    )
    plan = plan_curation(
        current,
        matching,
        max_recordings=settings.max_recordings,
        remove_stale=settings.remove_stale,
    )
    log.info(
        "Playlist %s holds %d; %d match; adding %d, removing %d",
        short_id,
        len(current),
        len(matching),
        len(plan.add),
        len(plan.remove),
    )
    if plan.add:
        client.add_to_playlist(short_id, plan.add)
    if plan.remove:
        client.remove_from_playlist(short_id, plan.remove)
    changes: dict[str, Any] = {}
    if playlist.pinned != settings.pinned:
        changes["pinned"] = settings.pinned
    if settings.description is not None and playlist.description != settings.description:
        changes["description"] = settings.description
    if changes:
        client.update_playlist(short_id, **changes)
    return {
        "short_id": short_id,
        "url": playlist_url(client, short_id),
        "added": len(plan.add),
        "removed": len(plan.remove),
        "total": len(set(current) | set(plan.add)) - len(plan.remove),
    }
