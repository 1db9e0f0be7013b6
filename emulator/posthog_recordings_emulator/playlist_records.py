"""Playlist records: validation, creation, items, synthetic playlists, serialisation."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .responses import ApiError, validation_error
from .state import EmulatorState, User
from .timeutil import to_iso

TYPES = ("collection", "filters")
SHORT_ID_ALPHABET = string.ascii_letters + string.digits

# short_id -> (name, how its items are found)
SyntheticItems = Callable[[EmulatorState, int], list[str]]
SYNTHETIC: dict[str, tuple[str, SyntheticItems]] = {
    "synthetic-watch-history": (
        "Watch history",
        lambda state, user_id: sorted(
            rid for rid in state.recordings if state.is_viewed_by(rid, user_id)
        ),
    ),
    "synthetic-commented": ("Commented recordings", lambda state, user_id: []),
    "synthetic-shared": (
        "Shared recordings",
        lambda state, user_id: sorted(
            rid for rid, config in state.sharing.items() if config.enabled
        ),
    ),
    "synthetic-exported": ("Exported recordings", lambda state, user_id: []),
}


def is_synthetic(short_id: str) -> bool:
    """Whether ``short_id`` names a system playlist."""
    return short_id.startswith("synthetic-")


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise validation_error("Must be a valid boolean.", name)
    return value


def _text(body: dict[str, Any], name: str, default: str | None) -> str | None:
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise validation_error("Not a valid string.", name)
    return value


def _filters(body: dict[str, Any]) -> dict[str, Any] | None:
    if "filters" not in body:
        return None
    value = body["filters"]
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise validation_error("Filters must be a JSON object.", "filters")
    return value


def check_type_and_filters(playlist_type: str, filters: dict[str, Any]) -> None:
    """400 when a collection has filters or a saved search has none."""
    if playlist_type == "collection" and filters:
        raise validation_error("Collection playlists cannot have filters.", "filters")
    if playlist_type == "filters" and not filters:
        raise validation_error(
            "You must provide a valid filters when creating a saved filter.", "filters"
        )


def validated_new(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of a playlist to create from a POST body (400 on bad input)."""
    filters = _filters(body) or {}
    playlist_type = body.get("type")
    if playlist_type is None:
        playlist_type = "filters" if filters else "collection"
    if playlist_type not in TYPES:
        raise validation_error(f'"{playlist_type}" is not a valid choice.', "type")
    check_type_and_filters(playlist_type, filters)
    return {
        "name": _text(body, "name", None),
        "description": _text(body, "description", "") or "",
        "pinned": _bool(body, "pinned", False),
        "deleted": _bool(body, "deleted", False),
        "filters": filters,
        "type": playlist_type,
    }


def validated_update(playlist: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The changes a PATCH body asks for (400 on a type change or missing filters)."""
    if "type" in body and body["type"] != playlist["type"]:
        raise validation_error("Cannot change the type of a playlist.", "type")
    filters = _filters(body)
    if playlist["type"] == "filters" and filters is None:
        raise validation_error(
            "You must provide a valid filters when updating a saved filter.", "filters"
        )
    changes: dict[str, Any] = {}
    if filters is not None:
        check_type_and_filters(playlist["type"], filters)
        changes["filters"] = filters
    for name in ("name", "description"):
        if name in body:
            changes[name] = _text(body, name, None)
    for name in ("pinned", "deleted"):
        if name in body:
            changes[name] = _bool(body, name, False)
    return changes


def _short_id(state: EmulatorState, number: int) -> str:
    rng = random.Random(f"playlist:{number}")
    while True:
        short_id = "".join(rng.choice(SHORT_ID_ALPHABET) for _ in range(8))
        if short_id not in state.playlists:
            return short_id


def add_playlist(
    state: EmulatorState, fields: dict[str, Any], user: User, now: datetime
) -> dict[str, Any]:
    """Store a new playlist made of validated ``fields``."""
    number = state.next_playlist_id
    state.next_playlist_id += 1
    playlist = {
        "id": number,
        "short_id": _short_id(state, number),
        "name": fields["name"],
        "derived_name": None,
        "description": fields["description"],
        "pinned": fields["pinned"],
        "deleted": fields["deleted"],
        "filters": fields["filters"],
        "type": fields["type"],
        "created_at": now,
        "created_by": user.as_json(),
        "last_modified_at": now,
        "last_modified_by": user.as_json(),
        "is_synthetic": False,
    }
    state.playlists[playlist["short_id"]] = playlist
    state.playlist_items[playlist["short_id"]] = []
    return playlist


def synthetic_playlist(short_id: str, created_at: datetime) -> dict[str, Any]:
    """A system playlist record (never stored)."""
    number = -1 - list(SYNTHETIC).index(short_id)
    return {
        "id": number,
        "short_id": short_id,
        "name": SYNTHETIC[short_id][0],
        "derived_name": None,
        "description": "",
        "pinned": False,
        "deleted": False,
        "filters": {},
        "type": "collection",
        "created_at": created_at,
        "created_by": None,
        "last_modified_at": created_at,
        "last_modified_by": None,
        "is_synthetic": True,
    }


def item_ids(state: EmulatorState, playlist: dict[str, Any], user_id: int) -> list[str]:
    """Ids held by a collection (synthetic ones computed), including deleted recordings."""
    short_id = playlist["short_id"]
    if playlist["is_synthetic"]:
        return SYNTHETIC[short_id][1](state, user_id)
    return list(state.playlist_items.get(short_id, []))


def serialize_playlist(
    state: EmulatorState, playlist: dict[str, Any], user_id: int
) -> dict[str, Any]:
    """The playlist as the API answers it."""
    existing = [rid for rid in item_ids(state, playlist, user_id) if rid in state.recordings]
    watched = sum(1 for rid in existing if state.is_viewed_by(rid, user_id))
    out = dict(playlist)
    out["created_at"] = to_iso(playlist["created_at"])
    out["last_modified_at"] = to_iso(playlist["last_modified_at"])
    out["recordings_counts"] = {
        "saved_filters": {
            "count": None,
            "watched_count": None,
            "has_more": None,
            "increased": None,
            "last_refreshed_at": None,
        },
        "collection": {"count": len(existing), "watched_count": watched, "has_more": False},
    }
    return out


def synthetic_forbidden() -> ApiError:
    """400 for a change to a system playlist (as PostHog answers it)."""
    return validation_error("Cannot update synthetic playlists")
