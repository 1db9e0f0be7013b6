"""The check behind the recordings sensor and its trigger (no Airflow import)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.query import RecordingsQuery


@dataclass(frozen=True)
class RecordingsCheck:
    """Whether at least ``min_count`` recordings match ``query``.

    Attributes:
        query: the filters (as a dict of API parameters or a query).
        min_count: how many recordings must match.
        include_ongoing: count recordings still being recorded.
        max_ids: at most this many ids are returned.
    """

    query: RecordingsQuery | Mapping[str, Any] | None
    min_count: int = 1
    include_ongoing: bool = True
    max_ids: int = 100

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError("min_count must be at least 1")
        if self.max_ids < 0:
            raise ValueError("max_ids must be 0 or more")

    def run(self, client: PostHogClient) -> tuple[bool, list[str]]:
        """List just enough recordings to decide; return (done, matching ids capped)."""
        wanted = max(self.min_count, self.max_ids)
        found: list[str] = []
        matched = 0
        page_size = min(client.page_size, wanted if self.include_ongoing else wanted * 2)
        for recording in client.iter_recordings(self.query, page_size=page_size):
            if recording.ongoing and not self.include_ongoing:
                continue
            matched += 1
            if len(found) < self.max_ids:
                found.append(recording.id)
            if matched >= wanted:
                break
        return matched >= self.min_count, found
