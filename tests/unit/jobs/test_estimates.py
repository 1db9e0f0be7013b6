"""The cost of a deletion in words (jobs/estimates.py), on the client's real budget logic."""

from __future__ import annotations

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.jobs.estimates import DeletionEstimate, deletion_estimate


def _client(**budget: int | None) -> PostHogClient:
    # No request is sent: the estimate reads the budget and the bulk rules only.
    return PostHogClient("http://127.0.0.1:9", "phx_estimate", 1, **budget)


def test_a_small_deletion_fits_in_one_leg_at_the_cloud_budget() -> None:
    client = _client(requests_per_minute=240, requests_per_hour=1200)
    estimate = deletion_estimate(client, 100)
    assert estimate.requests == client.requests_to_delete(100) >= 100
    assert estimate.legs == 1 and estimate.seconds is not None
    assert estimate.describe().startswith(f"about {estimate.requests:,} requests at 240/minute")


def test_more_than_an_hours_budget_takes_legs_and_hours() -> None:
    client = _client(requests_per_minute=240, requests_per_hour=1200)
    estimate = deletion_estimate(client, 3000)
    assert estimate.seconds is not None and estimate.seconds > 2 * 3600
    assert estimate.legs >= 3
    assert " h" in estimate.describe() and "legs" in estimate.describe()


def test_without_a_budget_there_is_no_time_estimate() -> None:
    estimate = deletion_estimate(_client(requests_per_minute=None, requests_per_hour=None), 10)
    assert estimate.seconds is None
    assert estimate.describe().endswith("no client-side budget, no time estimate")


def test_describe_reads_as_a_person_says_it() -> None:
    assert (
        DeletionEstimate(845, 852, 2580.0, 1, "240/minute and 1200/hour").describe()
        == "about 852 requests at 240/minute and 1200/hour: about 43 min, 1 leg"
    )
