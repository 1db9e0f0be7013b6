"""The emulator's data: keys, recordings, views, sharing and playlists.

Plain containers with no locking of their own: the emulator holds one lock
around every read and write of an :class:`EmulatorState`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

READ = "read"
WRITE = "write"

SCOPE_RESOURCES = (
    "session_recording",
    "session_recording_playlist",
    "sharing_configuration",
)
ALL_SCOPES = frozenset(
    f"{resource}:{level}" for resource in SCOPE_RESOURCES for level in (READ, WRITE)
)

RETENTION_PERIOD_DAYS = 90
BULK_MODES = ("allow", "refuse", "missing")
BULK_ROUTES = frozenset(
    {
        "recordings.bulk_delete",
        "recordings.bulk_viewed",
        "recordings.bulk_not_viewed",
        "playlists.bulk_add",
        "playlists.bulk_delete",
    }
)


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulated server behaves (which PostHog version it pretends to be)."""

    project_id: int = 1
    profile: str = "cloud"
    refused_to_keys: frozenset[str] = frozenset()
    offset_only: bool = False
    bulk_mode: str | None = None
    bulk_delete_cap: int = 100
    bulk_playlist_cap: int = 20
    bulk_viewed_cap: int = 20
    legacy_bulk_response: bool = False
    delete_missing_status: int = 204
    synthetic_playlists: bool = False
    paginated_playlist_items: bool = False
    playlist_items_max_rows: int | None = None
    project_timezone: str = "UTC"
    posthog_schema: str | None = "newer"

    def refuses_key(self, route_name: str) -> bool:
        """Whether a personal API key is refused ``route_name`` whatever its scopes.

        ``bulk_mode`` "allow"/"refuse", when set, decides for every bulk endpoint.
        """
        if self.bulk_mode is not None and route_name in BULK_ROUTES:
            return self.bulk_mode == "refuse"
        return route_name in self.refused_to_keys


@dataclass
class User:
    """The PostHog user who owns a personal API key."""

    id: int
    email: str
    uuid: str
    first_name: str

    def as_json(self) -> dict[str, Any]:
        """The user as PostHog nests it in ``created_by`` fields."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            "distinct_id": f"user-{self.id}",
            "first_name": self.first_name,
            "last_name": "",
            "email": self.email,
            "is_email_verified": True,
        }


@dataclass
class ApiKey:
    """A personal API key: its scopes, the projects it may use and its owner."""

    key: str
    owner: User
    scopes: frozenset[str] = ALL_SCOPES
    project_ids: frozenset[int] | None = None

    def has_scope(self, scope: str) -> bool:
        """Whether the key grants ``scope`` (``x:write`` implies ``x:read``; ``*`` is all)."""
        if "*" in self.scopes or scope in self.scopes:
            return True
        resource, _, level = scope.partition(":")
        return level == READ and f"{resource}:{WRITE}" in self.scopes

    def may_use_project(self, project_id: int) -> bool:
        """Whether the key is allowed on ``project_id``."""
        return self.project_ids is None or project_id in self.project_ids


@dataclass
class SharingConfig:
    """A saved sharing configuration of one recording."""

    enabled: bool
    access_token: str
    created_at: datetime
    settings: dict[str, Any] = field(default_factory=dict)
    password_required: bool = False
    previous_tokens: dict[str, datetime] = field(default_factory=dict)  # token -> valid until


@dataclass
class EmulatorState:
    """Everything the server knows. Recordings are dicts with datetime start/end times."""

    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_ids: set[str] = field(default_factory=set)
    viewed_by: dict[str, set[int]] = field(default_factory=dict)
    sharing: dict[str, SharingConfig] = field(default_factory=dict)
    playlists: dict[str, dict[str, Any]] = field(default_factory=dict)
    playlist_items: dict[str, list[str]] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    persons: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    next_playlist_id: int = 1
    next_person_id: int = 1
    version: int = 0  # moves when a recording is added or replaced (not when deleted)
    # Snapshots: generated on first use and kept after deletion (for tests to compare with).
    snapshots: dict[str, Any] = field(default_factory=dict)
    # The UTC day a recording's existence was last confirmed to the snapshots endpoint
    # (PostHog caches it until midnight: a deleted recording then answers 410, not 404).
    snapshot_seen: dict[str, Any] = field(default_factory=dict)
    # (recording id, block index) -> failures still to serve (-1: always).
    failing_blocks: dict[tuple[str, int], int] = field(default_factory=dict)
    # recording id ("*" for any) -> empty sources answers still to serve.
    empty_sources: dict[str, int] = field(default_factory=dict)
    deleted_at: dict[str, datetime] = field(default_factory=dict)

    def put_recording(self, record: dict[str, Any]) -> None:
        """Store (or replace) a recording."""
        self.recordings[record["id"]] = record
        self.deleted_ids.discard(record["id"])
        self.version += 1

    def new_user(self) -> User:
        """Create the owner of a new key."""
        user_id = len(self.users) + 1
        name = "Emulator" if user_id == 1 else f"User {user_id}"
        email = "emulator@example.com" if user_id == 1 else f"user{user_id}@example.com"
        user = User(user_id, email, str(uuid.UUID(int=user_id)), name)
        self.users[user_id] = user
        return user

    def existing(self, recording_id: str) -> dict[str, Any] | None:
        """The recording if it currently exists."""
        return self.recordings.get(recording_id)

    def remove_recording(self, recording_id: str) -> bool:
        """Delete a recording for good. True when it existed."""
        if self.recordings.pop(recording_id, None) is None:
            return False
        self.deleted_ids.add(recording_id)
        self.viewed_by.pop(recording_id, None)
        self.sharing.pop(recording_id, None)
        return True

    def is_viewed_by(self, recording_id: str, user_id: int) -> bool:
        """Whether ``user_id`` has viewed the recording."""
        return user_id in self.viewed_by.get(recording_id, set())

    def mark_viewed(self, recording_id: str, user_id: int, viewed: bool = True) -> None:
        """Record or forget that ``user_id`` viewed the recording."""
        viewers = self.viewed_by.setdefault(recording_id, set())
        if viewed:
            viewers.add(user_id)
        else:
            viewers.discard(user_id)

    def viewer_emails(self, recording_id: str, exclude_user_id: int) -> list[str]:
        """Emails of the other users who viewed the recording."""
        ids = sorted(self.viewed_by.get(recording_id, set()) - {exclude_user_id})
        return [self.users[user_id].email for user_id in ids if user_id in self.users]

    def live_playlist(self, short_id: str) -> dict[str, Any] | None:
        """A playlist that exists and is not soft-deleted."""
        playlist = self.playlists.get(short_id)
        if playlist is None or playlist["deleted"]:
            return None
        return playlist
