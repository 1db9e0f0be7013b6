"""Reading and marking recordings: the list (streamed, page by page), one recording, views.

A resource of
:class:`~airflow_provider_posthog_recordings.client.posthog_client.PostHogClient`; deleting is in
:mod:`airflow_provider_posthog_recordings.client.resources.deletion`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from airflow_provider_posthog_recordings.client.http.batching import chunked, map_concurrently
from airflow_provider_posthog_recordings.client.http.paths import safe_id
from airflow_provider_posthog_recordings.client.http.transport import Transport
from airflow_provider_posthog_recordings.client.models import Recording
from airflow_provider_posthog_recordings.client.query import RecordingsQuery, widest_window_start
from airflow_provider_posthog_recordings.client.resources.bulk import BulkActions

#: PostHog's cap on ``bulk_viewed``.
BULK_VIEWED_CAP = 20
#: Ids asked for in one existence check (sent as ``session_ids``).
EXISTENCE_BATCH = 500

QueryLike = RecordingsQuery | Mapping[str, Any] | None


class Recordings:
    """List, fetch and mark recordings.

    :param transport: the client's HTTP transport.
    :param bulk: the client's bulk endpoints (``bulk_viewed``).
    :param page_size: recordings per list request.
    :param concurrency: parallel requests for one-at-a-time fallbacks.
    """

    def __init__(
        self, transport: Transport, bulk: BulkActions, *, page_size: int, concurrency: int
    ) -> None:
        self.transport = transport
        self.bulk = bulk
        self.page_size = page_size
        self.concurrency = concurrency

    def iter_recording_pages(
        self, query: QueryLike = None, page_size: int | None = None, *, prefetch: bool = False
    ) -> Iterator[list[Recording]]:
        """Yield the recordings matching ``query`` page by page.

        Note that without ``date_from`` PostHog only looks at the last three days.

        :param query: filters.
        :param page_size: recordings per request.
        :param prefetch: fetch the next page while the caller handles this one (for callers
            that read every page).
        """
        params = RecordingsQuery.parse(query).to_params()
        params["limit"] = str(page_size or self.page_size)
        pages = self.transport.pages("session_recordings/", params, listing=True, prefetch=prefetch)
        for raw_page in pages:
            yield [Recording.model_validate(item) for item in raw_page]

    def iter_recordings(
        self, query: QueryLike = None, page_size: int | None = None, max_results: int | None = None
    ) -> Iterator[Recording]:
        """Yield every recording matching ``query`` (streamed; memory stays flat).

        :param query: filters (a :class:`RecordingsQuery` or a dict of API parameters).
        :param page_size: recordings per request (default: the client's ``page_size``).
        :param max_results: stop after this many (the page size shrinks to match).
        """
        size = page_size or self.page_size
        if max_results is not None:
            if max_results <= 0:
                return
            size = min(size, max_results)
        seen = 0
        for page in self.iter_recording_pages(query, size):
            for recording in page:
                yield recording
                seen += 1
                if max_results is not None and seen >= max_results:
                    return

    def get_recording(self, recording_id: str) -> Recording:
        """Return one recording. Raises PostHogNotFoundError when it does not exist."""
        answer = self.transport.send("GET", f"session_recordings/{safe_id(recording_id)}/")
        return Recording.model_validate(answer.body)

    def existing_recording_ids(self, recording_ids: Iterable[str]) -> set[str]:
        """Which of these recordings exist now (one list request per 500 ids, any age).

        The window reaches back past PostHog's longest retention: older servers apply it to
        ``session_ids`` too, and without it they would only look at the last three days.
        """
        return set(self.existing_recordings(recording_ids))

    def existing_recordings(self, recording_ids: Iterable[str]) -> dict[str, Recording]:
        """The recordings among these ids that exist now, with their current fields (one list
        request per 500 ids, any age; see :meth:`existing_recording_ids`).

        :param recording_ids: the ids to look up.
        :return: id -> the recording as PostHog lists it now.
        """
        found: dict[str, Recording] = {}
        for batch in chunked(list(dict.fromkeys(recording_ids)), EXISTENCE_BATCH):
            query = RecordingsQuery(session_ids=batch, date_from=widest_window_start())
            for rec in self.iter_recordings(query, page_size=len(batch)):
                found[rec.id] = rec
        return found

    def mark_viewed(self, recording_ids: Iterable[str]) -> int:
        """Mark recordings viewed by the key's owner; return how many were marked.

        Uses ``bulk_viewed`` (20 ids a call) and falls back to one PATCH per recording when
        the server refuses bulk actions (PostHog Cloud refuses them to personal API keys).
        Recordings that do not exist are skipped (bulk: PostHog counts every id it was sent).
        """
        marked = 0
        for batch in chunked(dict.fromkeys(recording_ids), BULK_VIEWED_CAP):
            attempt = self.bulk.attempt(
                "recordings.bulk_viewed", "session_recordings/bulk_viewed/", batch
            )
            if attempt.accepted and attempt.answer is not None:
                body = attempt.answer.body if isinstance(attempt.answer.body, dict) else {}
                marked += int(body.get("viewed_count", len(batch)))
                continue
            marked += sum(map_concurrently(self._mark_one_viewed, batch, self.concurrency))
        return marked

    def _mark_one_viewed(self, recording_id: str) -> int:
        answer = self.transport.send(
            "PATCH",
            f"session_recordings/{safe_id(recording_id)}/",
            json_body={"viewed": True},
            rules=self.transport.rules(accept={404}),
        )
        return 0 if answer.status == 404 else 1
