"""Sensor that waits for recordings matching a query (optionally deferrable)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_posthog_recordings.checks import RecordingsCheck
from airflow_provider_posthog_recordings.errors import TRANSIENT_ERRORS, PostHogError
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook
from airflow_provider_posthog_recordings.query import RecordingsQuery, query_as_dict
from airflow_provider_posthog_recordings.triggers.recordings import PostHogRecordingsTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class PostHogRecordingsSensor(BaseSensorOperator):
    """Wait until at least ``min_count`` recordings match a query.

    For example, new recordings with console errors since the data interval started::

        PostHogRecordingsSensor(
            task_id="wait_for_errors",
            query={"date_from": "{{ data_interval_start }}",
                   "console_log_filters": [{"key": "level", "type": "log_entry",
                                            "operator": "exact", "value": ["error"]}]},
            deferrable=True,
        )

    Args:
        query: filters (templated). Give ``date_from``: PostHog's default is 3 days.
        min_count: how many recordings must match.
        include_ongoing: count recordings still being recorded (default True).
        max_ids: at most this many ids are returned.
        deferrable: wait in the triggerer instead of a worker slot (default: Airflow's
            ``operators.default_deferrable``).
        posthog_conn_id: the PostHog connection.
        poke_interval, timeout, mode: as every sensor.

    Returns:
        The matching recording ids (at most ``max_ids``).
    """

    template_fields: Sequence[str] = ("query", "min_count")
    ui_color = "#f9bd38"

    def __init__(
        self,
        *,
        query: RecordingsQuery | Mapping[str, Any] | None,
        min_count: int = 1,
        include_ongoing: bool = True,
        max_ids: int = 100,
        posthog_conn_id: str = PostHogHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.query = query_as_dict(query)
        self.min_count = min_count
        self.include_ongoing = include_ongoing
        self.max_ids = max_ids
        self.posthog_conn_id = posthog_conn_id
        self.deferrable = deferrable

    def _check(self) -> RecordingsCheck:
        query = RecordingsQuery.parse(self.query)
        if query.date_from is None and not query.session_ids:
            self.log.warning("The query has no date_from: PostHog only looks at the last 3 days")
        return RecordingsCheck(
            query_as_dict(query),
            int(self.min_count),
            self.include_ongoing,
            self.max_ids,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        """One check; throttling or a transient server error counts as 'not yet'."""
        try:
            client = PostHogHook(posthog_conn_id=self.posthog_conn_id).get_client()
            done, ids = self._check().run(client)
        except TRANSIENT_ERRORS as exc:
            self.log.warning("PostHog check failed (%s); trying again next poke", exc)
            return PokeReturnValue(is_done=False)
        except PostHogError as exc:
            raise AirflowException(str(exc)) from None
        self.log.info("%d matching recordings found (need %d)", len(ids), self.min_count)
        return PokeReturnValue(is_done=done, xcom_value=ids)

    def execute(self, context: Context) -> Any:
        """Poke once; if not done, wait in the worker or defer to the triggerer."""
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        check = self._check()
        self.defer(
            trigger=PostHogRecordingsTrigger(
                posthog_conn_id=self.posthog_conn_id,
                query=dict(check.query) if check.query is not None else None,
                min_count=check.min_count,
                include_ongoing=check.include_ongoing,
                max_ids=check.max_ids,
                poll_interval=float(self.poke_interval),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: return the ids, or fail with the trigger's message."""
        if not event or event.get("status") != "success":
            message = (event or {}).get("message", "no event from the trigger")
            raise AirflowException(f"Waiting for PostHog recordings failed: {message}")
        self.log.info("%d matching recordings found", len(event.get("recording_ids", [])))
        return event.get("recording_ids", [])
