"""Trigger that waits, in Airflow's triggerer, for recordings matching a query."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import TRANSIENT_ERRORS, PostHogError
from airflow_provider_posthog_recordings.jobs.waiting import (
    CheckResult,
    RecordingsCheck,
    describe_deadline,
    describe_seconds,
    describe_window,
)


class PostHogRecordingsTrigger(BaseTrigger):
    """Poll PostHog until at least ``min_count`` recordings match ``query``.

    Each poll runs the blocking HTTP client in a worker thread (``asyncio.to_thread``), so the
    triggerer's event loop is never blocked. Throttling and transient server errors only
    delay the next poll; any other error ends the wait with an error event. At ``end_time``
    the wait ends with a timeout event: the trigger keeps its own deadline because not every
    runner enforces the deferral's timeout (``dag.test()`` on Airflow 3 does not).

    :param posthog_conn_id: the PostHog connection.
    :param query: the filters as a JSON-able dict of API parameters.
    :param min_count: recordings needed.
    :param include_ongoing: count recordings still being recorded.
    :param max_ids: at most this many ids in the event.
    :param poll_interval: seconds between polls.
    :param end_time: when to give up, in seconds since the epoch (UTC); None for never.
    :param timeout: the sensor's timeout in seconds, for the timeout message.

    :return: ``{"status": "success", "recording_ids": [...], "count": n, "more": bool}`` (``count``
        is a lower bound when ``more``), ``{"status": "timeout", "message": "..."}`` or
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
        end_time: float | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.posthog_conn_id = posthog_conn_id
        self.query = query
        self.min_count = min_count
        self.include_ongoing = include_ongoing
        self.max_ids = max_ids
        self.poll_interval = poll_interval
        self.end_time = end_time
        self.timeout = timeout
        self._client: PostHogClient | None = None

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
                "end_time": self.end_time,
                "timeout": self.timeout,
            },
        )

    def _check_once(self) -> CheckResult:
        """One check, with the client read from the connection once for the whole run."""
        if self._client is None:
            from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook

            self._client = PostHogHook(posthog_conn_id=self.posthog_conn_id).get_client()
        check = RecordingsCheck(self.query, self.min_count, self.include_ongoing, self.max_ids)
        return check.run(self._client)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until enough recordings match or the deadline passes; yield one event.

        The connection is read once and one client serves every poll; it is closed when the
        run ends (an event, an error, or the triggerer cancelling it).
        """
        try:
            async for event in self._poll():
                yield event
                return
        finally:
            client, self._client = self._client, None
            if client is not None:
                client.close()

    async def _poll(self) -> AsyncIterator[TriggerEvent]:
        while True:
            try:
                result = await asyncio.to_thread(self._check_once)
            except TRANSIENT_ERRORS as exc:
                self.log.warning("PostHog check failed (%s); polling again later", exc)
            except PostHogError as exc:
                yield TriggerEvent({"status": "error", "message": str(exc)})
                return
            except Exception as exc:
                yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
                return
            else:
                if result.done:
                    yield TriggerEvent(
                        {
                            "status": "success",
                            "recording_ids": result.ids,
                            "count": result.matched,
                            "more": result.more,
                        }
                    )
                    return
                self.log.info(
                    "%s found, %d needed (%s); %s; next poll in %s",
                    result.describe(),
                    self.min_count,
                    describe_window(self.query),
                    describe_deadline(self.end_time, time.time()),
                    describe_seconds(self.poll_interval),
                )
            wait = self.poll_interval
            if self.end_time is not None:
                left = self.end_time - time.time()
                if left <= 0:
                    yield TriggerEvent({"status": "timeout", "message": self._timeout_message()})
                    return
                wait = min(wait, left)
            await asyncio.sleep(wait)

    def _timeout_message(self) -> str:
        return timeout_message(self.timeout, self.min_count, self.query)


def timeout_message(timeout: float | None, min_count: int, query: Any) -> str:
    """``timed out after 12 h (timeout=43200 s): fewer than 1 recording matched {...}``."""
    after = "at the sensor's timeout"
    if timeout is not None:
        after = f"after {describe_seconds(timeout)} (timeout={timeout:g} s)"
    noun = "recording" if min_count == 1 else "recordings"
    return f"timed out {after}: fewer than {min_count} {noun} matched the query {query}"
