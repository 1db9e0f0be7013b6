"""What every PostHog operator shares: the connection, the hook, and clean task errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.client.models import as_utc
from airflow_provider_posthog_recordings.client.query import RecordingsQuery, missing_window_warning
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class PostHogBaseOperator(BaseOperator):
    """Base of the PostHog operators: the connection, one hook and client per task, errors.

    Subclasses implement :meth:`run_job`. The package's errors propagate as themselves
    (typed, with their status and cause); their message is logged first, so the task log
    starts with what to fix rather than a traceback. The hook's client is closed when the
    task's work ends (a deferral included).

    :param posthog_conn_id: Airflow connection of type ``posthog`` (templated).
    """

    ui_color = "#f9bd38"

    def __init__(self, *, posthog_conn_id: str = PostHogHook.default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.posthog_conn_id = posthog_conn_id

    @cached_property
    def hook(self) -> PostHogHook:
        """The hook of this task's connection (one per task; its client is built once)."""
        return PostHogHook(posthog_conn_id=self.posthog_conn_id)

    def execute(self, context: Context) -> Any:
        """Run the operator's job (see :meth:`call_job`)."""
        return self.call_job(self.run_job, context)

    def call_job(self, job: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``job``: a package error is logged with its own message and raised as itself;
        the client is closed afterwards, whatever happened."""
        try:
            return job(*args, **kwargs)
        except PostHogError as exc:
            self.log.error("PostHog: %s", exc)
            raise
        finally:
            hook = self.__dict__.pop("hook", None)
            if hook is not None:
                hook.close()

    def run_job(self, context: Context) -> Any:
        """The operator's work (subclasses implement it)."""
        raise NotImplementedError

    def warn_if_no_window(self, query: RecordingsQuery) -> None:
        """Warn when PostHog will silently look only at the last three days."""
        warning = missing_window_warning(query)
        if warning:
            self.log.warning(warning)


def run_reference_time(context: Context | dict[str, Any]) -> datetime:
    """The instant a run's time-dependent decisions are taken from: aware UTC.

    A **manual** run (``run_type`` ``manual``: started from the UI's Trigger button, the CLI's
    ``airflow dags trigger`` or the REST API) is taken at its logical date (the UI's is the
    moment of the click, unless the user chose another; Airflow 2.11 gives every manual run
    one), else at its ``run_after`` (Airflow 3's runs without a logical date: the moment they
    were triggered, the same across retries and deferrals). Not its data interval: Airflow 3
    gives a manual run that has a logical date the last *completed* interval, the one a
    scheduled run may just have covered.

    Any other run: its ``data_interval_end``, then its ``logical_date``, then the DAG run's
    ``run_after``. The clock is read only when the context has no run at all (a job called
    outside Airflow); a deferring job then carries the instant in its state, so no later leg
    reads the clock again.
    """
    dag_run = context.get("dag_run")
    run_type = getattr(dag_run, "run_type", None)
    if getattr(run_type, "value", run_type) == "manual":
        for value in (context.get("logical_date"), getattr(dag_run, "run_after", None)):
            if isinstance(value, datetime):
                return as_utc(value)
    for key in ("data_interval_end", "logical_date"):
        value = context.get(key)
        if isinstance(value, datetime):
            return as_utc(value)
    for attribute in ("run_after", "data_interval_end", "logical_date", "execution_date"):
        value = getattr(dag_run, attribute, None)
        if isinstance(value, datetime):
            return as_utc(value)
    return datetime.now(timezone.utc)
