"""Playlist curation: keep a playlist in step with a recordings query (no Airflow import).

Two kinds of playlist, because PostHog lets a personal API key do only one of them:

* ``filters`` (the default): a saved search. The playlist is created or updated, by name,
  with the query in PostHog's own filter shape, and PostHog's UI shows the live matches. A
  personal API key may create and update it.
* ``collection``: hand-picked recordings, the newest ``max_recordings`` matches added (and
  stale ones removed). PostHog refuses personal API keys every change to a collection's
  items, so before creating or changing anything this job asks the server whether it may
  (a side-effect-free probe) and, if not, fails with a message naming ``filters``.

Either way the playlist is found by exact name (deleted and system playlists ignored), so two
runs never create two playlists, and a lost answer to the create is looked up, not resent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import (
    PostHogConfigError,
    PostHogConnectionError,
    PostHogServerError,
)
from airflow_provider_posthog_recordings.client.models import Playlist
from airflow_provider_posthog_recordings.client.query import RecordingsQuery, encode_date
from airflow_provider_posthog_recordings.client.query_filters import DURATION_KEYS

log = logging.getLogger(__name__)

PlaylistType = Literal["filters", "collection"]
PLAYLIST_TYPES: tuple[str, ...] = ("filters", "collection")

#: Query parameters a saved search cannot express (they name people or recordings).
NOT_IN_SAVED_SEARCH = ("distinct_ids", "distinct_id", "person_uuid", "session_ids", "extra_params")


@dataclass
class CurationSettings:
    """What to curate.

    :ivar name: the playlist's exact name (found, or created).
    :ivar query: the recordings that belong in it.
    :ivar playlist_type: ``filters`` (a saved search; works with a personal API key) or
        ``collection`` (hand-picked items; needs a server that lets the key change them).
    :ivar max_recordings: collections only: hold the newest this many matching recordings.
    :ivar remove_stale: collections only: remove items outside that target.
    :ivar pinned: pin the playlist (PostHog keeps a pinned collection's recordings one year).
    :ivar description: the playlist's description (None leaves it alone).
    """

    name: str
    query: RecordingsQuery | Mapping[str, Any] | None
    playlist_type: PlaylistType = "filters"
    max_recordings: int = 100
    remove_stale: bool = False
    pinned: bool = False
    description: str | None = None


# ---------------------------------------------------------------- pure decisions


@dataclass(frozen=True)
class CurationPlan:
    """What to change in a collection: ids to add (newest first) and to remove."""

    add: list[str]
    remove: list[str]
    target: list[str]


def plan_curation(
    current_ids: Iterable[str],
    matching_ids: Sequence[str],
    *,
    max_recordings: int,
    remove_stale: bool,
) -> CurationPlan:
    """Plan one collection curation run.

    :param current_ids: what the playlist holds now.
    :param matching_ids: recordings matching the query, newest first (duplicates ignored).
    :param max_recordings: the playlist's target is the newest this many matching recordings.
    :param remove_stale: also remove items outside the target (no longer matching, deleted, or
        pushed out by newer ones).

    :return: The plan; adding what it says never adds an item twice.
    """
    if max_recordings < 0:
        raise PostHogConfigError("max_recordings must be 0 or more")
    current = list(dict.fromkeys(current_ids))
    current_set = set(current)
    target = list(dict.fromkeys(matching_ids))[:max_recordings]
    target_set = set(target)
    add = [rid for rid in target if rid not in current_set]
    remove = [rid for rid in current if rid not in target_set] if remove_stale else []
    return CurationPlan(add=add, remove=remove, target=target)


def _date_text(value: datetime | date | str | None) -> str | None:
    return None if value is None else encode_date(value)


#: The duration filter written when the query has none: PostHog always writes at least one
#: (its filter bar and older UIs read ``duration[0]``; ``duration: []`` crashes older ones).
#: PostHog's UI writes ``active_seconds > 5`` by default (``DEFAULT_RECORDING_FILTERS``), which
#: would hide short recordings the query did not exclude: this one has the same shape and
#: matches every recording.
MATCH_ANY_DURATION: dict[str, Any] = {
    "type": "recording",
    "key": "duration",
    "operator": "gte",
    "value": 0,
}

#: Operators whose scalar value PostHog's UI writes as a one-item list
#: (``normalizePropertyFilterValue`` in ``PropertyFilters/utils.ts``).
_LIST_VALUED_OPERATORS = ("exact", "is_not")


def _ui_value(item: dict[str, Any]) -> dict[str, Any]:
    """A property filter as PostHog's UI writes it: ``exact``/``is_not`` take a list."""
    value = item.get("value")
    if (
        item.get("type") not in ("cohort", "recording", "hogql")
        and item.get("operator") in _LIST_VALUED_OPERATORS
        and value is not None
        and not isinstance(value, list)
    ):
        return {**item, "value": [value]}
    return item


def _entity(item: dict[str, Any]) -> dict[str, Any]:
    nested = item.get("properties")
    if isinstance(nested, list):
        return {**item, "properties": [_ui_value(p) if isinstance(p, dict) else p for p in nested]}
    return item


def _is_duration_filter(item: dict[str, Any]) -> bool:
    value = item.get("value")
    return (
        item.get("key") in DURATION_KEYS
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    )


def _split_having(predicates: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The one ``duration`` entry, and the predicates that go in ``filter_group``.

    PostHog's backend count reads only ``duration[0]`` (``playlist_filters.py``), so a second
    duration filter goes where both its frontend and its backend read it: ``filter_group``.
    """
    for index, item in enumerate(predicates):
        if _is_duration_filter(item):
            entry = {name: item[name] for name in ("type", "key", "operator", "value")}
            return entry, predicates[:index] + predicates[index + 1 :]
    return dict(MATCH_ANY_DURATION), list(predicates)


def _refuse_unsaveable(query: RecordingsQuery) -> None:
    if query.hide_viewed_recordings is not None:
        raise PostHogConfigError(
            "a saved-search playlist cannot hide viewed recordings: PostHog's saved-search "
            "filters have no hide_viewed_recordings (the playlist would show them all); leave "
            "it out, or use playlist_type='collection'"
        )
    given = [name for name in NOT_IN_SAVED_SEARCH if getattr(query, name) not in (None, [], {})]
    if given:
        raise PostHogConfigError(
            f"a saved-search playlist cannot filter by {given}: PostHog's filter bar has no "
            "such filter; use playlist_type='collection' for a hand-picked list"
        )


def saved_search_filters(query: RecordingsQuery) -> dict[str, Any]:
    """The query in the shape PostHog's replay UI writes (a ``filters`` playlist's filters).

    ``duration`` holds exactly one duration filter with a number (the query's first, or
    :data:`MATCH_ANY_DURATION`); every other filter is a leaf of ``filter_group`` (one inner
    group, as the UI writes it), typed as PostHog's conversions read it back: property and
    ``recording`` filters as they are, ``events``, ``actions``, ``log_entry``.

    :raises PostHogConfigError: the query names people or recordings, or hides viewed recordings,
        which a saved search cannot hold (use a collection for those).
    """
    _refuse_unsaveable(query)
    operand = query.operand or "AND"
    duration, other_having = _split_having(list(query.having_predicates or []))
    values = [
        *(_ui_value(item) for item in query.properties or []),
        *(_entity(item) for item in query.events or []),
        *(_entity(item) for item in query.actions or []),
        *(query.console_log_filters or []),
        *other_having,
    ]
    filters: dict[str, Any] = {
        "date_from": _date_text(query.date_from) or "-3d",
        "date_to": _date_text(query.date_to),
        "duration": [duration],
        "filter_group": {"type": operand, "values": [{"type": operand, "values": values}]},
        "filter_test_accounts": bool(query.filter_test_accounts),
        "order": query.order or "start_time",
    }
    if query.order_direction is not None:
        filters["order_direction"] = query.order_direction
    return filters


# ---------------------------------------------------------------- finding the playlist


def playlist_url(client: PostHogClient, short_id: str) -> str:
    """The playlist's page in PostHog's app."""
    return f"{client.base_url}/project/{client.project_id}/replay/playlists/{short_id}"


def find_playlist(client: PostHogClient, name: str) -> Playlist | None:
    """The one live, non-system playlist with exactly this name, or None.

    :raises PostHogConfigError: several playlists have the name.
    """
    matches = [
        playlist
        for playlist in client.iter_playlists(search=name)
        if playlist.name == name and not playlist.deleted
    ]
    if len(matches) > 1:
        ids = ", ".join(p.short_id for p in matches)
        raise PostHogConfigError(
            f"{len(matches)} playlists are named {name!r} ({ids}): rename or delete the extra "
            "ones so that curation knows which to keep in step"
        )
    return matches[0] if matches else None


def _check_type(playlist: Playlist, wanted: str) -> None:
    kind = "collection" if playlist.is_collection else "filters"
    if kind != wanted:
        raise PostHogConfigError(
            f"playlist {playlist.name!r} ({playlist.short_id}) is a {kind!r} playlist, not "
            f"{wanted!r}: PostHog cannot change a playlist's type; choose another name or "
            f"playlist_type={kind!r}"
        )


def find_or_create_playlist(
    client: PostHogClient, settings: CurationSettings, filters: dict[str, Any] | None
) -> tuple[Playlist, bool]:
    """Find the playlist by name or create it; return it and whether it was created.

    A lost answer to the create is looked up by name, never sent twice.
    """
    existing = find_playlist(client, settings.name)
    if existing is not None:
        _check_type(existing, settings.playlist_type)
        return existing, False
    log.info("Creating %s playlist %r", settings.playlist_type, settings.name)
    try:
        created = client.create_playlist(
            settings.name,
            type=settings.playlist_type,
            description=settings.description,
            pinned=settings.pinned,
            filters=filters,
        )
        return created, True
    except (PostHogConnectionError, PostHogServerError):
        found = find_playlist(client, settings.name)
        if found is None:
            raise
        log.info("The create's answer was lost, but playlist %s exists", found.short_id)
        return found, True


# ---------------------------------------------------------------- running


def run(client: PostHogClient, settings: CurationSettings) -> dict[str, Any]:
    """Bring the playlist in step with the query; return a small summary.

    :return: ``{"short_id", "url", "playlist_type", "created", "requests", ...}``; for a saved
        search ``updated`` and ``matching`` (PostHog's count, when it gives one and it is exact;
        ``matching_at_least`` when PostHog capped it, see :func:`matching_count`); for a
        collection
        ``added``, ``removed`` and ``total``.

    :raises PostHogConfigError: bad settings, a name taken by a playlist of the other type or by
        several, or a collection on a server that refuses this key item changes.
    """
    if not settings.name or not settings.name.strip():
        raise PostHogConfigError("the playlist name must not be empty")
    if settings.playlist_type not in PLAYLIST_TYPES:
        raise PostHogConfigError(
            f"playlist_type must be one of {PLAYLIST_TYPES}, not {settings.playlist_type!r}"
        )
    if settings.max_recordings < 0:
        raise PostHogConfigError("max_recordings must be 0 or more")
    query = RecordingsQuery.parse(settings.query)
    before = client.request_count
    if settings.playlist_type == "filters":
        summary = _curate_saved_search(client, settings, query)
    else:
        summary = _curate_collection(client, settings, query)
    summary["requests"] = client.request_count - before
    return summary


def _changes(playlist: Playlist, settings: CurationSettings) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if playlist.pinned != settings.pinned:
        changes["pinned"] = settings.pinned
    if settings.description is not None and playlist.description != settings.description:
        changes["description"] = settings.description
    return changes


def _curate_saved_search(
    client: PostHogClient, settings: CurationSettings, query: RecordingsQuery
) -> dict[str, Any]:
    filters = saved_search_filters(query)
    playlist, created = find_or_create_playlist(client, settings, filters)
    changes = {} if created else _changes(playlist, settings)
    current = playlist.filters or {}
    if not created and any(current.get(key) != value for key, value in filters.items()):
        changes["filters"] = filters
    if changes:
        playlist = client.update_playlist(playlist.short_id, **changes)
    counts = (playlist.recordings_counts or {}).get("saved_filters") or {}
    summary = {
        "short_id": playlist.short_id,
        "url": playlist_url(client, playlist.short_id),
        "playlist_type": "filters",
        "created": created,
        "updated": bool(changes),
        **matching_count(counts if isinstance(counts, dict) else {}),
    }
    log.info(
        "Saved-search playlist %r (%s) %s",
        settings.name,
        playlist.short_id,
        "created" if created else ("updated" if changes else "already up to date"),
    )
    return summary


def matching_count(counts: dict[str, Any]) -> dict[str, Any]:
    """PostHog's count of a saved search, never an undercount.

    PostHog counts one page of the search's matches (50) and says ``has_more`` when there
    are more: the count is then only a lower bound.

    :param counts: the playlist's ``recordings_counts.saved_filters`` (may be empty).
    :return: ``{"matching": N}`` when exact; ``{"matching": None, "matching_at_least": N}``
        when PostHog capped it; ``{"matching": None}`` when PostHog has not counted yet.
    """
    count = counts.get("count")
    if not isinstance(count, int):
        return {"matching": None}
    if counts.get("has_more"):
        return {"matching": None, "matching_at_least": count}
    return {"matching": count}


def describe_matching(summary: dict[str, Any]) -> str:
    """``67 recordings match``, ``at least 50 recordings match`` or ``not counted yet``."""
    if summary.get("matching_at_least") is not None:
        return f"at least {summary['matching_at_least']} recordings match"
    if summary.get("matching") is not None:
        return f"{summary['matching']} recordings match"
    return "PostHog has not counted the matches yet"


def _curate_collection(
    client: PostHogClient, settings: CurationSettings, query: RecordingsQuery
) -> dict[str, Any]:
    if not client.playlists.can_change_playlist_items():
        raise PostHogConfigError(
            "this PostHog server does not let a personal API key add or remove a collection's "
            "recordings (PostHog Cloud refuses it: 'This action does not support personal API "
            f"key access'); nothing was created or changed. Curate {settings.name!r} as a "
            "saved search instead: playlist_type='filters'"
        )
    playlist, created = find_or_create_playlist(client, settings, None)
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
    changes = {} if created else _changes(playlist, settings)
    if changes:
        client.update_playlist(short_id, **changes)
    return {
        "short_id": short_id,
        "url": playlist_url(client, short_id),
        "playlist_type": "collection",
        "created": created,
        "added": len(plan.add),
        "removed": len(plan.remove),
        "total": len(set(current) | set(plan.add)) - len(plan.remove),
    }
