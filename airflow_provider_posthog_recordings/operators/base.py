"""What every PostHog operator and sensor shares: the connection, the hook, clean task errors.

A configuration refusal
(:class:`~airflow_provider_posthog_recordings.client.errors.PostHogConfigError`: a bad argument, the
``max_deletions`` cap, a query PostHog would refuse) fails the task without retries: it is
raised as :class:`PostHogConfigRefusal`, an ``AirflowFailException``, with the typed error as
its ``__cause__``. Every other error (a 5xx, a dropped connection, ...) is raised as itself,
so Airflow retries it ``retries`` times.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError, PostHogError
from airflow_provider_posthog_recordings.client.models import as_utc
from airflow_provider_posthog_recordings.client.query import RecordingsQuery, missing_window_warning
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class PostHogConfigRefusal(AirflowFailException, PostHogConfigError):
    """A configuration refusal at the task boundary: Airflow fails the task, no retry.

    It is both Airflow's ``AirflowFailException`` and a :class:`PostHogConfigError` (code
    that catches the package's errors still does); the refusal it replaces is its
    ``__cause__``.
    """


class PostHogTaskMixin:
    """The connection, one hook and client per task, and the task-boundary errors.

    Shared by :class:`PostHogBaseOperator` and the sensor. The class using it sets
    ``posthog_conn_id`` and has Airflow's ``log``.
    """

    posthog_conn_id: str
    if TYPE_CHECKING:

        @property
        def log(self) -> Any:
            """Airflow's task logger (the class using the mixin has it; its type differs
            between Airflow 2 and 3)."""

    @cached_property
    def hook(self) -> PostHogHook:
        """The hook of this task's connection (one per task; its client is built once)."""
        return PostHogHook(posthog_conn_id=self.posthog_conn_id)

    def call_job(self, job: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``job`` at the task boundary; the client is closed afterwards, whatever happened.

        A package error is logged with its own message first, so the task log starts with
        what to fix rather than a traceback. A :class:`PostHogConfigError` is then raised as
        :class:`PostHogConfigRefusal` (no retry: the same arguments would be refused again);
        any other error as itself (retried).
        """
        try:
            return job(*args, **kwargs)
        except PostHogConfigError as exc:
            self.log.error("PostHog: %s (not retried: fix the task's arguments or connection)", exc)
            raise PostHogConfigRefusal(str(exc)) from exc
        except PostHogError as exc:
            self.log.error("PostHog: %s", exc)
            raise
        finally:
            hook = self.__dict__.pop("hook", None)
            if hook is not None:
                hook.close()


class PostHogBaseOperator(PostHogTaskMixin, BaseOperator):
    """Base of the PostHog operators: the connection, one hook and client per task, errors.

    Subclasses implement :meth:`run_job`. The package's errors propagate typed, with their
    status and cause; a configuration refusal fails the task without retries
    (:class:`PostHogConfigRefusal`). The hook's client is closed when the task's work ends
    (a deferral included).

    :param posthog_conn_id: Airflow connection of type ``posthog`` (templated).
    """

    ui_color = "#f9bd38"

    def __init__(self, *, posthog_conn_id: str = PostHogHook.default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.posthog_conn_id = posthog_conn_id

    def execute(self, context: Context) -> Any:
        """Run the operator's job (see :meth:`~PostHogTaskMixin.call_job`)."""
        return self.call_job(self.run_job, context)

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
