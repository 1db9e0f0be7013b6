"""The curation plan (jobs/curation.py), pure."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.models import Recording
from airflow_provider_posthog_recordings.jobs import curation
from airflow_provider_posthog_recordings.jobs.arguments import as_optional_int
from airflow_provider_posthog_recordings.jobs.curation import CurationPlan, plan_curation


def validate_max_deletions(value: object) -> int | None:
    return as_optional_int(value, "max_deletions")


UTC = timezone.utc
CUTOFF = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def rec(
    rid: str = "s1", start: datetime | None = CUTOFF - timedelta(days=1), **fields: object
) -> Recording:
    return Recording.model_validate({"id": rid, "start_time": start, **fields})


# ------------------------------------------------------------------ plan_curation


def test_curation_adds_newest_first_up_to_max() -> None:
    plan = plan_curation([], ["n1", "n2", "n3", "n4"], max_recordings=3, remove_stale=False)
    assert plan == CurationPlan(add=["n1", "n2", "n3"], remove=[], target=["n1", "n2", "n3"])


def test_curation_never_adds_what_is_there() -> None:
    plan = plan_curation(["n2", "old"], ["n1", "n2", "n3"], max_recordings=10, remove_stale=False)
    assert plan.add == ["n1", "n3"]
    assert plan.remove == []
    assert plan.target == ["n1", "n2", "n3"]


def test_curation_remove_stale() -> None:
    plan = plan_curation(
        ["old", "n2", "gone"], ["n1", "n2", "n3"], max_recordings=10, remove_stale=True
    )
    assert plan == CurationPlan(add=["n1", "n3"], remove=["old", "gone"], target=["n1", "n2", "n3"])


def test_curation_remove_stale_pushes_out_older_matches() -> None:
    plan = plan_curation(
        ["n3", "n4"], ["n1", "n2", "n3", "n4"], max_recordings=2, remove_stale=True
    )
    assert plan == CurationPlan(add=["n1", "n2"], remove=["n3", "n4"], target=["n1", "n2"])


def test_curation_without_remove_stale_keeps_extra_items() -> None:
    plan = plan_curation(
        ["n3", "n4"], ["n1", "n2", "n3", "n4"], max_recordings=2, remove_stale=False
    )
    assert plan == CurationPlan(add=["n1", "n2"], remove=[], target=["n1", "n2"])


def test_curation_already_up_to_date() -> None:
    plan = plan_curation(["n1", "n2"], ["n1", "n2", "n3"], max_recordings=2, remove_stale=True)
    assert plan == CurationPlan(add=[], remove=[], target=["n1", "n2"])


def test_curation_max_zero() -> None:
    assert plan_curation(["a", "b"], ["n1"], max_recordings=0, remove_stale=True) == CurationPlan(
        add=[], remove=["a", "b"], target=[]
    )
    assert plan_curation(["a"], ["n1"], max_recordings=0, remove_stale=False) == CurationPlan(
        add=[], remove=[], target=[]
    )


def test_curation_duplicates_in_inputs() -> None:
    plan = plan_curation(
        ["a", "x", "a", "x"],
        ["n1", "n1", "a", "n2", "n1", "n3"],
        max_recordings=3,
        remove_stale=True,
    )
    # Duplicates do not take target places: the target is the 3 newest distinct ids.
    assert plan == CurationPlan(add=["n1", "n2"], remove=["x"], target=["n1", "a", "n2"])
    assert len(set(plan.add)) == len(plan.add)
    assert len(set(plan.remove)) == len(plan.remove)


def test_curation_accepts_iterators() -> None:
    plan = plan_curation(iter(["a"]), ("a", "b"), max_recordings=5, remove_stale=True)
    assert plan == CurationPlan(add=["b"], remove=[], target=["a", "b"])


def test_curation_negative_max_is_refused() -> None:
    with pytest.raises(PostHogConfigError, match="max_recordings must be 0 or more"):
        plan_curation([], ["a"], max_recordings=-1, remove_stale=False)


def test_matching_count_is_exact_only_when_posthog_says_there_is_no_more() -> None:
    assert curation.matching_count({"count": 12, "has_more": False}) == {"matching": 12}
    assert curation.matching_count({"count": 50, "has_more": True}) == {
        "matching": None,
        "matching_at_least": 50,
    }
    assert curation.matching_count({}) == {"matching": None}
    assert curation.matching_count({"count": None, "has_more": None}) == {"matching": None}


def test_describe_matching_never_states_a_capped_count_as_exact() -> None:
    assert curation.describe_matching({"matching": 12}) == "12 recordings match"
    capped = {"matching": None, "matching_at_least": 50}
    assert curation.describe_matching(capped) == "at least 50 recordings match"
    assert "not counted" in curation.describe_matching({"matching": None})
