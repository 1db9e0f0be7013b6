"""Operators whose job runs in legs within the PostHog key's budget (purge, erasure, archive).

A leg ends when the job finishes, or when the key's budget would make the worker wait longer
than ``max_wait_in_worker``: with ``deferrable=True`` the task then gives up its worker slot,
waits in the triggerer
(:class:`~airflow_provider_posthog_recordings.triggers.budget_wait_trigger.PostHogBudgetWaitTrigger`)
and
resumes with the JSON state the job returned, in a new process.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import conf

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.jobs.arguments import as_bool, as_positive_number
from airflow_provider_posthog_recordings.jobs.deletion import DEFAULT_MANIFEST_IDS
from airflow_provider_posthog_recordings.operators.base import PostHogBaseOperator
from airflow_provider_posthog_recordings.triggers.budget_wait_trigger import (
    PostHogBudgetWaitTrigger,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Waits for the key's budget up to this long are slept through in the worker.
DEFAULT_MAX_WAIT_IN_WORKER = 30.0
#: Largest state (JSON characters) also carried by the trigger.
MAX_STATE_IN_TRIGGER = 30_000
#: A deferral lasts at least this long. Airflow 3's scheduler fails a task that is queued
#: again before the executor has reported the exit of the process that deferred it
#: ("finished with state success, but the task instance's state attribute is queued":
#: apache/airflow#66374, #67287, #72716); under load that report can take seconds.
MIN_DEFERRAL_SECONDS = 15.0


def object_storage_path(path: str) -> Any:
    """Airflow's ``ObjectStoragePath`` for ``path`` (local paths and object stores alike)."""
    try:
        from airflow.sdk import ObjectStoragePath
    except ImportError:  # Airflow 2
        from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef]
    return ObjectStoragePath(path)


class PostHogBudgetedOperator(PostHogBaseOperator):
    """Base of the operators whose job runs in legs within the key's budget.

    Subclasses implement :meth:`run_leg`: run the job from ``state`` (None for the first leg)
    and call :meth:`defer_for_budget` when it paused.

    :param deferrable: wait for the key's budget in the triggerer, not in a worker slot
        (default: Airflow's ``operators.default_deferrable``).
    :param max_wait_in_worker: longer budget waits than this (seconds) defer the task when
        ``deferrable`` (default 30: the hourly budget always defers, short waits do not;
        templated). A deferral lasts at least :data:`MIN_DEFERRAL_SECONDS` (15 s): on Airflow
        3 a task resumed sooner can be failed by the scheduler.
    :param manifest_ids: at most this many ids in each list of the manifest (templated).
    """

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_wait_in_worker: float | str = DEFAULT_MAX_WAIT_IN_WORKER,
        manifest_ids: int | str = DEFAULT_MANIFEST_IDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.max_wait_in_worker = max_wait_in_worker
        self.manifest_ids = manifest_ids

    def _client(self) -> PostHogClient:
        client = self.hook.get_client()
        if as_bool(self.deferrable, "deferrable"):
            client.max_budget_wait = as_positive_number(
                self.max_wait_in_worker, "max_wait_in_worker"
            )
        return client

    def run_job(self, context: Context) -> Any:
        return self.run_leg(context, None)

    def execute_resume(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
    ) -> Any:
        """Carry on after waiting for the key's budget in the triggerer."""
        if state is None and event:
            state = event.get("state")
        if state is None:
            raise PostHogError("resumed without the state it deferred with: rerun the task")
        return self.call_job(self.run_leg, context, state)

    def run_leg(self, context: Context, state: dict[str, Any] | None) -> Any:
        """Run one leg of the job: finish it, or defer until the budget allows more."""
        raise NotImplementedError

    def defer_for_budget(self, wait_seconds: float, state: dict[str, Any]) -> None:
        """Give up the worker slot until the budget allows the next request."""
        seconds = max(wait_seconds + 1.0, MIN_DEFERRAL_SECONDS)
        resume_at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        self.log.info(
            "Deferring for %.0f s while the PostHog key's budget refills (leg %s)",
            seconds,
            state.get("leg"),
        )
        # The state goes to the task's next_kwargs (a JSON column). A copy rides in the trigger
        # (and its event) for dag.test(), which drops next_kwargs, when it is small: trigger
        # kwargs are encrypted into a TEXT column (64 KB on MySQL).
        copy = state if len(json.dumps(state)) <= MAX_STATE_IN_TRIGGER else None
        self.defer(
            trigger=PostHogBudgetWaitTrigger(resume_at=resume_at.isoformat(), state=copy),
            method_name="execute_resume",
            kwargs={"state": state},
        )

    def fail_with_manifest(self, context: Context, manifest: dict[str, Any], message: str) -> None:
        """Push the manifest to XCom ``manifest``, then fail the task."""
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key="manifest", value=manifest)
        raise PostHogError(message)
