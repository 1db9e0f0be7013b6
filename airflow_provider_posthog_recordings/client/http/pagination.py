"""Pagination state of PostHog list endpoints (pure, no I/O).

PostHog answers lists in three shapes and this module is the only place that knows them:

* cursor: ``{"results", "has_next", "next_cursor"}``; the cursor goes back as ``after``
  (recordings list on current servers; pages stay stable while recordings come and go);
* offset: ``{"results", "has_next"}`` without a cursor; the next page is at
  ``offset + len(results)`` (older and self-hosted servers);
* DRF: ``{"count", "next", "previous", "results"}`` where ``next`` is a full URL (playlists).

:func:`next_page` takes the answer to one page and the request that produced it and returns
the request for the next page, or None at the end; :func:`iter_pages` is the one loop that
follows it, given a function that fetches one page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_posthog_recordings.client.errors import PostHogPaginationError


@dataclass(frozen=True)
class PageRequest:
    """One page to fetch: either a path with params, or a full ``url`` given by the server."""

    params: dict[str, str] = field(default_factory=dict)
    url: str | None = None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def same_origin(url: str, base_url: str) -> bool:
    """True when ``url`` has the same scheme, host and port as ``base_url``.

    A URL that cannot be parsed (bad port, broken IPv6 literal) is not the same origin.
    """
    try:
        return _origin(url) == _origin(base_url)
    except ValueError:
        return False


def next_page(
    page: dict[str, Any], sent: PageRequest, base_url: str, *, repeated: int = 0
) -> PageRequest | None:
    """Return the request for the page after ``page``, or None when it was the last one.

    :param page: the parsed JSON answer.
    :param sent: the request that produced ``page``.
    :param base_url: the configured host; a ``next`` URL elsewhere is refused because
        following it would send the API key to another server.
    :param repeated: how many items of ``page`` repeat the page before (the caller drops them).
        In offset mode they do not move the offset: counting them would skip as many
        items never seen (for a purge, recordings of a protected playlist).

    :raises PostHogPaginationError: when the answer cannot be followed safely.
    """
    results = page.get("results")
    if not isinstance(results, list):
        raise PostHogPaginationError("the list answer has no 'results' list")

    if "next" in page and "has_next" not in page:
        next_url = page.get("next")
        if not next_url:
            return None
        if not isinstance(next_url, str) or not same_origin(next_url, base_url):
            raise PostHogPaginationError(
                f"refusing to follow a 'next' page URL on another host than {base_url}: the API "
                "key would be sent there"
            )
        if next_url == sent.url:
            raise PostHogPaginationError("the server returned the same 'next' URL twice")
        return PageRequest(url=next_url)

    if not page.get("has_next"):
        return None
    if not results:
        raise PostHogPaginationError("the server says has_next but returned an empty page")

    cursor = page.get("next_cursor")
    if cursor and "offset" not in sent.params:
        if str(cursor) == sent.params.get("after"):
            raise PostHogPaginationError("the server returned the same cursor twice")
        params = dict(sent.params)
        params["after"] = str(cursor)
        return PageRequest(params=params)

    params = dict(sent.params)
    params.pop("after", None)
    new_items = len(results) - repeated
    step = new_items if new_items > 0 else len(results)
    limit = sent.params.get("limit", "")
    if limit.isdigit() and int(limit) > 0:
        # A page longer than asked for carries items that are not the next ones (a glitch
        # repeating an earlier answer): the next page is still ``limit`` further on.
        step = min(step, int(limit))
    params["offset"] = str(int(sent.params.get("offset", "0")) + step)
    return PageRequest(params=params)


@dataclass
class PagingReport:
    """How a listing ended (filled in by :func:`iter_pages`).

    :ivar pages: pages fetched.
    :ivar ended_by_repeat: the listing stopped at a page that only repeated the page before
        (PostHog's collection items endpoint ignores paging and answers the same page for
        the next cursor), not at the server's own "no more pages".
    """

    pages: int = 0
    ended_by_repeat: bool = False


def iter_pages(
    fetch: Callable[[PageRequest], dict[str, Any]],
    first: PageRequest,
    base_url: str,
    *,
    prefetch: bool = False,
    repeated_page_ends: bool = False,
    report: PagingReport | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of raw items, following whichever pagination the server uses.

    Items repeated from the page before (a server glitch, or offset drift) are dropped.

    :param fetch: fetches one page and returns the parsed answer.
    :param first: the first page's request.
    :param base_url: the configured host (``next`` URLs elsewhere are refused).
    :param prefetch: fetch the next page while the caller works on the current one (for callers
        that read to the end: one page too many is fetched if they stop early).
    :param repeated_page_ends: a page that brings nothing new ends the listing instead of being
        an error (for endpoints known to ignore paging).
    :param report: filled in with how the listing ended.
    """
    report = report if report is not None else PagingReport()
    request: PageRequest | None = first
    previous_ids: set[Any] = set()
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The first page is fetched when the caller asks for it: nothing to fetch ahead yet.
        pending: Future[dict[str, Any]] | None = None
        while request is not None:
            page = pending.result() if pending is not None else fetch(request)
            report.pages += 1
            items = [item for item in page.get("results") or [] if isinstance(item, dict)]
            fresh = [item for item in items if item.get("id") not in previous_ids]
            if repeated_page_ends and items and not fresh:
                report.ended_by_repeat = True
                return
            previous_ids = {item.get("id") for item in items}
            request = next_page(page, request, base_url, repeated=len(items) - len(fresh))
            pending = pool.submit(fetch, request) if prefetch and request is not None else None
            yield fresh
