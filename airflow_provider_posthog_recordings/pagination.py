"""Pagination state of PostHog list endpoints (pure, no I/O).

PostHog answers lists in three shapes and this module is the only place that knows them:

* cursor: ``{"results", "has_next", "next_cursor"}``; the cursor goes back as ``after``
  (recordings list on current servers; pages stay stable while recordings come and go);
* offset: ``{"results", "has_next"}`` without a cursor; the next page is at
  ``offset + len(results)`` (older and self-hosted servers);
* DRF: ``{"count", "next", "previous", "results"}`` where ``next`` is a full URL (playlists).

:func:`next_page` takes the answer to one page and the request that produced it and returns
the request for the next page, or None at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_posthog_recordings.errors import PostHogPaginationError


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

    Args:
        page: the parsed JSON answer.
        sent: the request that produced ``page``.
        base_url: the configured host; a ``next`` URL elsewhere is refused because
            following it would send the API key to another server.
        repeated: how many items of ``page`` repeat the page before (the caller drops them).
            In offset mode they do not move the offset: counting them would skip as many
            items never seen (for a purge, recordings of a protected playlist).

    Raises:
        PostHogPaginationError: when the answer cannot be followed safely.
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
    params["offset"] = str(int(sent.params.get("offset", "0")) + step)
    return PageRequest(params=params)
