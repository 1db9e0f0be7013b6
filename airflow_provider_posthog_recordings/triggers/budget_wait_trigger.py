"""Trigger that waits, in Airflow's triggerer, until the PostHog key's budget refills."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class BudgetResumeEvent(TriggerEvent):
    """The trigger's event: it carries the job's state, but is logged without it.

    A real triggerer logs every event it fires ("Trigger fired event"); the state (up to
    30,000 characters of ids) would fill the log. The task resumes from the state in its own
    ``next_kwargs``; the copy here is for runners that drop those (``dag.test()``).
    """

    def __repr__(self) -> str:
        payload = self.payload if isinstance(self.payload, dict) else {}
        state = payload.get("state")
        size = "none" if state is None else f"{len(json.dumps(state)):,} characters, not shown"
        return f"TriggerEvent<resume at {payload.get('resume_at')}; the job's state: {size}>"

    def __str__(self) -> str:
        return repr(self)

    def __structlog__(self) -> str:
        """What structlog writes for it (Airflow 3's logs)."""
        return repr(self)


class PostHogBudgetWaitTrigger(BaseTrigger):
    """Sleep until ``resume_at``, then fire once, handing the job's state back.

    A deferred purge or erasure waits here instead of in a worker slot; the task then
    resumes with the state it deferred with. A small state travels in the event as well as in
    the deferral's kwargs: Airflow 3's ``dag.test()`` replaces those kwargs with the event. The
    event is logged without it (:class:`BudgetResumeEvent`).

    :param resume_at: ISO 8601 time (with offset) to fire at.
    :param state: the job's JSON-able state, returned in the event.

    :return: ``{"status": "resume", "resume_at": ..., "state": ...}``.
    """

    def __init__(self, resume_at: str, state: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.resume_at = resume_at
        self.state = state

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON-able arguments, as the triggerer stores them."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"resume_at": self.resume_at, "state": self.state},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait until ``resume_at``; yield one event."""
        when = datetime.fromisoformat(self.resume_at)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        delay = (when - datetime.now(timezone.utc)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        yield BudgetResumeEvent(
            payload={"status": "resume", "resume_at": self.resume_at, "state": self.state}
        )
