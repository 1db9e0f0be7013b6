"""The retention rule (jobs/retention.py): the cutoff, decisions and their counts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.models import Recording
from airflow_provider_posthog_recordings.client.query import LONGEST_RETENTION_DAYS
from airflow_provider_posthog_recordings.jobs.arguments import as_optional_int
from airflow_provider_posthog_recordings.jobs.retention import (
    Decision,
    KeepReason,
    PlanCounts,
    RetentionPolicy,
    compute_cutoff,
    validate_older_than_days,
)


def validate_max_deletions(value: object) -> int | None:
    return as_optional_int(value, "max_deletions")


UTC = timezone.utc
CUTOFF = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def rec(
    rid: str = "s1", start: datetime | None = CUTOFF - timedelta(days=1), **fields: object
) -> Recording:
    return Recording.model_validate({"id": rid, "start_time": start, **fields})


# ------------------------------------------------------------------ older_than_days / cutoff


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1), (14, 14), ("7", 7), (" 30 ", 30), (3650, 3650)]
)
def test_validate_older_than_days(value: object, expected: int) -> None:
    assert validate_older_than_days(value) == expected


@pytest.mark.parametrize(("value", "shown"), [(0, 0), (-1, -1), ("0", 0), ("-3", -3)])
def test_older_than_days_must_be_positive(value: object, shown: int) -> None:
    with pytest.raises(PostHogConfigError) as info:
        validate_older_than_days(value)
    assert str(info.value) == (
        f"older_than_days must be at least 1 (got {shown}): 0 or less would delete recordings "
        "of today"
    )


@pytest.mark.parametrize("value", [True, False, None, 7.0, 7.5, "seven", "7d", "", [7]])
def test_older_than_days_must_be_a_whole_number(value: object) -> None:
    with pytest.raises(PostHogConfigError) as info:
        validate_older_than_days(value)
    assert str(info.value) == f"older_than_days must be a whole number of days, not {value!r}"


def test_compute_cutoff() -> None:
    reference = datetime(2024, 5, 15, 6, 30, tzinfo=UTC)
    assert compute_cutoff(reference, 14) == datetime(2024, 5, 1, 6, 30, tzinfo=UTC)


def test_compute_cutoff_naive_reference_is_utc() -> None:
    cutoff = compute_cutoff(datetime(2024, 5, 15, 6, 30), 14)
    assert cutoff == datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
    assert cutoff.utcoffset() == timedelta(0)


def test_compute_cutoff_converts_to_utc() -> None:
    reference = datetime(2024, 5, 15, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    cutoff = compute_cutoff(reference, 1)
    assert cutoff == datetime(2024, 5, 14, 0, 0, tzinfo=UTC)
    assert cutoff.tzinfo == UTC


def test_older_than_days_accepts_text_days_and_refuses_zero() -> None:
    days = validate_older_than_days("2")
    assert compute_cutoff(CUTOFF, days) == datetime(2024, 4, 29, tzinfo=UTC)
    with pytest.raises(PostHogConfigError, match="at least 1"):
        validate_older_than_days(0)


def test_the_widest_window_reaches_past_five_years_with_leap_days() -> None:
    """PostHog keeps recordings at most 5 years (from the start of their day): the widest
    window must reach before a recording that started 5 calendar years and a day ago."""
    now = datetime(2028, 3, 1, tzinfo=UTC)  # 2024 and 2028 are leap years within the window
    five_years_ago = datetime(2023, 2, 28, tzinfo=UTC)
    assert now - timedelta(days=LONGEST_RETENTION_DAYS) < five_years_ago


# ------------------------------------------------------------------ RetentionPolicy.decide


def test_policy_needs_an_aware_cutoff() -> None:
    with pytest.raises(PostHogConfigError, match=r"^the cutoff must be timezone-aware$"):
        RetentionPolicy(cutoff=datetime(2024, 5, 1))


def test_old_recording_is_deleted() -> None:
    assert RetentionPolicy(CUTOFF).decide(rec("old")) == Decision("old", True, None)


def test_missing_start_time_is_kept() -> None:
    decision = RetentionPolicy(CUTOFF).decide(rec("x", None))
    assert decision == Decision("x", False, KeepReason.NO_START_TIME)


def test_exactly_at_the_cutoff_is_kept() -> None:
    decision = RetentionPolicy(CUTOFF).decide(rec("x", CUTOFF))
    assert decision == Decision("x", False, KeepReason.NEWER_THAN_CUTOFF)


def test_one_microsecond_before_the_cutoff_is_deleted() -> None:
    assert RetentionPolicy(CUTOFF).decide(rec("x", CUTOFF - TICK)) == Decision("x", True)


def test_newer_is_kept() -> None:
    decision = RetentionPolicy(CUTOFF).decide(rec("x", CUTOFF + timedelta(days=3)))
    assert decision == Decision("x", False, KeepReason.NEWER_THAN_CUTOFF)


def test_cutoff_in_another_zone_compares_by_instant() -> None:
    plus_two = RetentionPolicy(CUTOFF.astimezone(timezone(timedelta(hours=2))))
    assert plus_two.decide(rec("x", CUTOFF - TICK)).delete is True
    assert plus_two.decide(rec("x", CUTOFF)).delete is False


def test_start_time_text_with_offset_is_compared_as_an_instant() -> None:
    # 01:59:59+02:00 is 23:59:59 UTC the day before the cutoff.
    recording = Recording.model_validate({"id": "x", "start_time": "2024-05-01T01:59:59+02:00"})
    assert RetentionPolicy(CUTOFF).decide(recording).delete is True
    recording = Recording.model_validate({"id": "y", "start_time": "2024-05-01T02:00:00+02:00"})
    assert RetentionPolicy(CUTOFF).decide(recording).reason is KeepReason.NEWER_THAN_CUTOFF


def test_ongoing_is_kept() -> None:
    decision = RetentionPolicy(CUTOFF).decide(rec("x", ongoing=True))
    assert decision == Decision("x", False, KeepReason.ONGOING)


@pytest.mark.parametrize("ongoing", [False, None])
def test_not_ongoing_is_deleted(ongoing: bool | None) -> None:
    assert RetentionPolicy(CUTOFF).decide(rec("x", ongoing=ongoing)).delete is True


def test_protected_by_playlist_is_kept() -> None:
    policy = RetentionPolicy(CUTOFF, protected_ids=frozenset({"keep-me"}))
    assert policy.decide(rec("keep-me")) == Decision(
        "keep-me", False, KeepReason.PROTECTED_PLAYLIST
    )
    assert policy.decide(rec("other")) == Decision("other", True)


def test_newer_wins_over_protected_as_the_reason() -> None:
    policy = RetentionPolicy(CUTOFF, protected_ids=frozenset({"x"}))
    assert policy.decide(rec("x", CUTOFF)).reason is KeepReason.NEWER_THAN_CUTOFF


@pytest.mark.parametrize(
    ("shared", "delete", "reason"),
    [(True, False, KeepReason.SHARED), (None, False, KeepReason.SHARED), (False, True, None)],
)
def test_keep_shared(shared: bool | None, delete: bool, reason: KeepReason | None) -> None:
    policy = RetentionPolicy(CUTOFF, keep_shared=True)
    assert policy.decide(rec("x"), shared=shared) == Decision("x", delete, reason)


@pytest.mark.parametrize("shared", [True, False, None])
def test_sharing_ignored_without_keep_shared(shared: bool | None) -> None:
    assert RetentionPolicy(CUTOFF).decide(rec("x"), shared=shared) == Decision("x", True)


def test_protected_wins_over_shared_as_the_reason() -> None:
    policy = RetentionPolicy(CUTOFF, protected_ids=frozenset({"x"}), keep_shared=True)
    assert policy.decide(rec("x"), shared=True).reason is KeepReason.PROTECTED_PLAYLIST


# ------------------------------------------------------------------ PlanCounts


def test_purge_tally_counts() -> None:
    policy = RetentionPolicy(CUTOFF, protected_ids=frozenset({"p"}), keep_shared=True)
    tally = PlanCounts()
    cases = [
        (rec("a"), False),
        (rec("b"), False),
        (rec("c"), True),
        (rec("d"), None),
        (rec("p"), False),
        (rec("n", CUTOFF), False),
        (rec("m", CUTOFF + TICK), False),
        (rec("z", None), False),
        (rec("o", ongoing=True), False),
    ]
    for recording, shared in cases:
        tally.add(policy.decide(recording, shared=shared))
    assert tally.listed == 9
    assert tally.candidates == 2
    assert tally.kept == Counter(
        {
            "shared": 2,
            "protected_playlist": 1,
            "newer_than_cutoff": 2,
            "no_start_time": 1,
            "ongoing": 1,
        }
    )
    assert sum(tally.kept.values()) + tally.candidates == tally.listed


def test_purge_tally_starts_empty_and_does_not_share_counters() -> None:
    first, second = PlanCounts(), PlanCounts()
    first.add(Decision("a", False, KeepReason.ONGOING))
    assert (second.listed, second.candidates, second.kept) == (0, 0, Counter())
    assert dict(first.kept) == {"ongoing": 1}


def test_compute_cutoff_with_a_pendulum_reference_stays_aware() -> None:
    import pendulum

    reference = pendulum.datetime(2026, 11, 23, 9, 0, tz="UTC")
    cutoff = compute_cutoff(reference, 30)
    assert type(cutoff) is datetime
    assert cutoff == datetime(2026, 10, 24, 9, 0, tzinfo=timezone.utc)
    assert cutoff.tzinfo is not None
