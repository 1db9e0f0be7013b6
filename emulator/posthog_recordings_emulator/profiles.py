"""Server profiles: which PostHog the emulator pretends to be, and how options override it.

Each profile is a set of defaults; an emulator option given explicitly (not None) wins
over the profile's value. See :data:`PROFILES` for the names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from .schema_check import SCHEMA_PROFILES
from .state import EmulatorConfig

T = TypeVar("T")

#: Actions a personal API key may not call on PostHog Cloud (not mapped to a scope).
RECORDING_BULK_ACTIONS = frozenset(
    {"recordings.bulk_delete", "recordings.bulk_viewed", "recordings.bulk_not_viewed"}
)
PLAYLIST_ITEM_ACTIONS = frozenset({"playlists.item", "playlists.bulk_add", "playlists.bulk_delete"})

#: PostHog's budget of a personal API key on the recordings and playlists endpoints.
CLOUD_PER_MINUTE = 240
CLOUD_PER_HOUR = 1200
#: The tighter list-recordings budgets by plan: (per minute, per hour).
LIST_PLAN_LIMITS = {"free": (12, 60), "paid": (60, 300), "enterprise": (100, 400)}
#: The snapshots budgets by plan tier, on top of the key's (PostHog's defaults).
SNAPSHOT_PLAN_LIMITS = {"free": (12, 60), "paid": (60, 300), "enterprise": (100, 400)}
#: The plan tier whose snapshots budgets apply unless told otherwise (the strictest).
DEFAULT_SNAPSHOT_PLAN = "free"


def snapshot_limits(plan: str | None) -> tuple[int | None, int | None]:
    """The (per minute, per hour) snapshots budget of ``plan``; "none" or None for none."""
    if plan is None or plan == "none":
        return None, None
    if plan not in SNAPSHOT_PLAN_LIMITS:
        raise ValueError(f"unknown plan {plan!r}; known: {', '.join(SNAPSHOT_PLAN_LIMITS)}, none")
    return SNAPSHOT_PLAN_LIMITS[plan]


@dataclass(frozen=True)
class ServerProfile:
    """Defaults of one kind of PostHog server (see :data:`PROFILES`)."""

    name: str
    summary: str
    refused_to_keys: frozenset[str]
    offset_only: bool = False
    bulk_delete_cap: int = 100
    legacy_bulk_response: bool = False
    delete_missing_status: int = 204
    synthetic_playlists: bool = True
    paginated_playlist_items: bool = False
    rate_limit_per_minute: int = CLOUD_PER_MINUTE
    rate_limit_per_hour: int = CLOUD_PER_HOUR
    #: PostHog's published schema the list query and saved searches are checked against:
    #: "newer" (with ``hide_viewed_recordings``) or "0000f87b" (a server from before it).
    posthog_schema: str = "newer"
    snapshot_plan: str = DEFAULT_SNAPSHOT_PLAN


_CLOUD = ServerProfile(
    name="cloud",
    summary="PostHog Cloud for a personal API key (the default): bulk actions and "
    "playlist item changes are refused to keys (403)",
    refused_to_keys=RECORDING_BULK_ACTIONS | PLAYLIST_ITEM_ACTIONS,
)

PROFILES: dict[str, ServerProfile] = {
    profile.name: profile
    for profile in (
        _CLOUD,
        replace(
            _CLOUD,
            name="cloud_bulk_delete",
            summary="newest PostHog Cloud: like cloud, but recordings bulk_delete is "
            "accepted with session_recording:write",
            refused_to_keys=_CLOUD.refused_to_keys - {"recordings.bulk_delete"},
        ),
        replace(
            _CLOUD,
            name="self_hosted_legacy",
            summary="an older self-hosted server: offset pagination only, 404 on deleting a "
            "deleted recording, bulk_delete of 20 ids without failed_ids, paginated playlist "
            "items, no synthetic playlists, PostHog's schema of commit 0000f87b (no "
            "hide_viewed_recordings: a query with it is a 400)",
            refused_to_keys=PLAYLIST_ITEM_ACTIONS,
            offset_only=True,
            bulk_delete_cap=20,
            legacy_bulk_response=True,
            delete_missing_status=404,
            synthetic_playlists=False,
            paginated_playlist_items=True,
            posthog_schema="0000f87b",
        ),
        replace(
            _CLOUD,
            name="permissive",
            summary="every action allowed to keys; otherwise as cloud",
            refused_to_keys=frozenset(),
        ),
    )
}
DEFAULT_PROFILE = "cloud"


def get_profile(name: str) -> ServerProfile:
    """The profile called ``name``; ValueError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None


def pick(value: T | None, default: T) -> T:
    """``value`` when it was given (not None), else the profile's ``default``."""
    return default if value is None else value


def build_config(
    profile: ServerProfile,
    *,
    project_id: int,
    offset_only: bool | None,
    bulk_mode: str | None,
    bulk_delete_cap: int | None,
    legacy_bulk_response: bool | None,
    delete_missing_status: int | None,
    synthetic_playlists: bool | None,
    playlist_items_paginated: bool | None,
    playlist_items_max_rows: int | None,
    project_timezone: str,
    posthog_schema: str | None = None,
) -> EmulatorConfig:
    """The emulator's config: the profile's values, overridden by options given (not None)."""
    return EmulatorConfig(
        project_id=project_id,
        profile=profile.name,
        refused_to_keys=profile.refused_to_keys,
        offset_only=pick(offset_only, profile.offset_only),
        bulk_mode=bulk_mode,
        bulk_delete_cap=pick(bulk_delete_cap, profile.bulk_delete_cap),
        legacy_bulk_response=pick(legacy_bulk_response, profile.legacy_bulk_response),
        delete_missing_status=pick(delete_missing_status, profile.delete_missing_status),
        synthetic_playlists=pick(synthetic_playlists, profile.synthetic_playlists),
        paginated_playlist_items=pick(playlist_items_paginated, profile.paginated_playlist_items),
        playlist_items_max_rows=playlist_items_max_rows,
        project_timezone=project_timezone,
        posthog_schema=_schema_profile(pick(posthog_schema, profile.posthog_schema)),
    )


def _schema_profile(name: str) -> str | None:
    """The schema profile of the config: None for "off" (nothing checked)."""
    if name == "off":
        return None
    if name not in SCHEMA_PROFILES:
        raise ValueError(f"posthog_schema must be one of {(*SCHEMA_PROFILES, 'off')}, not {name!r}")
    return name
