"""Playlists: saved searches (``filters``) and collections of hand-picked recordings.

A part of :class:`~.client.PostHogClient`. PostHog's quirks handled here:

* the list always includes system "synthetic" playlists (left out unless asked for), and
  ``pinned=false`` returns pinned playlists (filtered here instead);
* a ``filters`` playlist must be sent with its filters on every change (resent here);
* a collection's items endpoint ignores paging and answers the same page for the next cursor:
  a page of only repeated items ends the listing, and :meth:`read_collection` compares what
  it read with PostHog's own count, so a caller knows whether it saw every item;
* a personal API key may not change a collection's items (403); the permission check runs
  before the playlist lookup, so :meth:`can_change_playlist_items` learns it without
  changing anything;
* removing an item that is not there is a 500: settled by looking at the playlist.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.http.batching import chunked, map_concurrently
from airflow_provider_posthog_recordings.client.http.pagination import PagingReport
from airflow_provider_posthog_recordings.client.http.paths import safe_id
from airflow_provider_posthog_recordings.client.http.retry_policy import RETRYABLE_STATUSES
from airflow_provider_posthog_recordings.client.http.transport import Transport
from airflow_provider_posthog_recordings.client.models import Playlist, Recording
from airflow_provider_posthog_recordings.client.resources.bulk import BulkActions

MAX_PLAYLIST_PAGE = 500
PLAYLIST_BULK_CAP = 20
#: A short id no playlist has: the target of the side-effect-free permission probe.
PERMISSION_PROBE_ID = "airflow-provider-permission-probe"
KEY_REFUSED_TEXT = "does not support personal api key"


@dataclass(frozen=True)
class CollectionItems:
    """What a collection holds, as far as it could be read.

    :ivar ids: the recordings read.
    :ivar expected: how many items PostHog says it holds (None when it does not say).
    :ivar complete: every item was read (the count matches, or the server paged to the end).
    """

    ids: frozenset[str]
    expected: int | None
    complete: bool


class Playlists:
    """Playlists and their items.

    :param transport: the client's HTTP transport.
    :param bulk: the client's bulk endpoints (``bulk_add``, ``bulk_delete`` of items).
    :param page_size: items per request when a playlist's recordings are listed.
    :param playlist_page_size: playlists per list request (PostHog allows at most 500).
    :param concurrency: parallel requests for one-at-a-time fallbacks.
    """

    def __init__(
        self,
        transport: Transport,
        bulk: BulkActions,
        *,
        page_size: int,
        playlist_page_size: int,
        concurrency: int,
    ) -> None:
        self.transport = transport
        self.bulk = bulk
        self.page_size = page_size
        self.playlist_page_size = playlist_page_size
        self.concurrency = concurrency

    def iter_playlists(
        self, *, include_synthetic: bool = False, **filters: Any
    ) -> Iterator[Playlist]:
        """Yield playlists (PostHog's DRF pagination, 500 a page); filters as the API's.

        Filters: ``short_id``, ``created_by``, ``type``, ``pinned``, ``search``,
        ``session_recording_id``, ``order``. ``pinned=False`` is applied here (PostHog
        ignores the value and returns pinned ones). System playlists are left out unless
        ``include_synthetic``.
        """
        unpinned_only = filters.get("pinned") is False
        if unpinned_only:
            filters.pop("pinned")
        params = {
            name: ("true" if value is True else "false" if value is False else str(value))
            for name, value in filters.items()
            if value is not None
        }
        params["limit"] = str(self.playlist_page_size)
        for page in self.transport.pages("session_recording_playlists/", params):
            for item in page:
                playlist = Playlist.model_validate(item)
                if playlist.synthetic and not include_synthetic:
                    continue
                if unpinned_only and playlist.pinned:
                    continue
                yield playlist

    def get_playlist(self, short_id: str) -> Playlist:
        """One playlist by short id. Raises PostHogNotFoundError when missing or deleted."""
        answer = self.transport.send("GET", f"session_recording_playlists/{safe_id(short_id)}/")
        return Playlist.model_validate(answer.body)

    def create_playlist(
        self,
        name: str,
        *,
        type: str = "collection",
        description: str | None = None,
        pinned: bool = False,
        filters: dict[str, Any] | None = None,
    ) -> Playlist:
        """Create a playlist: a ``collection`` (no filters) or a ``filters`` saved search.

        Not retried after an ambiguous failure (it could create two): callers that must not
        duplicate look the playlist up by name again.
        """
        if type not in ("collection", "filters"):
            raise PostHogConfigError("playlist type must be 'collection' or 'filters'")
        if type == "filters" and not filters:
            raise PostHogConfigError("a 'filters' playlist needs non-empty filters")
        if type == "collection" and filters:
            raise PostHogConfigError("a 'collection' playlist cannot have filters")
        body: dict[str, Any] = {"name": name, "type": type, "pinned": pinned}
        if description is not None:
            body["description"] = description
        if filters:
            body["filters"] = filters
        answer = self.transport.send(
            "POST",
            "session_recording_playlists/",
            json_body=body,
            rules=self.transport.rules(idempotent=False),
        )
        return Playlist.model_validate(answer.body)

    def update_playlist(self, short_id: str, **fields: Any) -> Playlist:
        """Change a playlist's fields (name, description, pinned, filters, deleted).

        A ``filters`` playlist must be sent with its filters on every change: they are
        fetched and resent when not given.
        """
        if "type" in fields:
            raise PostHogConfigError("a playlist's type cannot be changed")
        body = dict(fields)
        if "filters" not in body:
            current = self.get_playlist(short_id)
            if not current.is_collection:
                body["filters"] = current.filters
        answer = self.transport.send(
            "PATCH", f"session_recording_playlists/{safe_id(short_id)}/", json_body=body
        )
        return Playlist.model_validate(answer.body)

    def delete_playlist(self, short_id: str) -> None:
        """Soft-delete a playlist (PostHog refuses hard deletes)."""
        self.update_playlist(short_id, deleted=True)

    def iter_playlist_recordings(
        self, short_id: str, *, report: PagingReport | None = None
    ) -> Iterator[Recording]:
        """Yield the recordings of a collection (a repeated page ends the listing)."""
        params = {"limit": str(self.page_size)}
        path = f"session_recording_playlists/{safe_id(short_id)}/recordings/"
        for page in self.transport.pages(path, params, repeated_page_ends=True, report=report):
            for item in page:
                yield Recording.model_validate(item)

    def read_collection(self, playlist: Playlist) -> CollectionItems:
        """Read a collection's items and say whether that was all of them.

        Complete when PostHog's ``recordings_counts.collection.count`` is reached, or, on a
        server that gives no count, when the listing ended at the server's last page (not at
        a repeated page).
        """
        report = PagingReport()
        ids = frozenset(
            rec.id for rec in self.iter_playlist_recordings(playlist.short_id, report=report)
        )
        expected = playlist.collection_count
        complete = len(ids) >= expected if expected is not None else not report.ended_by_repeat
        return CollectionItems(ids=ids, expected=expected, complete=complete)

    def playlists_holding(self, recording_id: str) -> list[Playlist]:
        """The live playlists that hold this recording (one request)."""
        return [
            playlist
            for playlist in self.iter_playlists(session_recording_id=safe_id(recording_id))
            if not playlist.deleted
        ]

    def can_change_playlist_items(self) -> bool:
        """Whether this key may add and remove a collection's items, learnt without a change.

        PostHog checks the permission before it looks the playlist up: adding a recording to
        a playlist that does not exist answers 403 when keys are refused, 404 when allowed.
        (The single add is asked, not ``bulk_add``: a server may lack or refuse bulk actions
        and still take items one at a time.)

        :raises PostHogAuthError: a 403 for another reason (a missing scope).
        """
        probe = PERMISSION_PROBE_ID
        path = f"session_recording_playlists/{probe}/recordings/{probe}/"
        answer = self.transport.send(
            "POST", path, rules=self.transport.rules(accept={403, 404, 405})
        )
        if answer.status == 403:
            detail = answer.body.get("detail") if isinstance(answer.body, dict) else None
            if KEY_REFUSED_TEXT in str(detail or "").lower():
                return False
            raise self.transport.error(403, "POST", path, answer.body)
        return True

    def add_to_playlist(self, short_id: str, recording_ids: Iterable[str]) -> int:
        """Add recordings to a collection (adding twice is harmless); return the count sent."""
        sent = 0
        base = f"session_recording_playlists/{safe_id(short_id)}/recordings/"
        for batch in chunked(dict.fromkeys(recording_ids), PLAYLIST_BULK_CAP):
            sent += len(batch)
            if self.bulk.attempt("playlist.bulk_add", f"{base}bulk_add/", batch).accepted:
                continue

            def add_one(rid: str, base: str = base) -> None:
                self.transport.send("POST", f"{base}{safe_id(rid)}/")

            map_concurrently(add_one, batch, self.concurrency)
        return sent

    def remove_from_playlist(self, short_id: str, recording_ids: Iterable[str]) -> int:
        """Remove recordings from a collection; ones not in it count as removed."""
        removed = 0
        base = f"session_recording_playlists/{safe_id(short_id)}/recordings/"
        for batch in chunked(dict.fromkeys(recording_ids), PLAYLIST_BULK_CAP):
            if self.bulk.attempt("playlist.bulk_delete", f"{base}bulk_delete/", batch).accepted:
                removed += len(batch)
                continue
            removed += sum(
                map_concurrently(
                    lambda rid: self._remove_one(short_id, rid), batch, self.concurrency
                )
            )
        return removed

    def _remove_one(self, short_id: str, recording_id: str) -> int:
        path = (
            f"session_recording_playlists/{safe_id(short_id)}/recordings/{safe_id(recording_id)}/"
        )
        # A 500 here usually means "not in the playlist"; 502-504 are still retried.
        answer = self.transport.send(
            "DELETE",
            path,
            rules=self.transport.rules(
                retry_statuses=RETRYABLE_STATUSES - {500}, accept={404, 500}
            ),
        )
        if answer.status < 300 or answer.status == 404:
            return 1
        members = {rec.id for rec in self.iter_playlist_recordings(short_id)}
        if recording_id not in members:
            return 1
        self.transport.send("DELETE", path)
        return 1
