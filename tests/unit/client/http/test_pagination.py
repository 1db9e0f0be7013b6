"""next_page: the three list shapes, their end conditions and the answers that are refused."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogPaginationError
from airflow_provider_posthog_recordings.client.http.pagination import (
    PageRequest,
    next_page,
    same_origin,
)

BASE = "https://us.posthog.com"
PLAYLISTS = f"{BASE}/api/projects/1/session_recording_playlists/"


def results(n: int) -> list[dict[str, Any]]:
    return [{"id": f"s{i}"} for i in range(n)]


# ------------------------------------------------------------------ cursor


def test_cursor_goes_back_as_after() -> None:
    sent = PageRequest(params={"limit": "2", "date_from": "-7d"})
    page = {"results": results(2), "has_next": True, "next_cursor": "CUR1", "version": 4}
    assert next_page(page, sent, BASE) == PageRequest(
        params={"limit": "2", "date_from": "-7d", "after": "CUR1"}
    )


def test_cursor_replaces_the_previous_after() -> None:
    sent = PageRequest(params={"limit": "2", "after": "CUR1"})
    page = {"results": results(2), "has_next": True, "next_cursor": "CUR2"}
    assert next_page(page, sent, BASE) == PageRequest(params={"limit": "2", "after": "CUR2"})


def test_sent_params_are_not_mutated() -> None:
    params = {"limit": "2"}
    next_page(
        {"results": results(2), "has_next": True, "next_cursor": "C"}, PageRequest(params), BASE
    )
    assert params == {"limit": "2"}


def test_cursor_end() -> None:
    sent = PageRequest(params={"limit": "2", "after": "CUR1"})
    assert next_page({"results": results(1), "has_next": False}, sent, BASE) is None


def test_has_next_false_with_a_stale_cursor_is_the_end() -> None:
    page = {"results": results(1), "has_next": False, "next_cursor": "CUR9"}
    assert next_page(page, PageRequest(params={"limit": "2"}), BASE) is None


def test_empty_last_page_is_the_end() -> None:
    assert next_page({"results": [], "has_next": False}, PageRequest(), BASE) is None


def test_missing_has_next_is_the_end() -> None:
    assert next_page({"results": results(3)}, PageRequest(), BASE) is None


def test_repeated_cursor_is_refused() -> None:
    sent = PageRequest(params={"limit": "2", "after": "CUR1"})
    page = {"results": results(2), "has_next": True, "next_cursor": "CUR1"}
    with pytest.raises(
        PostHogPaginationError, match=r"^the server returned the same cursor twice$"
    ):
        next_page(page, sent, BASE)


def test_repeated_non_text_cursor_is_refused() -> None:
    # The cursor is sent back as text: a number that comes back again is the same cursor.
    sent = PageRequest(params={"limit": "2", "after": "5"})
    page = {"results": results(2), "has_next": True, "next_cursor": 5}
    with pytest.raises(PostHogPaginationError, match="same cursor twice"):
        next_page(page, sent, BASE)


def test_non_text_cursor_is_sent_as_text() -> None:
    page = {"results": results(2), "has_next": True, "next_cursor": 5}
    assert next_page(page, PageRequest(), BASE) == PageRequest(params={"after": "5"})


# ------------------------------------------------------------------ offset


def test_offset_mode_without_cursor() -> None:
    sent = PageRequest(params={"limit": "3", "offset": "0"})
    page = {"results": results(3), "has_next": True}
    assert next_page(page, sent, BASE) == PageRequest(params={"limit": "3", "offset": "3"})


def test_offset_mode_starts_at_zero_when_offset_was_not_sent() -> None:
    page = {"results": results(3), "has_next": True}
    assert next_page(page, PageRequest(params={"limit": "3"}), BASE) == PageRequest(
        params={"limit": "3", "offset": "3"}
    )


def test_offset_advances_by_the_results_received_not_the_limit() -> None:
    sent = PageRequest(params={"limit": "50", "offset": "100"})
    page = {"results": results(7), "has_next": True}
    assert next_page(page, sent, BASE) == PageRequest(params={"limit": "50", "offset": "107"})


def test_offset_mode_is_kept_when_offset_was_sent_even_if_a_cursor_comes_back() -> None:
    sent = PageRequest(params={"limit": "2", "offset": "4"})
    page = {"results": results(2), "has_next": True, "next_cursor": "CUR1"}
    assert next_page(page, sent, BASE) == PageRequest(params={"limit": "2", "offset": "6"})


def test_offset_end() -> None:
    sent = PageRequest(params={"limit": "3", "offset": "3"})
    assert next_page({"results": results(2), "has_next": False}, sent, BASE) is None


@pytest.mark.parametrize(
    "page",
    [{"results": [], "has_next": True}, {"results": [], "has_next": True, "next_cursor": "C"}],
)
def test_has_next_with_an_empty_page_is_refused(page: dict[str, Any]) -> None:
    with pytest.raises(
        PostHogPaginationError, match=r"^the server says has_next but returned an empty page$"
    ):
        next_page(page, PageRequest(params={"offset": "0"}), BASE)


# ------------------------------------------------------------------ missing results


@pytest.mark.parametrize(
    "page",
    [
        {"has_next": True, "next_cursor": "C"},
        {"results": None, "has_next": False},
        {"results": {"a": 1}},
        {"count": 3, "next": None},
        {"detail": "oops"},
    ],
)
def test_missing_results_is_refused(page: dict[str, Any]) -> None:
    with pytest.raises(PostHogPaginationError, match=r"^the list answer has no 'results' list$"):
        next_page(page, PageRequest(), BASE)


# ------------------------------------------------------------------ DRF next URL


def test_drf_next_url_is_followed() -> None:
    url = f"{PLAYLISTS}?limit=100&offset=100"
    page = {"count": 250, "next": url, "previous": None, "results": results(100)}
    assert next_page(page, PageRequest(params={"limit": "100"}), BASE) == PageRequest(url=url)


@pytest.mark.parametrize("value", [None, ""])
def test_drf_end(value: str | None) -> None:
    page = {"count": 2, "next": value, "previous": None, "results": results(2)}
    assert next_page(page, PageRequest(url=f"{PLAYLISTS}?offset=100"), BASE) is None


def test_drf_repeated_next_is_refused() -> None:
    url = f"{PLAYLISTS}?limit=100&offset=100"
    page = {"count": 250, "next": url, "results": results(100)}
    with pytest.raises(
        PostHogPaginationError, match=r"^the server returned the same 'next' URL twice$"
    ):
        next_page(page, PageRequest(url=url), BASE)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/api/projects/1/session_recording_playlists/?offset=100",
        "https://us.posthog.com.evil.example/api/?offset=100",
        "https://eu.posthog.com/api/projects/1/session_recording_playlists/?offset=100",
        "http://us.posthog.com/api/projects/1/session_recording_playlists/?offset=100",
        "https://us.posthog.com:8443/api/projects/1/session_recording_playlists/?offset=100",
        "/api/projects/1/session_recording_playlists/?offset=100",
        "//evil.example.com/api/?offset=100",
        "https://us.posthog.com:notaport/api/?offset=100",
        "https://us.posthog.com:99999/api/?offset=100",
        "https://[::1/api/?offset=100",
    ],
)
def test_drf_next_on_another_origin_is_refused(url: str) -> None:
    page = {"count": 250, "next": url, "results": results(100)}
    with pytest.raises(PostHogPaginationError) as info:
        next_page(page, PageRequest(), BASE)
    assert str(info.value) == (
        "refusing to follow a 'next' page URL on another host than https://us.posthog.com: the "
        "API key would be sent there"
    )


def test_drf_next_that_is_not_text_is_refused() -> None:
    page = {"count": 250, "next": 100, "results": results(100)}
    with pytest.raises(PostHogPaginationError, match="refusing to follow"):
        next_page(page, PageRequest(), BASE)


def test_has_next_wins_over_a_next_key() -> None:
    # A recordings-shaped answer that also carries a 'next' key is read as cursor/offset.
    page = {"results": results(2), "has_next": True, "next": "https://evil.example/x"}
    assert next_page(page, PageRequest(params={"limit": "2"}), BASE) == PageRequest(
        params={"limit": "2", "offset": "2"}
    )


# ------------------------------------------------------------------ same_origin


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://us.posthog.com/api/x?y=1", "https://us.posthog.com", True),
        ("https://us.posthog.com:443/api/x", "https://us.posthog.com", True),
        ("https://us.posthog.com/api/x", "https://us.posthog.com:443", True),
        ("http://localhost:80/api/x", "http://localhost", True),
        ("https://US.PostHog.COM/api/x", "https://us.posthog.com", True),
        ("HTTPS://us.posthog.com/api/x", "https://us.posthog.com", True),
        ("https://user@us.posthog.com/api/x", "https://us.posthog.com", True),
        ("http://127.0.0.1:8000/api/x", "http://127.0.0.1:8000", True),
        ("http://[::1]:8000/api/x", "http://[::1]:8000", True),
        ("http://127.0.0.1:8001/api/x", "http://127.0.0.1:8000", False),
        ("http://localhost:8000/api/x", "http://127.0.0.1:8000", False),
        ("http://us.posthog.com/api/x", "https://us.posthog.com", False),
        ("https://us.posthog.com:80/api/x", "https://us.posthog.com", False),
        ("https://eu.posthog.com/api/x", "https://us.posthog.com", False),
    ],
)
def test_same_origin(url: str, base: str, expected: bool) -> None:
    assert same_origin(url, base) is expected


def test_offset_moves_by_the_page_size_when_a_page_is_longer_than_asked() -> None:
    """Found by the fault suite: a first page that repeated 5 items of an earlier answer
    (none of them from this listing's previous page) moved the offset by 25, skipping 5."""
    sent = PageRequest(params={"limit": "20", "offset": "0"})
    page = {"results": [{"id": f"r{i}"} for i in range(25)], "has_next": True}
    following = next_page(page, sent, BASE)
    assert following is not None and following.params["offset"] == "20"


# ------------------------------------------------------------------ offset steps


def test_offset_mode_drops_a_cursor_sent_before() -> None:
    # The server stopped giving cursors (an older server behind a load balancer): offsets
    # take over, and the stale cursor is not sent again.
    sent = PageRequest(params={"limit": "2", "after": "CUR1"})
    page = {"results": results(2), "has_next": True}
    assert next_page(page, sent, BASE) == PageRequest(params={"limit": "2", "offset": "2"})


def test_offset_mode_without_a_limit_moves_by_the_results() -> None:
    page = {"results": results(4), "has_next": True}
    assert next_page(page, PageRequest(params={"offset": "10"}), BASE) == PageRequest(
        params={"offset": "14"}
    )


@pytest.mark.parametrize(
    ("repeated", "offset"),
    [
        (0, "3"),
        (1, "2"),  # one item repeated the page before: two new ones
        (2, "1"),
        (3, "3"),  # nothing new: move by the page (an offset that stands still would loop)
    ],
)
def test_repeated_items_do_not_move_the_offset(repeated: int, offset: str) -> None:
    sent = PageRequest(params={"limit": "3", "offset": "0"})
    page = {"results": results(3), "has_next": True}
    assert next_page(page, sent, BASE, repeated=repeated) == PageRequest(
        params={"limit": "3", "offset": offset}
    )


@pytest.mark.parametrize(("limit", "offset"), [("0", "2"), ("1", "1"), ("x", "2")])
def test_the_limit_caps_the_step_only_when_it_is_a_positive_number(limit: str, offset: str) -> None:
    sent = PageRequest(params={"limit": limit})
    page = {"results": results(2), "has_next": True}
    assert next_page(page, sent, BASE) == PageRequest(params={"limit": limit, "offset": offset})
