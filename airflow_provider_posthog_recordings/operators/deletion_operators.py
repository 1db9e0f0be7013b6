"""Operators that delete recordings: the retention purge and the erasure.

Both can run for hours within a personal API key's budget (1,200 requests an hour on PostHog
Cloud). With ``deferrable=True`` a task that would wait longer than ``max_wait_in_worker``
seconds for the budget gives up its worker slot, waits in the triggerer, and carries on where
it stopped (:mod:`..jobs.purge` and :mod:`..jobs.erasure` say how it resumes without deleting
or reporting anything twice). Each ``__init__`` only stores its arguments; values are checked
and converted in ``execute``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, conf

from airflow_provider_posthog_recordings.arguments import (
    as_bool,
    as_id_list,
    as_int,
    as_optional_int,
    as_positive_number,
)
from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.errors import PostHogError
from airflow_provider_posthog_recordings.jobs import erasure, purge
from airflow_provider_posthog_recordings.jobs.deletion import DEFAULT_MANIFEST_IDS, DeletionRecord
from airflow_provider_posthog_recordings.operators.base import (
    PostHogBaseOperator,
    run_reference_time,
)
from airflow_provider_posthog_recordings.query import RecordingsQuery
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


class PostHogDeletionOperator(PostHogBaseOperator):
    """What the purge and the erasure share: deferral on a spent budget, the durable record.

    Args:
        report_only: report what would be deleted, delete nothing (templated).
        max_deletions: refuse to delete anything when more would go (templated; None: no cap).
        deletion_record_path: a folder (local, or object storage such as ``s3://bucket/x``
            through Airflow's ``ObjectStoragePath``) where every deleted id is written as
            JSON lines, one part per group, under the run's id (templated; None: no record).
        deferrable: wait for the key's budget in the triggerer, not in a worker slot
            (default: Airflow's ``operators.default_deferrable``).
        max_wait_in_worker: longer budget waits than this (seconds) defer the task when
            ``deferrable`` (default 30: the hourly budget always defers, short waits do not).
            A deferral lasts at least ``MIN_DEFERRAL_SECONDS`` (15 s): on Airflow 3 a task
            resumed sooner can be failed by the scheduler.
        manifest_ids: at most this many ids in the manifest.
        posthog_conn_id: the PostHog connection.
    """

    ui_color = "#e8575c"

    def __init__(
        self,
        *,
        report_only: bool | str = False,
        max_deletions: int | str | None = 1000,
        deletion_record_path: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_wait_in_worker: float | str = DEFAULT_MAX_WAIT_IN_WORKER,
        manifest_ids: int | str = DEFAULT_MANIFEST_IDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Not `dry_run`: that would shadow BaseOperator.dry_run(), which
        # `airflow tasks test --dry-run` calls.
        self.report_only = report_only
        self.max_deletions = max_deletions
        self.deletion_record_path = deletion_record_path
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

    def _record(self, context: Context, cutoff: str | None, policy: dict[str, Any]) -> Any:
        if not self.deletion_record_path:
            return None
        run_id = str(context.get("run_id") or "manual") if hasattr(context, "get") else "manual"
        return DeletionRecord(
            folder=object_storage_path(str(self.deletion_record_path)),
            run_id=run_id,
            cutoff=cutoff,
            policy=policy,
        )

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
            raise AirflowException("resumed without the state it deferred with: rerun the task")
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
        ti = context.get("ti") if hasattr(context, "get") else None
        if ti is not None:
            ti.xcom_push(key="manifest", value=manifest)
        raise PostHogError(message)


class PostHogPurgeRecordingsOperator(PostHogDeletionOperator):
    """Delete recordings older than a retention period, keeping protected ones.

    The cutoff is ``older_than_days`` before the run's ``data_interval_end`` (now when the
    run has none), so reruns and backfills decide the same way. The listing always sends an
    explicit window ending at the cutoff, oldest first, and each recording's ``start_time`` is
    checked again before it is deleted. See :mod:`..jobs.purge` for every rule.

    Args:
        older_than_days: the retention period in days, at least 1 (templated).
        max_deletions: the typo guard: when more recordings match the policy than this, fail
            before deleting anything (templated; None: no cap).
        max_deletions_per_run: the per-run budget: delete at most this many, oldest first;
            the manifest's ``backlog`` is left for later runs (templated; None: all).
        keep_playlists: names or short ids of playlists whose recordings are kept
            (templated). An unknown name fails the task.
        keep_pinned: keep the recordings of every pinned playlist (templated).
        keep_shared: keep publicly shared recordings (one extra request per candidate).
        query: extra filters narrowing what is purged (templated).
        report_only, deletion_record_path, deferrable, max_wait_in_worker, manifest_ids,
            posthog_conn_id: see :class:`PostHogDeletionOperator`.

    Returns:
        A manifest: ``cutoff``, ``listed``, ``kept`` (by reason), ``candidates``,
        ``planned`` (this run), ``backlog``, ``deleted``, ``already_gone``, ``failed``,
        ``deleted_ids`` (capped; ``ids_truncated``), ``failed_ids``, ``requests``, ``legs``,
        ``report_only``.
    """

    template_fields: Sequence[str] = (
        "older_than_days",
        "report_only",
        "max_deletions",
        "max_deletions_per_run",
        "keep_playlists",
        "keep_pinned",
        "query",
        "deletion_record_path",
    )
    template_fields_renderers = {"query": "json", "keep_playlists": "json"}

    def __init__(
        self,
        *,
        older_than_days: int | str,
        max_deletions_per_run: int | str | None = None,
        keep_playlists: Sequence[str] | str | None = None,
        keep_pinned: bool | str = True,
        keep_shared: bool | str = False,
        query: RecordingsQuery | Mapping[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.older_than_days = older_than_days
        self.max_deletions_per_run = max_deletions_per_run
        self.keep_playlists = keep_playlists
        self.keep_pinned = keep_pinned
        self.keep_shared = keep_shared
        self.query = query

    def settings(
        self, context: Context, state: Mapping[str, Any] | None = None
    ) -> purge.PurgeSettings:
        """The job's settings from the rendered arguments (a resumed leg: the run's cutoff)."""
        settings = purge.PurgeSettings(
            older_than_days=purge.validate_older_than_days(self.older_than_days),
            reference=purge.carried_reference(state, run_reference_time(context)),
            report_only=as_bool(self.report_only, "report_only"),
            max_deletions=as_optional_int(self.max_deletions, "max_deletions"),
            max_deletions_per_run=as_optional_int(
                self.max_deletions_per_run, "max_deletions_per_run"
            ),
            keep_playlists=as_id_list(self.keep_playlists, "keep_playlists"),
            keep_pinned=as_bool(self.keep_pinned, "keep_pinned"),
            keep_shared=as_bool(self.keep_shared, "keep_shared"),
            query=RecordingsQuery.parse(self.query),
            manifest_ids=as_int(self.manifest_ids, "manifest_ids"),
        )
        cutoff = purge.compute_cutoff(settings.reference, settings.older_than_days)
        if not settings.report_only:
            settings.record = self._record(
                context, cutoff.isoformat(), settings.policy_description()
            )
        return settings

    def run_leg(self, context: Context, state: dict[str, Any] | None) -> dict[str, Any]:
        settings = self.settings(context, state)
        outcome = purge.run(self._client(), settings, state)
        if outcome.paused and outcome.state is not None:
            self.defer_for_budget(outcome.wait_seconds or 0.0, outcome.state)
        manifest = outcome.manifest
        self.log.info(
            "Purge %s: listed %d, candidates %d (this run %d, backlog %d), deleted %d, already "
            "gone %d, failed %d, kept %s, %d requests in %d leg(s)",
            "report-only run" if settings.report_only else "done",
            manifest["listed"],
            manifest["candidates"],
            manifest["planned"],
            manifest["backlog"],
            manifest["deleted"],
            manifest["already_gone"],
            manifest["failed"],
            manifest["kept"],
            manifest["requests"],
            manifest["legs"],
        )
        if manifest["failed"]:
            self.fail_with_manifest(
                context,
                manifest,
                f"{manifest['failed']} recordings could not be deleted "
                f"({manifest['failed_ids']}); the manifest is in XCom 'manifest'. A rerun "
                "retries them",
            )
        return manifest


class PostHogDeleteRecordingsOperator(PostHogDeletionOperator):
    """Delete recordings permanently: given ids, or every recording of some people (erasure).

    For an erasure request give ``distinct_ids``: the operator lists that person's
    recordings over a window reaching back past PostHog's longest retention (5 years),
    deletes them, and lists again to confirm none is left. See :mod:`..jobs.erasure`.

    Args:
        recording_ids: ids to delete (templated).
        distinct_ids: delete every recording of these distinct ids (templated).
        report_only, max_deletions, deletion_record_path, deferrable, max_wait_in_worker,
            manifest_ids, posthog_conn_id: see :class:`PostHogDeletionOperator`.

    Returns:
        A manifest: ``requested``, ``deleted``, ``already_gone``, ``failed``, ``remaining``
        (erasure only), ``deleted_ids`` (capped), ``legs`` and ``report_only``.
    """

    template_fields: Sequence[str] = (
        "recording_ids",
        "distinct_ids",
        "report_only",
        "max_deletions",
        "deletion_record_path",
    )

    def __init__(
        self,
        *,
        recording_ids: Sequence[str] | str | None = None,
        distinct_ids: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.recording_ids = recording_ids
        self.distinct_ids = distinct_ids

    def settings(self, context: Context) -> erasure.ErasureSettings:
        """The job's settings from the rendered arguments."""
        settings = erasure.ErasureSettings(
            recording_ids=as_id_list(self.recording_ids, "recording_ids"),
            distinct_ids=as_id_list(self.distinct_ids, "distinct_ids"),
            report_only=as_bool(self.report_only, "report_only"),
            max_deletions=as_optional_int(self.max_deletions, "max_deletions"),
            manifest_ids=as_int(self.manifest_ids, "manifest_ids"),
        )
        if not settings.report_only:
            settings.record = self._record(context, None, settings.policy_description())
        return settings

    def run_leg(self, context: Context, state: dict[str, Any] | None) -> dict[str, Any]:
        if self.recording_ids is None and self.distinct_ids is None:
            raise PostHogError("give recording_ids or distinct_ids")
        outcome = erasure.run(self._client(), self.settings(context), state)
        if outcome.paused and outcome.state is not None:
            self.defer_for_budget(outcome.wait_seconds or 0.0, outcome.state)
        return outcome.manifest
