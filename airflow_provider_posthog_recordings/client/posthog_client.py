"""The PostHog client's front: :class:`PostHogClient`. No Airflow import.

The client is composed of its resources (:mod:`.resources`: recordings, deletion with exact
accounting, sharing, playlists, bulk endpoints), all on one :class:`~.http.transport.Transport`
(the HTTP session and the one retry loop, with the key's budget). The resources are public
attributes: ``client.recordings``, ``client.deletion``, ``client.sharing``, ``client.playlists``,
``client.snapshots`` and ``client.bulk``. The client's own methods are the stable public names
(listing, one recording, marking viewed, deleting, sharing, playlists), each handing the call
to the resource that owns it, and the few the jobs call (``iter_recording_pages``,
``requests_to_delete``, ``read_collection``, ``playlists_holding``, ``recording_metadata``,
``download_snapshots``); anything else is reached through a resource.

Errors are :class:`~airflow_provider_posthog_recordings.client.errors.PostHogError` subclasses
whose messages say what to check and never contain the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

from airflow_provider_posthog_recordings.client.config import (
    key_fingerprint,
    normalize_host,
    validate_api_key,
    validate_project_id,
)
from airflow_provider_posthog_recordings.client.errors import (
    PostHogConfigError,
    PostHogError,
)
from airflow_provider_posthog_recordings.client.http.key_budget import KeyBudget, shared_budget
from airflow_provider_posthog_recordings.client.http.pagination import PagingReport
from airflow_provider_posthog_recordings.client.http.transport import Answer, Transport
from airflow_provider_posthog_recordings.client.models import (
    DeleteResult,
    Playlist,
    Recording,
    SharingConfiguration,
)
from airflow_provider_posthog_recordings.client.resources.bulk import BulkActions
from airflow_provider_posthog_recordings.client.resources.deletion import RecordingDeletion
from airflow_provider_posthog_recordings.client.resources.playlists import (
    MAX_PLAYLIST_PAGE,
    CollectionItems,
    Playlists,
)
from airflow_provider_posthog_recordings.client.resources.recordings import QueryLike, Recordings
from airflow_provider_posthog_recordings.client.resources.sharing import RecordingSharing
from airflow_provider_posthog_recordings.client.resources.snapshots import (
    RecordingSnapshots,
    SnapshotDownload,
)


class PostHogClient:
    """Client of one PostHog project's session recordings and playlists.

    :param host: the API host, e.g. ``https://us.posthog.com`` or ``https://eu.posthog.com``.
    :param api_key: a personal API key (``phx_...``); sent only to ``host``.
    :param project_id: the project's numeric id.
    :param timeout: seconds to connect and to read, as requests takes them.
    :param max_retries: retries after a 5xx, a dropped connection or a timeout.
    :param max_throttle_retries: retries after a 429 (PostHog's waits can be long; these are
        counted apart so that throttling does not eat the error budget).
    :param page_size: page size for recordings lists (the list endpoint is limited per request,
        so larger pages cost less).
    :param playlist_page_size: page size for playlist lists (PostHog allows at most 500).
    :param requests_per_minute: the key's budget per minute (PostHog: 240); None for none.
    :param requests_per_hour: the key's budget per hour (PostHog: 1,200, shared by recordings
        and playlists); None for none.
    :param list_requests_per_minute: the recordings-list budget of the
        project's plan (free 12 and 60, paid 60 and 300, enterprise 100 and 400); None
        when unknown (429s are then handled as they come).
    :param list_requests_per_hour: see ``list_requests_per_minute``.
    :param snapshot_requests_per_minute: the snapshots budget of the
        project's plan (free 12 and 60, paid 60 and 300, enterprise 100 and 400), on top
        of the key's; None when unknown.
    :param snapshot_requests_per_hour: see ``snapshot_requests_per_minute``.
    :param concurrency: parallel requests for one-at-a-time fallbacks (deletes, views, playlist
        items); the budget still governs the rate.
    :param allow_insecure_http: allow ``http://`` to a host that is not loopback.
    :param backoff_base: exponential backoff parameters in seconds.
    :param backoff_cap: see ``backoff_base``.
    :param max_budget_wait: the longest wait for the key's budget (or a 429) the client sleeps
        through; a longer one raises
        :class:`~airflow_provider_posthog_recordings.client.errors.PostHogBudgetWait` so that a
        deferrable task can give up its worker slot. None: always wait.
    :param sleep: the sleep function for waits (default: ``backoff.sleep``).
    :param clock: a monotonic clock for the budgets; given, the client keeps budgets of its own
        on that clock instead of the process-wide ones (simulations, tests).
    :param session: a requests session to use (default: a new one).
    """

    def __init__(
        self,
        host: str,
        api_key: str,
        project_id: int | str,
        *,
        timeout: float | tuple[float, float] = (10.0, 60.0),
        max_retries: int = 5,
        max_throttle_retries: int = 20,
        page_size: int = 500,
        playlist_page_size: int = 500,
        requests_per_minute: int | None = 240,
        requests_per_hour: int | None = 1200,
        list_requests_per_minute: int | None = None,
        list_requests_per_hour: int | None = None,
        snapshot_requests_per_minute: int | None = None,
        snapshot_requests_per_hour: int | None = None,
        concurrency: int = 4,
        allow_insecure_http: bool = False,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_budget_wait: float | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        base_url = normalize_host(host, allow_insecure_http=allow_insecure_http)
        key = validate_api_key(api_key)
        self.project_id = validate_project_id(project_id)
        budgets = {
            "requests_per_minute": requests_per_minute,
            "requests_per_hour": requests_per_hour,
            "list_requests_per_minute": list_requests_per_minute,
            "list_requests_per_hour": list_requests_per_hour,
            "snapshot_requests_per_minute": snapshot_requests_per_minute,
            "snapshot_requests_per_hour": snapshot_requests_per_hour,
        }
        _check_options(
            page_size, playlist_page_size, max_retries, max_throttle_retries, concurrency, budgets
        )
        self.page_size = page_size
        self.playlist_page_size = playlist_page_size
        self.concurrency = concurrency
        make = _BudgetMaker(base_url, key_fingerprint(key), clock)
        self.transport = Transport(
            base_url=base_url,
            api_key=key,
            project_id=self.project_id,
            budget=make.budget("", requests_per_minute, requests_per_hour),
            list_budget=make.optional("#list", list_requests_per_minute, list_requests_per_hour),
            snapshot_budget=make.optional(
                "#snapshots", snapshot_requests_per_minute, snapshot_requests_per_hour
            ),
            timeout=timeout,
            max_retries=max_retries,
            max_throttle_retries=max_throttle_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            max_budget_wait=max_budget_wait,
            sleep=sleep,
            session=session,
            pool_size=max(10, concurrency * 2),
        )
        self._compose_resources()
        self._state_clock: Callable[[], float] = clock or time.time

    def _compose_resources(self) -> None:
        self.bulk = BulkActions(self.transport, on_route_missing=self._probe)
        self.recordings = Recordings(
            self.transport, self.bulk, page_size=self.page_size, concurrency=self.concurrency
        )
        self.deletion = RecordingDeletion(
            self.transport, self.bulk, self.recordings, concurrency=self.concurrency
        )
        self.sharing = RecordingSharing(self.transport)
        self.snapshots = RecordingSnapshots(self.transport)
        self.playlists = Playlists(
            self.transport,
            self.bulk,
            page_size=self.page_size,
            playlist_page_size=self.playlist_page_size,
            concurrency=self.concurrency,
        )

    def key_history(self) -> dict[str, Any]:
        """What a resumed task's new client needs of this one: the key's recent requests
        and of the plan's endpoint budgets (list, snapshots) the connection names, and the
        bulk actions the server refused (JSON-able, small)."""
        return {
            "at": self._state_clock(),
            "ages": self.transport.budget.recent_ages(),
            "endpoint_ages": {
                name: budget.recent_ages() for name, budget in self._endpoint_budgets().items()
            },
            "bulk_refused": self.bulk.refused_names(),
            "bulk_accepted": self.bulk.accepted_names(),
        }

    def continue_from(self, carried: dict[str, Any] | None) -> None:
        """Start from what an earlier client of the same task knew (see :meth:`key_history`).

        A client in the same process already shares the key's budget: its history wins.
        """
        if not carried:
            return
        elapsed = max(0.0, self._state_clock() - float(carried.get("at", 0.0)))
        self.transport.budget.replay([age + elapsed for age in carried.get("ages", [])])
        endpoint_ages = carried.get("endpoint_ages") or {}
        for name, budget in self._endpoint_budgets().items():
            budget.replay([age + elapsed for age in endpoint_ages.get(name, [])])
        self.bulk.remember_refused(list(carried.get("bulk_refused", [])))
        self.bulk.remember_accepted(list(carried.get("bulk_accepted", [])))

    def _endpoint_budgets(self) -> dict[str, KeyBudget]:
        """The plan's endpoint budgets the connection names (list, snapshots), by name."""
        named = {"list": self.transport.list_budget, "snapshots": self.transport.snapshot_budget}
        return {name: budget for name, budget in named.items() if budget is not None}

    @contextmanager
    def sleeping_through_waits(self, up_to: float | None = None) -> Iterator[None]:
        """Within this block, waits for the key's budget are slept through, not raised.

        Normally a wait longer than ``max_budget_wait`` raises
        :class:`~airflow_provider_posthog_recordings.client.errors.PostHogBudgetWait` so that a
        deferrable task can give up its slot.

        :param up_to: sleep through waits up to this many seconds (a longer one still
            raises); None: however long (for requests that settle one already sent).
        """
        if up_to is None:
            with self.transport.waiting_allowed():
                yield
            return
        before = self.max_budget_wait
        if before is not None:
            self.max_budget_wait = max(before, up_to)
        try:
            yield
        finally:
            self.max_budget_wait = before

    def __repr__(self) -> str:
        return f"PostHogClient(host={self.base_url!r}, project_id={self.project_id}, api_key=***)"

    @property
    def base_url(self) -> str:
        """The API host, ``scheme://host[:port]``."""
        return self.transport.base_url

    @property
    def project_path(self) -> str:
        """The API path of the project, e.g. ``/api/projects/1``."""
        return self.transport.project_path

    @property
    def request_count(self) -> int:
        """Requests sent so far (every attempt, retries included)."""
        return self.transport.request_count

    @property
    def throttled_count(self) -> int:
        """429 answers received so far."""
        return self.transport.throttled_count

    @property
    def max_budget_wait(self) -> float | None:
        """The longest budget wait slept through (see the constructor)."""
        return self.transport.max_budget_wait

    @max_budget_wait.setter
    def max_budget_wait(self, seconds: float | None) -> None:
        self.transport.max_budget_wait = seconds

    def close(self) -> None:
        """Close the HTTP session."""
        self.transport.close()

    def __enter__(self) -> PostHogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _probe(self) -> Answer:
        """The cheapest authenticated call: one recording of the last hour (raises on errors).

        Also used after a 404 on a bulk route, which may mean a wrong project: that must be
        ruled out before 404s on single deletes are taken to mean 'already gone'.
        """
        return self.transport.send(
            "GET", "session_recordings/", params={"limit": "1", "date_from": "-1h"}, listing=True
        )

    def check_access(self) -> str:
        """Make one cheap authenticated call; return a description of what was reached.

        :raises PostHogError: with a message that says what to fix.
        """
        answer = self._probe()
        if not isinstance(answer.body, dict) or "results" not in answer.body:
            raise PostHogError(
                f"{self.base_url} answered, but not like PostHog's API: check the host"
            )
        return f"Connected to {self.base_url}, project {self.project_id}"

    # ---------------------------------------------------------------- recordings

    def iter_recording_pages(
        self, query: QueryLike = None, page_size: int | None = None, *, prefetch: bool = False
    ) -> Iterator[list[Recording]]:
        """Yield the recordings matching ``query`` page by page."""
        return self.recordings.iter_recording_pages(query, page_size, prefetch=prefetch)

    def iter_recordings(
        self, query: QueryLike = None, page_size: int | None = None, max_results: int | None = None
    ) -> Iterator[Recording]:
        """Yield every recording matching ``query`` (streamed; memory stays flat)."""
        return self.recordings.iter_recordings(query, page_size, max_results)

    def get_recording(self, recording_id: str) -> Recording:
        """Return one recording. Raises PostHogNotFoundError when it does not exist."""
        return self.recordings.get_recording(recording_id)

    def mark_viewed(self, recording_ids: Iterable[str]) -> int:
        """Mark recordings viewed by the key's owner; return how many were marked."""
        return self.recordings.mark_viewed(recording_ids)

    # ---------------------------------------------------------------- deletion

    def requests_to_delete(self, count: int) -> int:
        """About how many requests deleting ``count`` more recordings takes (for estimates)."""
        return self.deletion.requests_to_delete(count)

    def delete_recordings(self, recording_ids: Iterable[str], **options: Any) -> DeleteResult:
        """Delete recordings permanently, settling each id; ``options`` (``date_from``,
        ``on_progress``) as :meth:`.RecordingDeletion.delete_recordings` takes them."""
        return self.deletion.delete_recordings(recording_ids, **options)

    # ---------------------------------------------------------------- sharing

    def get_sharing(self, recording_id: str) -> SharingConfiguration:
        """The sharing state of a recording (an unsaved config when never shared)."""
        return self.sharing.get_sharing(recording_id)

    def enable_sharing(self, recording_id: str) -> SharingConfiguration:
        """Enable public sharing; the returned config has the stable ``share_url``."""
        return self.sharing.enable_sharing(recording_id)

    def disable_sharing(self, recording_id: str) -> SharingConfiguration:
        """Revoke public sharing (the old link stops working)."""
        return self.sharing.disable_sharing(recording_id)

    # ---------------------------------------------------------------- playlists

    def iter_playlists(
        self, *, include_synthetic: bool = False, **filters: Any
    ) -> Iterator[Playlist]:
        """Yield playlists (PostHog's DRF pagination, 500 a page); filters as the API's."""
        return self.playlists.iter_playlists(include_synthetic=include_synthetic, **filters)

    def get_playlist(self, short_id: str) -> Playlist:
        """One playlist by short id. Raises PostHogNotFoundError when missing or deleted."""
        return self.playlists.get_playlist(short_id)

    def create_playlist(self, name: str, **options: Any) -> Playlist:
        """Create a playlist: a ``collection`` (no filters) or a ``filters`` saved search;
        ``options`` (``type``, ``description``, ``pinned``, ``filters``) as
        :meth:`.Playlists.create_playlist` takes them."""
        return self.playlists.create_playlist(name, **options)

    def update_playlist(self, short_id: str, **fields: Any) -> Playlist:
        """Change a playlist's fields (name, description, pinned, filters, deleted)."""
        return self.playlists.update_playlist(short_id, **fields)

    def iter_playlist_recordings(
        self, short_id: str, *, report: PagingReport | None = None
    ) -> Iterator[Recording]:
        """Yield the recordings of a collection (a repeated page ends the listing)."""
        return self.playlists.iter_playlist_recordings(short_id, report=report)

    def read_collection(self, playlist: Playlist) -> CollectionItems:
        """Read a collection's items and say whether that was all of them."""
        return self.playlists.read_collection(playlist)

    def playlists_holding(self, recording_id: str) -> list[Playlist]:
        """The live playlists that hold this recording (one request)."""
        return self.playlists.playlists_holding(recording_id)

    def add_to_playlist(self, short_id: str, recording_ids: Iterable[str]) -> int:
        """Add recordings to a collection (adding twice is harmless); return the count sent."""
        return self.playlists.add_to_playlist(short_id, recording_ids)

    def remove_from_playlist(self, short_id: str, recording_ids: Iterable[str]) -> int:
        """Remove recordings from a collection; ones not in it count as removed."""
        return self.playlists.remove_from_playlist(short_id, recording_ids)

    # ---------------------------------------------------------------- snapshots

    def recording_metadata(self, recording_id: str) -> dict[str, Any]:
        """The recording's own answer as PostHog sends it (person, start and end, expiry)."""
        return self.snapshots.recording_metadata(recording_id)

    def download_snapshots(self, recording_id: str) -> SnapshotDownload:
        """Every line of a recording's snapshots, each listed block accounted for."""
        return self.snapshots.download_snapshots(recording_id)


def _check_options(
    page_size: int,
    playlist_page_size: int,
    max_retries: int,
    max_throttle_retries: int,
    concurrency: int,
    budgets: dict[str, int | None],
) -> None:
    """Refuse client options that cannot work, naming them."""
    if page_size < 1:
        raise PostHogConfigError("page_size must be at least 1")
    if not 1 <= playlist_page_size <= MAX_PLAYLIST_PAGE:
        raise PostHogConfigError(f"playlist_page_size must be 1..{MAX_PLAYLIST_PAGE}")
    if max_retries < 0 or max_throttle_retries < 0:
        raise PostHogConfigError("max_retries and max_throttle_retries must be >= 0")
    if concurrency < 1:
        raise PostHogConfigError("concurrency must be at least 1")
    for name, value in budgets.items():
        if value is not None and value < 0:
            raise PostHogConfigError(f"{name} must be 0 or more (0 or None: no limit)")


class _BudgetMaker:
    """The key's budgets: process-wide per key (every client of the process shares them), or
    the client's own on a given clock (simulations, tests)."""

    def __init__(self, base_url: str, fingerprint: str, clock: Callable[[], float] | None) -> None:
        self.base_url = base_url
        self.fingerprint = fingerprint
        self.clock = clock

    def budget(self, scope: str, per_minute: int | None, per_hour: int | None) -> KeyBudget:
        if self.clock is None:
            return shared_budget(self.base_url + scope, self.fingerprint, per_minute, per_hour)
        return KeyBudget(per_minute, per_hour, clock=self.clock)

    def optional(
        self, scope: str, per_minute: int | None, per_hour: int | None
    ) -> KeyBudget | None:
        """A budget of its own (a plan's listing or snapshots limit), only when one is set."""
        return self.budget(scope, per_minute, per_hour) if per_minute or per_hour else None
