"""A plain PostHog API client for session recordings and playlists. No Airflow import.

The client owns what makes a PostHog job cheap and safe:

* one retry loop (:meth:`PostHogClient._send`): 429 waits as long as PostHog says (header, else
  the ``detail`` text, else backoff); 5xx, dropped connections and timeouts are retried with
  backoff on requests that are safe to repeat; a DELETE whose earlier attempt may have landed
  counts a 404 as done;
* one pagination loop (:meth:`PostHogClient._iter_pages`) over PostHog's three list shapes,
  streaming page by page with large pages (the list endpoint is limited per request);
* bulk endpoints with a fallback to one-at-a-time requests when a server refuses them;
* a client-side limiter shared by every client of the process that uses the same key;
* one error type, :class:`~airflow_provider_posthog_recordings.errors.PostHogAPIError`, whose
  message says what to check and never contains the key.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from airflow_provider_posthog_recordings import backoff
from airflow_provider_posthog_recordings.config import (
    key_fingerprint,
    normalize_host,
    validate_api_key,
    validate_project_id,
)
from airflow_provider_posthog_recordings.errors import (
    PostHogAPIError,
    PostHogConfigError,
    PostHogConnectionError,
    PostHogError,
    PostHogNotFoundError,
    PostHogServerError,
    api_error_from_response,
)
from airflow_provider_posthog_recordings.models import (
    DeleteResult,
    Playlist,
    Recording,
    SharingConfiguration,
)
from airflow_provider_posthog_recordings.pagination import PageRequest, next_page
from airflow_provider_posthog_recordings.query import RecordingsQuery
from airflow_provider_posthog_recordings.ratelimit import SlidingWindowLimiter, shared_limiter

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: PostHog's documented caps on bulk endpoints (newest servers; older ones allow 20 deletes).
BULK_DELETE_CAP = 100
BULK_VIEWED_CAP = 20
PLAYLIST_BULK_CAP = 20
MAX_PLAYLIST_PAGE = 500
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
BULK_REFUSED_STATUSES = frozenset({403, 404, 405})


@dataclass(frozen=True)
class Answer:
    """A successful (or accepted) HTTP answer.

    ``after_ambiguous`` is True when an earlier attempt of the same request may have been
    acted on by the server (its answer was lost or was a 5xx).
    """

    status: int
    body: Any
    after_ambiguous: bool = False


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Split an iterable into lists of at most ``size`` items, lazily."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _parse_body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


class PostHogClient:
    """Client of one PostHog project's session recordings and playlists.

    Args:
        host: the API host, e.g. ``https://us.posthog.com`` or ``https://eu.posthog.com``.
        api_key: a personal API key (``phx_...``); sent only to ``host``.
        project_id: the project's numeric id.
        timeout: seconds to connect and to read, as requests takes them.
        max_retries: retries after a 5xx, a dropped connection or a timeout.
        max_throttle_retries: retries after a 429 (PostHog's waits can be long; these are
            counted apart so that throttling does not eat the error budget).
        page_size: page size for recordings lists (the list endpoint is limited per request,
            so larger pages cost less).
        playlist_page_size: page size for playlist lists (PostHog allows at most 500).
        requests_per_minute: client-side budget for this key (PostHog: 240); None for none.
        list_requests_per_minute: extra budget of the recordings list endpoint (PostHog: 12
            to 100 by plan); None when unknown (429s are then handled as they come).
        concurrency: parallel requests for one-at-a-time fallbacks (deletes, views, playlist
            items); the limiter still governs the rate.
        allow_insecure_http: allow ``http://`` to a host that is not loopback.
        backoff_base, backoff_cap: exponential backoff parameters in seconds.
        sleep: the sleep function for retry waits (default: ``backoff.sleep``).
        session: a requests session to use (default: a new one).
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
        list_requests_per_minute: int | None = None,
        concurrency: int = 4,
        allow_insecure_http: bool = False,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = normalize_host(host, allow_insecure_http=allow_insecure_http)
        self._api_key = validate_api_key(api_key)
        self.project_id = validate_project_id(project_id)
        if page_size < 1:
            raise PostHogConfigError("page_size must be at least 1")
        if not 1 <= playlist_page_size <= MAX_PLAYLIST_PAGE:
            raise PostHogConfigError(f"playlist_page_size must be 1..{MAX_PLAYLIST_PAGE}")
        if max_retries < 0 or max_throttle_retries < 0:
            raise PostHogConfigError("max_retries and max_throttle_retries must be >= 0")
        if concurrency < 1:
            raise PostHogConfigError("concurrency must be at least 1")
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_throttle_retries = max_throttle_retries
        self.page_size = page_size
        self.playlist_page_size = playlist_page_size
        self.concurrency = concurrency
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._custom_sleep = sleep
        fingerprint = key_fingerprint(self._api_key)
        self._limiter: SlidingWindowLimiter = shared_limiter(
            self.base_url, fingerprint, requests_per_minute
        )
        self._list_limiter: SlidingWindowLimiter | None = (
            shared_limiter(f"{self.base_url}#list", fingerprint, list_requests_per_minute)
            if list_requests_per_minute
            else None
        )
        self._session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(10, concurrency * 2))
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {self._api_key}",
                "Accept": "application/json",
                "User-Agent": "airflow-provider-posthog-recordings",
            }
        )
        self._count_lock = threading.Lock()
        self._request_count = 0
        self.throttled_count = 0
        self._bulk_refused: set[str] = set()
        self._bulk_accepted: set[str] = set()

    # ------------------------------------------------------------------ basics

    def __repr__(self) -> str:
        return f"PostHogClient(host={self.base_url!r}, project_id={self.project_id}, api_key=***)"

    @property
    def request_count(self) -> int:
        """Requests sent so far (every attempt, retries included)."""
        return self._request_count

    @property
    def project_path(self) -> str:
        """The API path of the project, e.g. ``/api/projects/1``."""
        return f"/api/projects/{self.project_id}"

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def __enter__(self) -> PostHogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _url(self, path_or_url: str) -> tuple[str, str]:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url, urlsplit(path_or_url).path
        path = f"{self.project_path}/{path_or_url.lstrip('/')}"
        return f"{self.base_url}{path}", path

    # ------------------------------------------------------------- retry loop

    def _send(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotent: bool = True,
        retry_statuses: frozenset[int] = RETRYABLE_STATUSES,
        accept: Iterable[int] = (),
        listing: bool = False,
    ) -> Answer:
        """Send one request with PostHog's retry rules; the one place that makes errors.

        Args:
            idempotent: the request may be repeated safely after an ambiguous failure (a 5xx,
                a lost answer). A 429 or a refused connection is always retried: the server
                did not act.
            retry_statuses: 5xx statuses retried as faults (fewer where one is an answer).
            accept: error statuses returned as an :class:`Answer` instead of raised.
            listing: the request counts against the recordings-list budget.
        """
        url, path = self._url(path_or_url)
        accepted = set(accept)
        errors = throttles = 0
        ambiguous = False
        while True:
            self._limiter.acquire(self._sleep)
            if listing and self._list_limiter is not None:
                self._list_limiter.acquire(self._sleep)
            with self._count_lock:
                self._request_count += 1
            started = time.monotonic()
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
                body = _parse_body(response)
            except requests.exceptions.RequestException as exc:
                safe = isinstance(exc, requests.exceptions.ConnectTimeout)
                if not (safe or idempotent) or errors >= self.max_retries:
                    raise PostHogConnectionError(
                        f"PostHog API {method} {path}: {type(exc).__name__} after "
                        f"{errors + 1} attempt(s); check the host ({self.base_url}) and the "
                        "network" + ("" if idempotent else " (not retried: not safe to repeat)")
                    ) from None
                ambiguous = ambiguous or not safe
                errors += 1
                self._wait_before_retry(method, path, type(exc).__name__, errors)
                continue
            status = response.status_code
            log.debug(
                "PostHog %s %s -> %s in %.3fs", method, path, status, time.monotonic() - started
            )
            if 200 <= status < 300 and not (status == 200 and isinstance(body, str)):
                return Answer(status, body, ambiguous)
            if status in accepted:
                return Answer(status, body, ambiguous)
            if 300 <= status < 400:
                # Redirects are not followed: the key must only go to the configured host.
                target = response.headers.get("Location", "another address")
                raise PostHogAPIError(
                    status=status,
                    method=method,
                    path=path,
                    detail=f"the host redirects to {target}",
                    hint="set the connection's host to where it redirects (e.g. "
                    "https://us.posthog.com); redirects are not followed so that the key is "
                    "only sent to the configured host",
                )
            if status == 429:
                self.throttled_count += 1
                if throttles >= self.max_throttle_retries:
                    raise self._error(status, method, path, body)
                throttles += 1
                wait = backoff.throttle_wait(
                    response.headers,
                    body,
                    throttles,
                    base=self.backoff_base,
                    cap=max(self.backoff_cap, 300.0),
                    now_epoch=time.time(),
                )
                # The pause holds back every thread using this key; the retry waits in acquire().
                self._limiter.pause(wait)
                log.warning(
                    "PostHog %s %s was throttled (429); waiting %.1f s (retry %d/%d)",
                    method,
                    path,
                    wait,
                    throttles,
                    self.max_throttle_retries,
                )
                continue
            transient = status in retry_statuses or (200 <= status < 300)
            if transient and idempotent and errors < self.max_retries:
                ambiguous = True
                errors += 1
                reason = f"answer {status}" + (
                    " with a body that is not JSON" if status < 300 else ""
                )
                self._wait_before_retry(method, path, reason, errors)
                continue
            if 200 <= status < 300:
                raise PostHogServerError(
                    status=status,
                    method=method,
                    path=path,
                    detail="the answer was not JSON (a proxy or a truncated answer?)",
                    hint="check that the host is PostHog's API host",
                )
            raise self._error(status, method, path, body)

    def _sleep(self, seconds: float) -> None:
        (self._custom_sleep or backoff.sleep)(seconds)

    def _wait_before_retry(self, method: str, path: str, reason: str, attempt: int) -> None:
        wait = backoff.exponential_backoff(
            attempt - 1, base=self.backoff_base, cap=self.backoff_cap
        )
        log.warning(
            "PostHog %s %s failed (%s); retrying in %.1f s (retry %d/%d)",
            method,
            path,
            reason,
            wait,
            attempt,
            self.max_retries,
        )
        self._sleep(wait)

    def _error(self, status: int, method: str, path: str, body: Any) -> PostHogAPIError:
        return api_error_from_response(
            status=status, method=method, path=path, body=body, secret=self._api_key
        )

    # -------------------------------------------------------- pagination loop

    def _iter_pages(
        self,
        path: str,
        params: dict[str, str],
        *,
        listing: bool = False,
        prefetch: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of raw items, following whichever pagination the server uses.

        Items repeated from the page before (a server glitch, or offset drift) are dropped.
        With ``prefetch`` the next page is fetched while the caller works on the current one
        (for callers that read to the end: one page too many is fetched if they stop early).
        """
        request: PageRequest | None = PageRequest(params=params)
        previous_ids: set[Any] = set()
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = PageRequest(params=params)
            pending = pool.submit(self._fetch_page, path, first, listing) if prefetch else None
            while request is not None:
                if pending is not None:
                    page = pending.result()
                else:
                    page = self._fetch_page(path, request, listing)
                items = [item for item in page.get("results") or [] if isinstance(item, dict)]
                fresh = [item for item in items if item.get("id") not in previous_ids]
                previous_ids = {item.get("id") for item in items}
                repeated = len(items) - len(fresh)
                request = next_page(page, request, self.base_url, repeated=repeated)
                if prefetch and request is not None:
                    pending = pool.submit(self._fetch_page, path, request, listing)
                yield fresh

    def _fetch_page(self, path: str, request: PageRequest, listing: bool) -> dict[str, Any]:
        if request.url is not None:
            answer = self._send("GET", request.url, listing=listing)
        else:
            answer = self._send("GET", path, params=request.params, listing=listing)
        if not isinstance(answer.body, dict):
            raise PostHogServerError(
                status=answer.status,
                method="GET",
                path=path,
                detail="the list answer is not a JSON object",
            )
        return answer.body

    # ------------------------------------------------------------- recordings

    def iter_recording_pages(
        self,
        query: RecordingsQuery | Mapping[str, Any] | None = None,
        page_size: int | None = None,
        *,
        prefetch: bool = False,
    ) -> Iterator[list[Recording]]:
        """Yield the recordings matching ``query`` page by page.

        Note that without ``date_from`` PostHog only looks at the last three days.

        Args:
            query: filters.
            page_size: recordings per request.
            prefetch: fetch the next page while the caller handles this one (for callers
                that read every page).
        """
        params = RecordingsQuery.parse(query).to_params()
        params["limit"] = str(page_size or self.page_size)
        pages = self._iter_pages("session_recordings/", params, listing=True, prefetch=prefetch)
        for raw_page in pages:
            yield [Recording.model_validate(item) for item in raw_page]

    def iter_recordings(
        self,
        query: RecordingsQuery | Mapping[str, Any] | None = None,
        page_size: int | None = None,
        max_results: int | None = None,
    ) -> Iterator[Recording]:
        """Yield every recording matching ``query`` (streamed; memory stays flat).

        Args:
            query: filters (a :class:`RecordingsQuery` or a dict of API parameters).
            page_size: recordings per request (default: the client's ``page_size``).
            max_results: stop after this many (the page size shrinks to match).
        """
        size = page_size or self.page_size
        if max_results is not None:
            if max_results <= 0:
                return
            size = min(size, max_results)
        seen = 0
        for page in self.iter_recording_pages(query, size):
            for recording in page:
                yield recording
                seen += 1
                if max_results is not None and seen >= max_results:
                    return

    def get_recording(self, recording_id: str) -> Recording:
        """Return one recording. Raises PostHogNotFoundError when it does not exist."""
        answer = self._send("GET", f"session_recordings/{_id(recording_id)}/")
        return Recording.model_validate(answer.body)

    def existing_recording_ids(self, recording_ids: Iterable[str]) -> set[str]:
        """Which of these recordings exist (one list request per 500 ids, any age)."""
        found: set[str] = set()
        for batch in chunked(list(dict.fromkeys(recording_ids)), 500):
            query = RecordingsQuery(session_ids=batch)
            found.update(rec.id for rec in self.iter_recordings(query, page_size=len(batch)))
        return found

    def mark_viewed(self, recording_ids: Iterable[str]) -> int:
        """Mark recordings viewed by the key's owner; return how many PostHog marked.

        Uses ``bulk_viewed`` (20 ids a call) and falls back to one PATCH per recording when
        the server refuses bulk actions. Recordings that do not exist are skipped.
        """
        marked = 0
        for batch in chunked(dict.fromkeys(recording_ids), BULK_VIEWED_CAP):
            body = self._bulk("recordings.bulk_viewed", "session_recordings/bulk_viewed/", batch)
            if body is not None:
                marked += int(body.get("viewed_count", len(batch)))
                continue
            marked += sum(self._map(self._mark_one_viewed, batch))
        return marked

    def _mark_one_viewed(self, recording_id: str) -> int:
        answer = self._send(
            "PATCH",
            f"session_recordings/{_id(recording_id)}/",
            json_body={"viewed": True},
            accept=(404,),
        )
        return 0 if answer.status == 404 else 1

    def delete_recording(self, recording_id: str) -> DeleteResult:
        """Delete one recording permanently (a missing one counts as already gone)."""
        rid = _id(recording_id)
        try:
            answer = self._send("DELETE", f"session_recordings/{rid}/", accept=(404,))
        except PostHogServerError:
            # Some servers answer 500 when deleting twice: settle it by looking.
            if rid in self.existing_recording_ids([rid]):
                raise
            return DeleteResult(already_gone=[rid])
        if answer.status == 404:
            if answer.after_ambiguous:
                return DeleteResult(deleted=[rid])
            return DeleteResult(already_gone=[rid])
        return DeleteResult(deleted=[rid])

    def delete_recordings(
        self,
        recording_ids: Iterable[str],
        *,
        on_progress: Callable[[DeleteResult], None] | None = None,
    ) -> DeleteResult:
        """Delete recordings permanently, 100 a request with ``bulk_delete``.

        Up to ``concurrency`` requests are in flight at once; the shared limiter keeps the
        pace within the key's budget.

        Falls back to one DELETE per recording (for the rest of this client's life) when the
        server refuses bulk actions. Recordings already gone count as done, not as failures.

        Args:
            recording_ids: ids to delete (streamed; any iterable).
            on_progress: called with the running total after each batch.

        Returns:
            A :class:`DeleteResult` with the deleted, already-gone and failed ids.
        """
        total = DeleteResult()
        batches = chunked(dict.fromkeys(recording_ids), BULK_DELETE_CAP)
        while True:
            # Batches are independent: once the server has said whether it takes bulk
            # deletes, up to `concurrency` go at once (the limiter sets the pace).
            known = "recordings.bulk_delete" in self._bulk_refused | self._bulk_accepted
            group = list(itertools.islice(batches, self.concurrency if known else 1))
            if not group:
                return total
            for result in self._map(self._delete_batch, group):
                total.absorb(result)
            if on_progress is not None:
                on_progress(total)

    def _delete_batch(self, batch: list[str]) -> DeleteResult:
        answer = self._bulk_answer(
            "recordings.bulk_delete", "session_recordings/bulk_delete/", batch
        )
        if answer is None:
            result = DeleteResult()
            for single in self._map(self._delete_one_safely, batch):
                result.absorb(single)
            return result
        body = answer.body if isinstance(answer.body, dict) else {}
        deleted_count = int(body.get("deleted_count", 0))
        failed_ids = body.get("failed_ids")
        if failed_ids is None:
            # Older servers do not say which ids failed: look at what is left.
            if deleted_count >= len(batch):
                return DeleteResult(deleted=list(batch))
            suspects = list(batch)
        else:
            suspects = [rid for rid in batch if rid in set(map(str, failed_ids))]
        still_there = self.existing_recording_ids(suspects) if suspects else set()
        suspect_set = set(suspects)
        gone_suspects = [rid for rid in suspects if rid not in still_there]
        deleted = [rid for rid in batch if rid not in suspect_set]
        if failed_ids is None or answer.after_ambiguous:
            # Gone and asked for by us: either this request or its lost first attempt did it.
            deleted.extend(gone_suspects)
            gone_suspects = []
        return DeleteResult(
            deleted=deleted,
            already_gone=gone_suspects,
            failed={rid: "PostHog did not delete it (no permission?)" for rid in still_there},
        )

    def _delete_one_safely(self, recording_id: str) -> DeleteResult:
        try:
            return self.delete_recording(recording_id)
        except (PostHogAPIError, PostHogConnectionError) as exc:
            if isinstance(exc, PostHogAPIError) and exc.status in (401, 403):
                raise
            return DeleteResult(failed={recording_id: str(exc)})

    # ----------------------------------------------------------------- sharing

    def _sharing(self, body: Any) -> SharingConfiguration:
        config = SharingConfiguration.model_validate(body or {})
        return config.model_copy(update={"public_host": self.base_url})

    def get_sharing(self, recording_id: str) -> SharingConfiguration:
        """The sharing state of a recording (an unsaved config when never shared)."""
        answer = self._send("GET", f"session_recordings/{_id(recording_id)}/sharing/")
        return self._sharing(answer.body)

    def enable_sharing(self, recording_id: str) -> SharingConfiguration:
        """Enable public sharing; the returned config has the stable ``share_url``."""
        answer = self._send(
            "PATCH",
            f"session_recordings/{_id(recording_id)}/sharing/",
            json_body={"enabled": True},
        )
        return self._sharing(answer.body)

    def disable_sharing(self, recording_id: str) -> SharingConfiguration:
        """Revoke public sharing (the old link stops working)."""
        answer = self._send(
            "PATCH",
            f"session_recordings/{_id(recording_id)}/sharing/",
            json_body={"enabled": False},
        )
        return self._sharing(answer.body)

    def refresh_sharing(self, recording_id: str) -> SharingConfiguration:
        """Issue a new access token (rotating the public link). Not retried when ambiguous."""
        answer = self._send(
            "POST",
            f"session_recordings/{_id(recording_id)}/sharing/refresh/",
            idempotent=False,
        )
        return self._sharing(answer.body)

    # --------------------------------------------------------------- playlists

    def iter_playlists(self, **filters: Any) -> Iterator[Playlist]:
        """Yield playlists (PostHog's DRF pagination, 500 a page); filters as the API's.

        Filters: ``short_id``, ``created_by``, ``type``, ``pinned``, ``search``,
        ``session_recording_id``, ``order``.
        """
        params = {
            name: ("true" if value is True else "false" if value is False else str(value))
            for name, value in filters.items()
            if value is not None
        }
        params["limit"] = str(self.playlist_page_size)
        for page in self._iter_pages("session_recording_playlists/", params):
            for item in page:
                yield Playlist.model_validate(item)

    def get_playlist(self, short_id: str) -> Playlist:
        """One playlist by short id. Raises PostHogNotFoundError when missing or deleted."""
        answer = self._send("GET", f"session_recording_playlists/{_id(short_id)}/")
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
        answer = self._send(
            "POST", "session_recording_playlists/", json_body=body, idempotent=False
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
        answer = self._send(
            "PATCH", f"session_recording_playlists/{_id(short_id)}/", json_body=body
        )
        return Playlist.model_validate(answer.body)

    def delete_playlist(self, short_id: str) -> None:
        """Soft-delete a playlist (PostHog refuses hard deletes)."""
        self.update_playlist(short_id, deleted=True)

    def iter_playlist_recordings(self, short_id: str) -> Iterator[Recording]:
        """Yield the recordings of a collection playlist."""
        params = {"limit": str(self.page_size)}
        path = f"session_recording_playlists/{_id(short_id)}/recordings/"
        for page in self._iter_pages(path, params):
            for item in page:
                yield Recording.model_validate(item)

    def add_to_playlist(self, short_id: str, recording_ids: Iterable[str]) -> int:
        """Add recordings to a collection playlist (adding twice is harmless); return count sent."""
        sent = 0
        base = f"session_recording_playlists/{_id(short_id)}/recordings/"
        for batch in chunked(dict.fromkeys(recording_ids), PLAYLIST_BULK_CAP):
            sent += len(batch)
            if self._bulk("playlist.bulk_add", f"{base}bulk_add/", batch) is not None:
                continue

            def add_one(rid: str, base: str = base) -> None:
                self._send("POST", f"{base}{_id(rid)}/")

            self._map(add_one, batch)
        return sent

    def remove_from_playlist(self, short_id: str, recording_ids: Iterable[str]) -> int:
        """Remove recordings from a collection playlist; ones not in it count as removed.

        PostHog answers 500 when removing a recording that is not in the playlist, so a 500
        is settled by looking at the playlist's items.
        """
        removed = 0
        base = f"session_recording_playlists/{_id(short_id)}/recordings/"
        for batch in chunked(dict.fromkeys(recording_ids), PLAYLIST_BULK_CAP):
            if self._bulk("playlist.bulk_delete", f"{base}bulk_delete/", batch) is not None:
                removed += len(batch)
                continue
            removed += sum(self._map(lambda rid: self._remove_one(short_id, rid), batch))
        return removed

    def _remove_one(self, short_id: str, recording_id: str) -> int:
        path = f"session_recording_playlists/{_id(short_id)}/recordings/{_id(recording_id)}/"
        # A 500 here usually means "not in the playlist"; 502-504 are still retried.
        answer = self._send(
            "DELETE", path, retry_statuses=RETRYABLE_STATUSES - {500}, accept=(404, 500)
        )
        if answer.status < 300 or answer.status == 404:
            return 1
        members = {rec.id for rec in self.iter_playlist_recordings(short_id)}
        if recording_id not in members:
            return 1
        self._send("DELETE", path)
        return 1

    # ------------------------------------------------------------------ helpers

    def _bulk_answer(self, name: str, path: str, ids: list[str]) -> Answer | None:
        """POST a bulk action; None when the server refuses bulk actions (remembered)."""
        if name in self._bulk_refused:
            return None
        answer = self._send(
            "POST",
            path,
            json_body={"session_recording_ids": ids},
            accept=BULK_REFUSED_STATUSES,
        )
        if answer.status in BULK_REFUSED_STATUSES:
            detail = answer.body.get("detail") if isinstance(answer.body, dict) else None
            if answer.status == 403 and detail and "scope" in str(detail).lower():
                raise self._error(answer.status, "POST", self._url(path)[1], answer.body)
            log.warning(
                "PostHog refused the bulk action %s (%s%s); using one request per recording "
                "from now on",
                path,
                answer.status,
                f": {detail}" if detail else "",
            )
            self._bulk_refused.add(name)
            if answer.status == 404:
                self._probe()
            return None
        self._bulk_accepted.add(name)
        return answer

    def _bulk(self, name: str, path: str, ids: list[str]) -> dict[str, Any] | None:
        answer = self._bulk_answer(name, path, ids)
        if answer is None:
            return None
        return answer.body if isinstance(answer.body, dict) else {}

    def _probe(self) -> Answer:
        """The cheapest authenticated call: one recording of the last hour (raises on errors).

        Also used after a 404 on a bulk route, which may mean a wrong project: that must be
        ruled out before 404s on single deletes are taken to mean 'already gone'.
        """
        return self._send(
            "GET", "session_recordings/", params={"limit": "1", "date_from": "-1h"}, listing=True
        )

    def _map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        if self.concurrency == 1 or len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(fn, items))

    def check_access(self) -> str:
        """Make one cheap authenticated call; return a description of what was reached.

        Raises:
            PostHogError: with a message that says what to fix.
        """
        answer = self._probe()
        if not isinstance(answer.body, dict) or "results" not in answer.body:
            raise PostHogError(
                f"{self.base_url} answered, but not like PostHog's API: check the host"
            )
        return f"Connected to {self.base_url}, project {self.project_id}"


def _id(value: str) -> str:
    """Refuse ids that would change the request path (``/``, ``..``, blanks)."""
    text = str(value).strip()
    if not text or "/" in text or text in (".", "..") or "?" in text or "#" in text:
        raise PostHogConfigError(f"invalid id {value!r}")
    return text


__all__ = [
    "Answer",
    "PostHogClient",
    "PostHogNotFoundError",
]
