"""A plain PostHog API client for session recordings and playlists. No Airflow import.

:class:`PostHogClient` is the front; each concern lives in its own module:

* :mod:`.transport`: the HTTP session and the one retry loop, carrying out the pure
  :mod:`.retry_policy`; :mod:`.key_budget`: the key's per-minute and per-hour budget, shared by
  every client of the process that uses the key;
* :mod:`.pagination`: the one pagination loop over PostHog's three list shapes;
* :mod:`.recordings_api` (list, fetch, mark viewed), :mod:`.recording_deletion` (delete with
  exact accounting), :mod:`.sharing_api`, :mod:`.playlists_api`: the resources;
* :mod:`.bulk_actions`: bulk endpoints tried once, then given up for the run if refused.

Errors are :class:`~airflow_provider_posthog_recordings.errors.PostHogError` subclasses whose
messages say what to check and never contain the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from airflow_provider_posthog_recordings.bulk_actions import BulkActions
from airflow_provider_posthog_recordings.config import (
    key_fingerprint,
    normalize_host,
    validate_api_key,
    validate_project_id,
)
from airflow_provider_posthog_recordings.errors import (
    PostHogConfigError,
    PostHogError,
    PostHogNotFoundError,
)
from airflow_provider_posthog_recordings.key_budget import KeyBudget, shared_budget
from airflow_provider_posthog_recordings.playlists_api import MAX_PLAYLIST_PAGE, PlaylistsAPI
from airflow_provider_posthog_recordings.recording_deletion import RecordingDeletion
from airflow_provider_posthog_recordings.sharing_api import RecordingSharing
from airflow_provider_posthog_recordings.transport import Answer, Transport


class PostHogClient(RecordingDeletion, RecordingSharing, PlaylistsAPI):
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
        requests_per_minute: the key's budget per minute (PostHog: 240); None for none.
        requests_per_hour: the key's budget per hour (PostHog: 1,200, shared by recordings
            and playlists); None for none.
        list_requests_per_minute, list_requests_per_hour: the recordings-list budget of the
            project's plan (free 12 and 60, paid 60 and 300, enterprise 100 and 400); None
            when unknown (429s are then handled as they come).
        concurrency: parallel requests for one-at-a-time fallbacks (deletes, views, playlist
            items); the budget still governs the rate.
        allow_insecure_http: allow ``http://`` to a host that is not loopback.
        backoff_base, backoff_cap: exponential backoff parameters in seconds.
        max_budget_wait: the longest wait for the key's budget (or a 429) the client sleeps
            through; a longer one raises
            :class:`~airflow_provider_posthog_recordings.errors.PostHogBudgetWait` so that a
            deferrable task can give up its worker slot. None: always wait.
        sleep: the sleep function for waits (default: ``backoff.sleep``).
        clock: a monotonic clock for the budgets; given, the client keeps budgets of its own
            on that clock instead of the process-wide ones (simulations, tests).
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
        requests_per_hour: int | None = 1200,
        list_requests_per_minute: int | None = None,
        list_requests_per_hour: int | None = None,
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
        if page_size < 1:
            raise PostHogConfigError("page_size must be at least 1")
        if not 1 <= playlist_page_size <= MAX_PLAYLIST_PAGE:
            raise PostHogConfigError(f"playlist_page_size must be 1..{MAX_PLAYLIST_PAGE}")
        if max_retries < 0 or max_throttle_retries < 0:
            raise PostHogConfigError("max_retries and max_throttle_retries must be >= 0")
        if concurrency < 1:
            raise PostHogConfigError("concurrency must be at least 1")
        for name, value in (
            ("requests_per_minute", requests_per_minute),
            ("requests_per_hour", requests_per_hour),
            ("list_requests_per_minute", list_requests_per_minute),
            ("list_requests_per_hour", list_requests_per_hour),
        ):
            if value is not None and value < 0:
                raise PostHogConfigError(f"{name} must be 0 or more (0 or None: no limit)")
        self.page_size = page_size
        self.playlist_page_size = playlist_page_size
        self.concurrency = concurrency
        fingerprint = key_fingerprint(key)

        def budget(scope: str, per_minute: int | None, per_hour: int | None) -> KeyBudget:
            if clock is None:  # the process-wide budget of this key
                return shared_budget(scope, fingerprint, per_minute, per_hour)
            return KeyBudget(per_minute, per_hour, clock=clock)

        list_budget = (
            budget(f"{base_url}#list", list_requests_per_minute, list_requests_per_hour)
            if list_requests_per_minute or list_requests_per_hour
            else None
        )
        self.transport = Transport(
            base_url=base_url,
            api_key=key,
            project_id=self.project_id,
            budget=budget(base_url, requests_per_minute, requests_per_hour),
            list_budget=list_budget,
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
        self.bulk = BulkActions(self.transport, on_route_missing=self._probe)
        self._state_clock: Callable[[], float] = clock or time.time

    def carried_state(self) -> dict[str, Any]:
        """What a resumed task's new client needs of this one: the key's recent requests
        and the bulk actions the server refused (JSON-able, small)."""
        return {
            "at": self._state_clock(),
            "ages": self.transport.budget.recent_ages(),
            "bulk_refused": self.bulk.refused_names(),
            "bulk_accepted": self.bulk.accepted_names(),
        }

    def take_over(self, carried: dict[str, Any] | None) -> None:
        """Start from what an earlier client of the same task knew (see :meth:`carried_state`).

        A client in the same process already shares the key's budget: its history wins.
        """
        if not carried:
            return
        elapsed = max(0.0, self._state_clock() - float(carried.get("at", 0.0)))
        self.transport.budget.replay([age + elapsed for age in carried.get("ages", [])])
        self.bulk.remember_refused(list(carried.get("bulk_refused", [])))
        self.bulk.remember_accepted(list(carried.get("bulk_accepted", [])))

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

        Raises:
            PostHogError: with a message that says what to fix.
        """
        answer = self._probe()
        if not isinstance(answer.body, dict) or "results" not in answer.body:
            raise PostHogError(
                f"{self.base_url} answered, but not like PostHog's API: check the host"
            )
        return f"Connected to {self.base_url}, project {self.project_id}"


__all__ = [
    "Answer",
    "PostHogClient",
    "PostHogNotFoundError",
]
