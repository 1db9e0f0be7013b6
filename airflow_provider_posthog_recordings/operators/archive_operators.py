"""Archiving recordings to the team's own storage: the operator of
:mod:`airflow_provider_posthog_recordings.jobs.archive`.

Reading snapshots has its own budget per plan (free 12 requests a minute and 60 an hour), on
top of the key's: archiving takes hours for a few hundred recordings on the free plan. With
``deferrable=True`` a task that would wait longer than ``max_wait_in_worker`` seconds gives up
its worker slot, waits in the triggerer, and carries on with the recordings left; an archive
already written and verified is never made again. ``__init__`` only stores its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_posthog_recordings.client.query import RecordingsQuery
from airflow_provider_posthog_recordings.jobs import archive
from airflow_provider_posthog_recordings.jobs.arguments import (
    as_bool,
    as_id_list,
    as_int,
    as_optional_int,
)
from airflow_provider_posthog_recordings.operators.budgeted import (
    PostHogBudgetedOperator,
    object_storage_path,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


class PostHogArchiveRecordingsOperator(PostHogBudgetedOperator):
    """Copy recordings to your own storage: raw snapshots, metadata, a File playback file.

    Per recording, under ``archive_path/<id>/``: ``snapshots.jsonl`` (PostHog's JSON lines,
    lossless), ``metadata.json``, ``playback.json`` (open it in PostHog under Replay -> File
    playback; mobile recordings have none) and ``manifest.json`` (counts, sha256), written
    last once everything read back verifies. Read one back with
    :func:`~airflow_provider_posthog_recordings.jobs.archive.read_archive`.

    :param archive_path: the archive's folder: local, or object storage such as
        ``s3://bucket/posthog`` through Airflow's ``ObjectStoragePath`` (templated).
    :param recording_ids: the recordings to archive (templated).
    :param query: or the recordings matching this query (give ``date_from``; templated).
    :param max_recordings: refuse a query that matches more (templated; None: no cap).
    :param fail_on_error: fail the task when a recording could not be archived (default True;
        the others are archived first, and a rerun retries only the missing ones).
    :param deferrable: wait for the budget in the triggerer, not in a worker slot.
    :param max_wait_in_worker: longer budget waits than this (seconds) defer the task.
    :param manifest_ids: at most this many ids per list in the manifest.
    :param posthog_conn_id: the PostHog connection (its ``snapshot_requests_per_minute`` and
        ``_per_hour`` extras are your plan's snapshots budget).

    :return: A manifest: ``archive_path``, ``archived``, ``already_archived``, ``archive_failed``,
        ``archive_gone`` (404/410: nothing left to archive), ``mobile_raw_only``, the ids of
        each, ``requests`` and ``legs``.
    """

    template_fields: Sequence[str] = (
        "archive_path",
        "recording_ids",
        "query",
        "max_recordings",
        "fail_on_error",
        "max_wait_in_worker",
        "manifest_ids",
        "posthog_conn_id",
    )
    template_fields_renderers = {"query": "json"}
    ui_color = "#7fb8e8"

    def __init__(
        self,
        *,
        archive_path: str,
        recording_ids: Sequence[str] | str | None = None,
        query: RecordingsQuery | Mapping[str, Any] | str | None = None,
        max_recordings: int | str | None = 1000,
        fail_on_error: bool | str = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.archive_path = archive_path
        self.recording_ids = recording_ids
        self.query = query
        self.max_recordings = max_recordings
        self.fail_on_error = fail_on_error

    def settings(self) -> archive.ArchiveSettings:
        """The job's settings from the rendered arguments."""
        query = None if self.query is None else RecordingsQuery.parse(self.query)
        if query is not None:
            self.warn_if_no_window(query)
        return archive.ArchiveSettings(
            path=object_storage_path(str(self.archive_path)),
            recording_ids=as_id_list(self.recording_ids, "recording_ids"),
            query=query,
            max_recordings=as_optional_int(self.max_recordings, "max_recordings"),
            manifest_ids=as_int(self.manifest_ids, "manifest_ids"),
        )

    def run_leg(self, context: Context, state: dict[str, Any] | None) -> dict[str, Any]:
        """Run one leg: finish the archive, or defer until the budget allows more."""
        outcome = archive.run(self._client(), self.settings(), state)
        if outcome.paused and outcome.state is not None:
            self.defer_for_budget(outcome.wait_seconds or 0.0, outcome.state)
        manifest = outcome.manifest
        self.log.info(
            "Archive to %s: %d archived, %d already there, %d failed, %d gone; %d requests in "
            "%d leg(s)",
            manifest["archive_path"],
            manifest["archived"],
            manifest["already_archived"],
            manifest["archive_failed"],
            manifest["archive_gone"],
            manifest["requests"],
            manifest["legs"],
        )
        if manifest["archive_failed"] and as_bool(self.fail_on_error, "fail_on_error"):
            self.fail_with_manifest(
                context,
                manifest,
                f"{manifest['archive_failed']} recordings could not be archived "
                f"({manifest['archive_failed_ids']}); the manifest is in XCom 'manifest'. A "
                "rerun archives only the missing ones",
            )
        return manifest
