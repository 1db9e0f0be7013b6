"""iter_pages: the one loop that follows next_page, with a fake server answering from a list."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogPaginationError
from airflow_provider_posthog_recordings.client.http.pagination import (
    PageRequest,
    PagingReport,
    iter_pages,
)

BASE = "https://us.posthog.com"


def items(*ids: str) -> list[dict[str, Any]]:
    return [{"id": rid} for rid in ids]


class FakeServer:
    """Answers the n-th request with the n-th page and records what was asked."""

    def __init__(self, *pages: dict[str, Any]) -> None:
        self.pages = list(pages)
        self.sent: list[PageRequest] = []
        self.fetched = [threading.Event() for _ in pages]

    def fetch(self, request: PageRequest) -> dict[str, Any]:
        assert isinstance(request, PageRequest)
        index = len(self.sent)
        self.sent.append(request)
        self.fetched[index].set()
        return self.pages[index]


def cursor_pages() -> FakeServer:
    return FakeServer(
        {"results": items("a", "b"), "has_next": True, "next_cursor": "C1"},
        {"results": items("c", "d"), "has_next": True, "next_cursor": "C2"},
        {"results": items("e"), "has_next": False},
    )


@pytest.mark.parametrize("prefetch", [False, True])
def test_every_page_is_fetched_once_in_order(prefetch: bool) -> None:
    server = cursor_pages()
    report = PagingReport()
    pages = list(
        iter_pages(
            server.fetch, PageRequest({"limit": "2"}), BASE, prefetch=prefetch, report=report
        )
    )
    assert pages == [items("a", "b"), items("c", "d"), items("e")]
    assert server.sent == [
        PageRequest({"limit": "2"}),
        PageRequest({"limit": "2", "after": "C1"}),
        PageRequest({"limit": "2", "after": "C2"}),
    ]
    assert (report.pages, report.ended_by_repeat) == (3, False)


def test_without_prefetch_a_page_is_fetched_only_when_asked_for() -> None:
    server = cursor_pages()
    pages = iter_pages(server.fetch, PageRequest({"limit": "2"}), BASE)
    assert next(pages) == items("a", "b")
    assert len(server.sent) == 1
    pages.close()
    assert len(server.sent) == 1


def test_with_prefetch_the_next_page_comes_while_the_caller_works() -> None:
    server = cursor_pages()
    pages = iter_pages(server.fetch, PageRequest({"limit": "2"}), BASE, prefetch=True)
    assert next(pages) == items("a", "b")
    # The caller has not asked for the second page yet: it is on its way all the same.
    assert server.fetched[1].wait(timeout=5)
    assert next(pages) == items("c", "d")
    assert server.fetched[2].wait(timeout=5)
    assert list(pages) == [items("e")]
    assert len(server.sent) == 3


def test_a_failed_prefetch_is_raised_when_its_page_is_asked_for() -> None:
    def fetch(request: PageRequest) -> dict[str, Any]:
        if "after" in request.params:
            raise PostHogPaginationError("page two failed")
        return {"results": items("a"), "has_next": True, "next_cursor": "C1"}

    pages = iter_pages(fetch, PageRequest(), BASE, prefetch=True)
    assert next(pages) == items("a")
    with pytest.raises(PostHogPaginationError, match="page two failed"):
        next(pages)


def test_items_repeated_from_the_page_before_are_dropped_and_do_not_move_the_offset() -> None:
    # Offset drift: the second page starts with the last item of the first one.
    server = FakeServer(
        {"results": items("a", "b", "c"), "has_next": True},
        {"results": items("c", "d", "e"), "has_next": True},
        {"results": items("f"), "has_next": False},
    )
    pages = list(iter_pages(server.fetch, PageRequest({"limit": "3"}), BASE))
    assert pages == [items("a", "b", "c"), items("d", "e"), items("f")]
    # Two new items on the second page: the third page is two further on, not three.
    assert [request.params.get("offset") for request in server.sent] == [None, "3", "5"]


def test_a_page_that_only_repeats_is_not_the_end_by_default() -> None:
    server = FakeServer(
        {"results": items("a", "b"), "has_next": True, "next_cursor": "C1"},
        {"results": items("a", "b"), "has_next": True, "next_cursor": "C2"},
        {"results": items("c"), "has_next": False},
    )
    report = PagingReport()
    pages = list(iter_pages(server.fetch, PageRequest(), BASE, report=report))
    assert pages == [items("a", "b"), [], items("c")]
    assert (report.pages, report.ended_by_repeat) == (3, False)


def test_an_empty_last_page_is_the_server_s_end_not_a_repeat() -> None:
    server = FakeServer(
        {"results": items("a"), "has_next": True, "next_cursor": "C1"},
        {"results": [], "has_next": False},
    )
    report = PagingReport()
    pages = list(iter_pages(server.fetch, PageRequest(), BASE, report=report))
    assert pages == [items("a"), []]
    assert (report.pages, report.ended_by_repeat) == (2, False)


def test_repeated_page_ends_the_listing_when_asked() -> None:
    # PostHog's collection items: the next cursor answers the same page again.
    server = FakeServer(
        {"results": items("a", "b"), "has_next": True, "next_cursor": "C1"},
        {"results": items("c"), "has_next": True, "next_cursor": "C2"},
        {"results": items("c"), "has_next": True, "next_cursor": "C3"},
        {"results": items("never"), "has_next": False},
    )
    report = PagingReport()
    pages = list(
        iter_pages(server.fetch, PageRequest(), BASE, repeated_page_ends=True, report=report)
    )
    assert pages == [items("a", "b"), items("c")]
    assert report.pages == 3 and report.ended_by_repeat is True
    assert len(server.sent) == 3


def test_repeated_page_ends_still_reads_fresh_pages_and_empty_ends() -> None:
    server = FakeServer(
        {"results": items("a"), "has_next": True, "next_cursor": "C1"},
        {"results": items("b"), "has_next": True, "next_cursor": "C2"},
        {"results": [], "has_next": False},
    )
    report = PagingReport()
    pages = list(
        iter_pages(server.fetch, PageRequest(), BASE, repeated_page_ends=True, report=report)
    )
    assert pages == [items("a"), items("b"), []]
    assert (report.pages, report.ended_by_repeat) == (3, False)


def test_items_that_are_not_objects_are_skipped() -> None:
    server = FakeServer({"results": [{"id": "a"}, "junk", 3, {"id": "b"}], "has_next": False})
    assert list(iter_pages(server.fetch, PageRequest(), BASE)) == [items("a", "b")]
