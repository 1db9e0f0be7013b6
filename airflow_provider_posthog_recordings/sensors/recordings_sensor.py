"""Sensor that waits for recordings matching a query (optionally deferrable)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_posthog_recordings.client.errors import TRANSIENT_ERRORS, PostHogError
from airflow_provider_posthog_recordings.client.query import (
    RecordingsQuery,
    missing_window_warning,
    query_as_dict,
)
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook
from airflow_provider_posthog_recordings.jobs.arguments import as_bool, as_int
from airflow_provider_posthog_recordings.jobs.waiting import (
    RecordingsCheck,
    describe_deadline,
    describe_seconds,
    describe_window,
)
from airflow_provider_posthog_recordings.operators.base import PostHogTaskMixin
from airflow_provider_posthog_recordings.triggers.recordings_trigger import (
    PostHogRecordingsTrigger,
    timeout_message,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Airflow's own deferral timeout comes this long after the sensor's: the trigger's deadline
#: ends the wait first, with its own message.
DEFERRAL_TIMEOUT_GRACE = 60.0


class PostHogRecordingsSensor(PostHogTaskMixin, BaseSensorOperator):
    """Wait until at least ``min_count`` recordings match a query.

    For example, new recordings with console errors since the data interval started::

        PostHogRecordingsSensor(
            task_id="wait_for_errors",
            query={"date_from": "{{ data_interval_start }}",
                   "console_log_filters": [{"key": "level", "type": "log_entry",
                                            "operator": "exact", "value": ["error"]}]},
            deferrable=True,
        )

    :param query: filters (templated). Give ``date_from``: PostHog's default is 3 days.
    :param min_count: how many recordings must match.
    :param include_ongoing: count recordings still being recorded (default True).
    :param max_ids: at most this many ids are returned.
    :param deferrable: wait in the triggerer instead of a worker slot (default: Airflow's
        ``operators.default_deferrable``).
    :param posthog_conn_id: the PostHog connection.
    :param poke_interval: as every sensor. A deferred wait also ends at
        ``timeout``: the trigger is given that deadline (Airflow's deferral timeout, a
        minute later, is only the backstop).
    :param timeout: see ``poke_interval``.
    :param mode: see ``poke_interval``.

    :return: The matching recording ids (at most ``max_ids``).
    """

    template_fields: Sequence[str] = (
        "query",
        "min_count",
        "include_ongoing",
        "max_ids",
        "posthog_conn_id",
    )
    template_fields_renderers = {"query": "json"}
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
        # Only assignments here (Airflow's rule): templates render later, so every check and
        # conversion happens in poke/execute.
        self.query = query
        self.min_count = min_count
        self.include_ongoing = include_ongoing
        self.max_ids = max_ids
        self.posthog_conn_id = posthog_conn_id
        self.deferrable = deferrable

    def _check(self) -> RecordingsCheck:
        """The check of the rendered arguments (raises PostHogConfigError when invalid)."""
        query = RecordingsQuery.parse(self.query)
        warning = missing_window_warning(query)
        if warning:
            self.log.warning(warning)
        return RecordingsCheck(
            query_as_dict(query),
            as_int(self.min_count, "min_count", minimum=1),
            as_bool(self.include_ongoing, "include_ongoing"),
            as_int(self.max_ids, "max_ids"),
        )

    def poke(self, context: Context) -> PokeReturnValue:
        """One check; throttling or a transient server error counts as 'not yet'."""
        try:
            check = self._check()
            result = check.run(self.hook.get_client())
        except TRANSIENT_ERRORS as exc:
            self.log.warning("PostHog check failed (%s); trying again next poke", exc)
            return PokeReturnValue(is_done=False)
        self.log.info(
            "%s found (need %d) in the %s",
            result.describe(),
            check.min_count,
            describe_window(check.query),
        )
        return PokeReturnValue(is_done=result.done, xcom_value=result.ids)

    def execute(self, context: Context) -> Any:
        """Poke (in the worker, or once and then in the triggerer); the client is closed after.

        A configuration refusal fails the task without retries (see
        :meth:`~airflow_provider_posthog_recordings.operators.base.PostHogTaskMixin.call_job`).
        """
        return self.call_job(self._wait, context)

    def _wait(self, context: Context) -> Any:
        timeout = self.timeout
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        if not self.deferrable:
            started = time.monotonic()
            try:
                return super().execute(context)
            except AirflowSensorTimeout:
                message = self._timed_out(seconds)
                raise AirflowSensorTimeout(message) from None
            except AirflowSkipException:
                if time.monotonic() - started >= seconds:  # soft_fail at the timeout
                    self._timed_out(seconds)
                raise
        end_time = time.time() + seconds
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        check = self._check()
        self.log.info(
            "Waiting in the triggerer for %d matching recordings (%s); %s; polling every %s",
            check.min_count,
            describe_window(check.query),
            describe_deadline(end_time, time.time()),
            describe_seconds(float(self.poke_interval)),
        )
        self.defer(
            trigger=PostHogRecordingsTrigger(
                posthog_conn_id=self.posthog_conn_id,
                query=dict(check.query) if check.query is not None else None,
                min_count=check.min_count,
                include_ongoing=check.include_ongoing,
                max_ids=check.max_ids,
                poll_interval=float(self.poke_interval),
                end_time=end_time,
                timeout=seconds,
            ),
            method_name="execute_complete",
            # The trigger ends the wait itself at the timeout, with a message that says what
            # it waited for; Airflow's deferral timeout is the backstop (a stopped triggerer).
            timeout=timedelta(seconds=seconds + DEFERRAL_TIMEOUT_GRACE),
        )

    def _timed_out(self, seconds: float) -> str:
        """Log and return the timeout message (a soft_fail sensor's skip does not show it)."""
        message = "Waiting for PostHog recordings " + timeout_message(
            seconds, as_int(self.min_count, "min_count", minimum=1), self.query
        )
        self.log.warning(message)
        return message

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: return the ids, or fail with the trigger's message."""
        status = (event or {}).get("status")
        message = (event or {}).get("message", "no event from the trigger")
        if status == "timeout":
            # Logged too: with soft_fail Airflow skips the task with a message of its own.
            self.log.warning("Waiting for PostHog recordings %s", message)
            raise AirflowSensorTimeout(f"Waiting for PostHog recordings {message}")
        if not event or status != "success":
            raise PostHogError(f"Waiting for PostHog recordings failed: {message}")
        ids = event.get("recording_ids", [])
        count = event.get("count", len(ids))
        self.log.info(
            "%s%d matching recordings found", "more than " if event.get("more") else "", count
        )
        return ids
