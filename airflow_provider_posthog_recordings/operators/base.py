"""What every PostHog operator shares: the connection id and the hook."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator

from airflow_provider_posthog_recordings.errors import PostHogError
from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook
from airflow_provider_posthog_recordings.models import as_utc

if TYPE_CHECKING:
    from airflow.sdk import Context


class PostHogBaseOperator(BaseOperator):
    """Base of the PostHog operators.

    Args:
        posthog_conn_id: Airflow connection of type ``posthog``.
    """

    def __init__(self, *, posthog_conn_id: str = PostHogHook.default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.posthog_conn_id = posthog_conn_id

    @cached_property
    def hook(self) -> PostHogHook:
        """The hook of this task's connection."""
        return PostHogHook(posthog_conn_id=self.posthog_conn_id)

    def execute(self, context: Context) -> Any:
        """Run the operator's work; PostHog errors fail the task with their own message."""
        try:
            return self.run(context)
        except PostHogError as exc:
            raise AirflowException(str(exc)) from None

    def run(self, context: Context) -> Any:
        """The operator's work (subclasses implement it)."""
        raise NotImplementedError


def run_reference_time(context: Context | dict[str, Any]) -> datetime:
    """The run's ``data_interval_end`` (or logical date), else now: aware UTC.

    Using the data interval keeps reruns and backfills deterministic.
    """
    for key in ("data_interval_end", "logical_date"):
        value = context.get(key) if hasattr(context, "get") else None
        if isinstance(value, datetime):
            return as_utc(value)
    return datetime.now(timezone.utc)


def as_id_list(value: Any, name: str) -> list[str]:
    """Accept a list of ids, a comma-separated string, or None; return clean ids."""
    if value is None:
        return []
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple | set | frozenset):
        items = [str(part).strip() for part in value]
    else:
        raise AirflowException(f"{name} must be a list of ids, not {type(value).__name__}")
    return [item for item in dict.fromkeys(items) if item]
