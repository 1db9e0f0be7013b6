"""Operators that delete recordings: the retention purge and the erasure.

Both can run for hours within a personal API key's budget (1,200 requests an hour on PostHog
Cloud). With ``deferrable=True`` a task that would wait longer than ``max_wait_in_worker``
seconds for the budget gives up its worker slot, waits in the triggerer, and carries on where
it stopped (:mod:`..jobs.purge` and :mod:`..jobs.erasure` say how it resumes without deleting
or reporting anything twice). Each ``__init__`` only stores its arguments; values are checked
and converted in ``execute``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.configuration import conf

from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.client.query import RecordingsQuery
from airflow_provider_posthog_recordings.jobs import erasure, purge
from airflow_provider_posthog_recordings.jobs.arguments import (
    as_bool,
    as_id_list,
    as_int,
    as_optional_int,
)
from airflow_provider_posthog_recordings.jobs.deletion import DeletionRecord, safe_file_name
from airflow_provider_posthog_recordings.jobs.purge_plan import FolderPlanStore, XComPlanStore
from airflow_provider_posthog_recordings.operators.base import run_reference_time
from airflow_provider_posthog_recordings.operators.budgeted import (
    PostHogBudgetedOperator,
    object_storage_path,
)
from airflow_provider_posthog_recordings.operators.storage import (
    check_shared_storage,
    executors_of_task,
    is_local_path,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


#: The folder under ``deletion_record_path`` where plans go when no ``plan_path`` is given.
PLANS_FOLDER = "_plans"


class PostHogDeletionOperator(PostHogBudgetedOperator):
    """What the purge and the erasure share: a cap, report-only runs, the durable record.

    :param report_only: report what would be deleted, delete nothing (templated).
    :param max_deletions: refuse to delete anything when more would go (templated; None: no
        cap).
    :param deletion_record_path: a folder (local, or object storage such as ``s3://bucket/x``
        through Airflow's ``ObjectStoragePath``) where every deleted id is written as JSON
        lines, write-ahead: each group's intent before its request, its outcome after, under
        the run's id (templated; None: no record). A retried try reads it to settle what a
        killed try left in flight and to report the run's totals.
    :param shared_storage: (templated) declare that local paths given (``deletion_record_path``,
        ``plan_path``, ``archive_path``) are on a mount every worker shares. Without it (or
        the PostHog connection's extra ``{"shared_storage": true}``), a local path is refused
        when the executor may run the task's legs and tries on other hosts (anything but
        LocalExecutor, SequentialExecutor or DebugExecutor, including a list of executors).

    The budget arguments (``deferrable``, ``max_wait_in_worker``, ``manifest_ids``) are
    :class:`~.budgeted.PostHogBudgetedOperator`'s.
    """

    ui_color = "#e8575c"

    def __init__(
        self,
        *,
        report_only: bool | str = False,
        max_deletions: int | str | None = 1000,
        deletion_record_path: str | None = None,
        shared_storage: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.shared_storage = shared_storage
        # Not `dry_run`: that would shadow BaseOperator.dry_run(), which
        # `airflow tasks test --dry-run` calls.
        self.report_only = report_only
        self.max_deletions = max_deletions
        self.deletion_record_path = deletion_record_path

    def _record(self, context: Context, cutoff: str | None, policy: dict[str, Any]) -> Any:
        if not self.deletion_record_path:
            return None
        run_id = _run_id(context)
        return DeletionRecord(
            folder=object_storage_path(str(self.deletion_record_path)),
            run_id=run_id,
            cutoff=cutoff,
            policy=policy,
            task=task_key(context, self.task_id),
        )

    def state_paths(self) -> dict[str, str | None]:
        """The paths where this task keeps state its later legs and tries read."""
        return {"deletion_record_path": self.deletion_record_path}

    def check_state_paths(self) -> None:
        """Refuse a local path when the executor can move legs and tries to other hosts
        (before any request; see :mod:`.storage`)."""
        paths = self.state_paths()
        if not any(path and is_local_path(str(path)) for path in paths.values()):
            return
        shared = as_bool(self.shared_storage, "shared_storage") or self._shared_by_connection()
        configured = conf.get("core", "executor", fallback="SequentialExecutor")
        executors = executors_of_task(configured, getattr(self, "executor", None))
        check_shared_storage(paths, executors=executors, shared=shared)

    def _shared_by_connection(self) -> bool:
        extra = self.hook.get_connection(self.posthog_conn_id).extra_dejson
        return as_bool(extra.get("shared_storage", False), "shared_storage (connection extra)")


def task_key(context: Context, task_id: str) -> str:
    """The task's key within its run: ``<dag_id>/<task_id>`` (and ``/<map_index>``)."""
    ti = context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", None) or "dag"
    key = f"{dag_id}/{getattr(ti, 'task_id', None) or task_id}"
    map_index = getattr(ti, "map_index", -1)
    if isinstance(map_index, int) and map_index >= 0:
        key += f"/{map_index}"
    return key


def is_retry(context: Context) -> bool:
    """Whether this is a later try of the task in its run (a retry, or a cleared task)."""
    try_number = getattr(context.get("ti"), "try_number", 1)
    return isinstance(try_number, int) and try_number > 1


def _run_id(context: Context) -> str:
    return str(context.get("run_id") or "manual")


class PostHogPurgeRecordingsOperator(PostHogDeletionOperator):
    """Delete recordings older than a retention period, keeping protected ones.

    The cutoff is ``older_than_days`` before the run's ``data_interval_end`` (now when the
    run has none), so reruns and backfills decide the same way. The listing always sends an
    explicit window ending at the cutoff, oldest first, and each recording's ``start_time`` is
    checked again before it is deleted. See :mod:`..jobs.purge` for every rule.

    :param older_than_days: the retention period in days, at least 1 (templated).
    :param max_deletions: the typo guard: when more recordings match the policy than this, fail
        before deleting anything (templated; None: no cap).
    :param max_deletions_per_run: the per-run budget: delete at most this many, oldest first;
        the manifest's ``backlog`` is left for later runs (templated; None: all).
    :param keep_playlists: names or short ids of playlists whose recordings are kept
        (templated). An unknown name fails the task.
    :param keep_pinned: keep the recordings of every pinned playlist (templated).
    :param keep_shared: keep publicly shared recordings (one extra request per candidate).
    :param query: extra filters narrowing what is purged (templated).
    :param archive_path: archive each candidate first to this folder (local, or object storage
        such as ``s3://bucket/posthog`` through ``ObjectStoragePath``) and delete only the
        recordings whose archive was verified; a recording that could not be archived is
        kept and counted (``archive_failed``) (templated; None: no archive). See
        :mod:`..jobs.archive`.
    :param plan_path: a folder (local or object storage, through ``ObjectStoragePath``) where the
        run writes its plan once, under the run's id: the candidates, oldest first, with
        the cutoff, the policy and the counts (templated). Default: ``_plans`` under
        ``deletion_record_path`` when that is given; without either, the task's own XCom
        ``purge_plan`` holds plans up to 20,000 candidates. Every later leg of a deferred
        run reads the plan from where it stopped instead of listing again (a plan too
        large for XCom is not written: later legs list again from where they stopped).
    :param apply_plan: the ``plan_location`` of a report-only run's manifest (a folder, or
        ``xcom:<task_id>/purge_plan`` for a plan in another task's XCom) to apply: only
        its ids are deleted, never new ones, each checked again against the policy just
        before (before the plan's cutoff, not protected, not ongoing); the manifest's
        ``changed_since_plan`` counts what changed in between (templated; None: plan
        now; empty fails the task rather than planning afresh).
        report_only, deletion_record_path, shared_storage, deferrable, max_wait_in_worker,
        manifest_ids, posthog_conn_id: see :class:`PostHogDeletionOperator`.

    The plan is kept by DAG, task, run and map index, never by try: a retried try (a worker
    that died fails its try) settles what the record shows in flight, then carries on the
    first try's plan with its cutoff (``continue_run`` of
    :func:`~airflow_provider_posthog_recordings.jobs.purge.run`).

    :return: A manifest: ``cutoff``, ``listed``, ``kept`` (by reason), ``candidates``,
        ``planned`` (this run), ``backlog``, ``deleted``, ``already_gone``, ``failed``,
        ``deleted_ids`` (capped; ``ids_truncated``), ``failed_ids``, ``requests``, ``legs``,
        ``report_only``; with ``archive_path`` also ``archive_path`` (each recording's
        archive is ``<archive_path>/<id>``), ``archived``, ``already_archived``,
        ``archive_failed``, ``archive_gone``, ``archived_ids``, ``archive_failed_ids``.
        ``report_only``, ``plan_location``, ``oldest_candidate``, ``newest_candidate``,
        ``protected_playlists``, ``changed_since_plan`` (``gone_already``, ``now_protected``,
        ``now_ongoing``, ...). ``deleted``, ``already_gone`` and ``archived`` are the run's
        totals over every try (from the record), ``failed`` this try's; ``this_try`` and
        ``run_totals`` give both, ``run_totals_from`` where the totals were read.
    """

    template_fields: Sequence[str] = (
        "plan_path",
        "apply_plan",
        "older_than_days",
        "report_only",
        "max_deletions",
        "max_deletions_per_run",
        "keep_playlists",
        "keep_pinned",
        "keep_shared",
        "query",
        "deletion_record_path",
        "shared_storage",
        "max_wait_in_worker",
        "manifest_ids",
        "posthog_conn_id",
        "archive_path",
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
        archive_path: str | None = None,
        plan_path: str | None = None,
        apply_plan: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.archive_path = archive_path
        self.plan_path = plan_path
        self.apply_plan = apply_plan
        self.older_than_days = older_than_days
        self.max_deletions_per_run = max_deletions_per_run
        self.keep_playlists = keep_playlists
        self.keep_pinned = keep_pinned
        self.keep_shared = keep_shared
        self.query = query

    def settings(self, context: Context) -> purge.PurgeSettings:
        """The job's settings from the rendered arguments (a resumed leg's job keeps the
        reference its first leg used: see :func:`..jobs.purge.carried_reference`)."""
        settings = purge.PurgeSettings(
            older_than_days=self.older_than_days,
            reference=run_reference_time(context),
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
        settings.plan_store = self._plan_store(context)
        settings.continue_run = is_retry(context)
        if self.apply_plan is not None:
            settings.apply_plan = self._plan_to_apply(context, str(self.apply_plan).strip())
        if not settings.report_only:  # the job sets the record's cutoff
            settings.record = self._record(context, None, settings.policy_description())
        if self.archive_path:
            settings.archive_path = object_storage_path(str(self.archive_path))
        return settings

    def _plan_store(self, context: Context) -> FolderPlanStore | XComPlanStore | None:
        """Where this run's plan goes: ``plan_path``, ``deletion_record_path``, or XCom."""
        root = self.plan_path
        if not root and self.deletion_record_path:
            root = f"{str(self.deletion_record_path).rstrip('/')}/{PLANS_FOLDER}"
        ti = context.get("ti")
        if root:
            # Keyed by the run and the task, never by the try: a retry finds it.
            dag_id, _, rest = task_key(context, self.task_id).partition("/")
            task, _, map_index = rest.partition("/")
            name = safe_file_name(_run_id(context))
            if map_index:
                name += f"-map{map_index}"  # mapped tasks of one run: a plan each
            folder = object_storage_path(str(root)) / safe_file_name(dag_id)
            return FolderPlanStore(folder / safe_file_name(task) / name)
        if all(hasattr(ti, name) for name in ("task_id", "xcom_push", "xcom_pull")):
            return XComPlanStore(ti)
        return None

    def _plan_to_apply(self, context: Context, location: str) -> FolderPlanStore | XComPlanStore:
        """The plan ``apply_plan`` names: a folder, or another task's XCom (``xcom:...``)."""
        if location in ("", "None"):
            # Never plan afresh instead: what runs here must be what was approved.
            raise PostHogError(
                "apply_plan is empty: the plan to apply was not written (a report-only run "
                "over 20,000 candidates without plan_path leaves none). Nothing was deleted"
            )
        ti = context.get("ti")
        in_xcom = XComPlanStore.at(ti, location) if ti is not None else None
        return in_xcom or FolderPlanStore(object_storage_path(location))

    def state_paths(self) -> dict[str, str | None]:
        """The record, the plan and the archives."""
        return {
            "deletion_record_path": self.deletion_record_path,
            "plan_path": self.plan_path,
            "archive_path": self.archive_path,
        }

    def run_leg(self, context: Context, state: dict[str, Any] | None) -> dict[str, Any]:
        self.check_state_paths()
        settings = self.settings(context)
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

    :param recording_ids: ids to delete (templated).
    :param distinct_ids: delete every recording of these distinct ids (templated).
        report_only, max_deletions, deletion_record_path, shared_storage, deferrable,
        max_wait_in_worker, manifest_ids, posthog_conn_id: see
        :class:`PostHogDeletionOperator`.

    :return: A manifest: ``requested``, ``deleted``, ``already_gone``, ``failed``, ``remaining``
        (erasure only), ``deleted_ids`` (capped), ``legs`` and ``report_only``.
    """

    template_fields: Sequence[str] = (
        "recording_ids",
        "distinct_ids",
        "report_only",
        "max_deletions",
        "deletion_record_path",
        "shared_storage",
        "max_wait_in_worker",
        "manifest_ids",
        "posthog_conn_id",
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
        self.check_state_paths()
        outcome = erasure.run(self._client(), self.settings(context), state)
        if outcome.paused and outcome.state is not None:
            self.defer_for_budget(outcome.wait_seconds or 0.0, outcome.state)
        return outcome.manifest
