"""Trigger that waits, in Airflow's triggerer, for recordings matching a query."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_posthog_recordings.checks import RecordingsCheck
from airflow_provider_posthog_recordings.errors import TRANSIENT_ERRORS, PostHogError


class PostHogRecordingsTrigger(BaseTrigger):
    """Poll PostHog until at least ``min_count`` recordings match ``query``.

    Each poll runs the blocking HTTP client in a worker thread (``asyncio.to_thread``), so the
    triggerer's event loop is never blocked. Throttling and transient server errors only
    delay the next poll; any other error ends the wait with an error event.

    Args:
        posthog_conn_id: the PostHog connection.
        query: the filters as a JSON-able dict of API parameters.
        min_count: recordings needed.
        include_ongoing: count recordings still being recorded.
        max_ids: at most this many ids in the event.
        poll_interval: seconds between polls.

    Yields:
        ``{"status": "success", "recording_ids": [...], "count": n}`` or
        ``{"status": "error", "message": "..."}``.
    """

    def __init__(
        self,
        posthog_conn_id: str,
        query: dict[str, Any] | None,
        min_count: int = 1,
        include_ongoing: bool = True,
        max_ids: int = 100,
        poll_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.posthog_conn_id = posthog_conn_id
        self.query = query
        self.min_count = min_count
        self.include_ongoing = include_ongoing
        self.max_ids = max_ids
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON-able arguments, as the triggerer stores them."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "posthog_conn_id": self.posthog_conn_id,
                "query": self.query,
                "min_count": self.min_count,
                "include_ongoing": self.include_ongoing,
                "max_ids": self.max_ids,
                "poll_interval": self.poll_interval,
            },
        )

    def _check_once(self) -> tuple[bool, list[str]]:
        from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook

        client = PostHogHook(posthog_conn_id=self.posthog_conn_id).get_client()
        check = RecordingsCheck(self.query, self.min_count, self.include_ongoing, self.max_ids)
        try:
            return check.run(client)
        finally:
            client.close()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until enough recordings match; yield one event."""
        while True:
            try:
                done, ids = await asyncio.to_thread(self._check_once)
            except TRANSIENT_ERRORS as exc:
                self.log.warning("PostHog check failed (%s); polling again later", exc)
            except PostHogError as exc:
                yield TriggerEvent({"status": "error", "message": str(exc)})
                return
            except Exception as exc:
                yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
                return
            else:
                if done:
                    yield TriggerEvent(
                        {"status": "success", "recording_ids": ids, "count": len(ids)}
                    )
                    return
                self.log.info(
                    "Fewer than %d recordings match; next poll in %ss",
                    self.min_count,
                    self.poll_interval,
                )
            await asyncio.sleep(self.poll_interval)
