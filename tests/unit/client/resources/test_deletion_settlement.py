"""Turning a bulk_delete answer into per-id outcomes (PostHog skips unknown ids silently)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from airflow_provider_posthog_recordings.client.resources.deletion import (
    NOT_DELETED,
    SKIPPED,
    settle_bulk_delete,
)

BATCH = ["a", "b", "c", "d"]


def looker(still_there: set[str], calls: list[list[str]]) -> Callable[[list[str]], set[str]]:
    def look(ids: list[str]) -> set[str]:
        calls.append(list(ids))
        return {rid for rid in ids if rid in still_there}

    return look


def test_every_id_told_and_deleted_needs_no_look() -> None:
    calls: list[list[str]] = []
    body = {"deleted_count": 4, "failed_ids": [], "total_requested": 4}
    result = settle_bulk_delete(BATCH, body, after_ambiguous=False, look=looker(set(), calls))
    assert result.deleted == BATCH and not result.failed and calls == []


def test_failed_ids_are_looked_at() -> None:
    calls: list[list[str]] = []
    body = {"deleted_count": 2, "failed_ids": ["c", "d"]}
    result = settle_bulk_delete(BATCH, body, after_ambiguous=False, look=looker({"c"}, calls))
    assert result.deleted == ["a", "b"]
    assert result.failed == {"c": NOT_DELETED}
    assert result.already_gone == ["d"]
    assert calls == [["c", "d"]]


def test_silent_skips_are_settled_by_looking() -> None:
    # "d" was skipped (outside the window) and is still there; nothing else missing.
    calls: list[list[str]] = []
    body = {"deleted_count": 3, "failed_ids": []}
    result = settle_bulk_delete(BATCH, body, after_ambiguous=False, look=looker({"d"}, calls))
    assert result.deleted == ["a", "b", "c"]
    assert result.failed == {"d": SKIPPED}
    assert result.deleted_count == 3


def test_gone_before_the_call_cannot_count_as_deleted(caplog: pytest.LogCaptureFixture) -> None:
    # The server deleted 2; 3 are gone: one of them was deleted by someone else in between.
    body = {"deleted_count": 2, "failed_ids": []}
    with caplog.at_level(logging.WARNING, logger="airflow_provider_posthog_recordings"):
        result = settle_bulk_delete(BATCH, body, after_ambiguous=False, look=looker({"d"}, []))
    assert [record.getMessage() for record in caplog.records] == [
        "PostHog deleted 2 of 3 recordings that are gone: someone else deleted the others in "
        "the same instant; counted as already gone"
    ]
    assert result.deleted == []
    assert result.unattributed == ["a", "b", "c"]
    assert (result.deleted_count, result.already_gone_count) == (2, 1)
    assert result.failed == {"d": SKIPPED}


def test_legacy_answer_without_failed_ids() -> None:
    calls: list[list[str]] = []
    everything = settle_bulk_delete(
        BATCH, {"deleted_count": 4}, after_ambiguous=False, look=looker(set(), calls)
    )
    assert everything.deleted == BATCH
    assert calls == []  # every id counted: nothing to look at
    partial = settle_bulk_delete(
        BATCH, {"deleted_count": 3}, after_ambiguous=False, look=looker({"b"}, [])
    )
    assert partial.deleted == ["a", "c", "d"] and partial.failed == {"b": SKIPPED}


@pytest.mark.parametrize("body", [{"deleted_count": 0, "failed_ids": []}, {"deleted_count": 1}])
def test_after_a_lost_first_attempt_what_is_gone_was_deleted_by_us(body: dict[str, object]) -> None:
    result = settle_bulk_delete(BATCH, body, after_ambiguous=True, look=looker({"b"}, []))
    assert result.deleted == ["a", "c", "d"]
    assert result.failed == {"b": SKIPPED}


def test_a_body_that_is_not_an_object_is_settled_by_looking() -> None:
    result = settle_bulk_delete(BATCH, "oops", after_ambiguous=False, look=looker({"a"}, []))
    assert result.unattributed == ["b", "c", "d"] and result.unattributed_deleted == 0
    assert result.already_gone_count == 3


def test_a_legacy_full_count_after_a_lost_attempt_is_looked_at() -> None:
    # The retry's count may include ids the lost first attempt already took, or not: look.
    calls: list[list[str]] = []
    result = settle_bulk_delete(
        BATCH, {"deleted_count": 4}, after_ambiguous=True, look=looker({"a"}, calls)
    )
    assert calls == [BATCH]
    assert result.deleted == ["b", "c", "d"] and result.failed == {"a": SKIPPED}


def test_failed_ids_among_silent_skips_keep_their_reason() -> None:
    # Not every id accounted for (2 deleted + 1 failed of 4): the whole batch is looked at.
    calls: list[list[str]] = []
    body = {"deleted_count": 2, "failed_ids": ["c"]}
    result = settle_bulk_delete(BATCH, body, after_ambiguous=False, look=looker({"c", "d"}, calls))
    assert calls == [BATCH]
    assert result.deleted == ["a", "b"]
    assert result.failed == {"c": NOT_DELETED, "d": SKIPPED}
