"""
### PostHog archive, then purge

Every day, copies the recordings older than `older_than_days` days to `archive_path` (raw
snapshots, metadata and a File playback file, each verified), then deletes from PostHog only
the recordings whose copy was verified; the others are kept and counted, and the next run
tries them again. **Report only by default.**

Unpausing starts a scheduled run at once: report only, with the defaults. Create the pool
first: `airflow pools set posthog_api 1 "PostHog API key" --include-deferred` (else tasks
stay "scheduled", logs empty). Details: the README's *Archiving recordings before a purge*.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_posthog_recordings.operators import PostHogPurgeRecordingsOperator

log = logging.getLogger(__name__)

with DAG(
    dag_id="posthog_archive_then_purge",
    description="Archive PostHog recordings older than N days to your storage, then delete them",
    doc_md=__doc__,
    schedule="@daily",
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    # A worker that dies (heartbeat timeout) fails the try; the next try carries on the run
    # (README: "Crash recovery"). Keep deletion_record_path on storage every worker reads.
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "older_than_days": Param(
            30,
            type="integer",
            minimum=1,
            title="Older than (days)",
            description="Archive, then delete, recordings older than this many days.",
        ),
        "archive_path": Param(
            None,
            type=["null", "string"],
            title="Archive folder",
            description="s3://bucket/prefix or a shared mount for archives (empty: report only).",
        ),
        "report_only": Param(
            True,
            type="boolean",
            title="Report only",
            description="Report what would be archived and deleted; change nothing.",
        ),
        "max_deletions_per_run": Param(
            200,
            type="integer",
            minimum=0,
            title="Deletions per run",
            description="At most this many archived and deleted a run, oldest first.",
        ),
        "deletion_record_path": Param(
            None,
            type=["null", "string"],
            title="Deletion record folder",
            description="s3://... folder for the record of deleted ids (empty: none).",
        ),
    },
    tags=["posthog", "retention", "archive"],
) as dag:
    purge = PostHogPurgeRecordingsOperator(
        task_id="archive_then_purge",
        posthog_conn_id="posthog_default",
        older_than_days="{{ params.older_than_days }}",
        archive_path="{{ params.archive_path or '' }}",
        # Never a purge without its archive: no archive_path, report only.
        report_only="{{ params.report_only or not params.archive_path }}",
        max_deletions=100_000,
        max_deletions_per_run="{{ params.max_deletions_per_run }}",
        deletion_record_path="{{ params.deletion_record_path or '' }}",
        keep_pinned=True,
        deferrable=True,
        pool="posthog_api",
    )

    @task
    def report(manifest: dict[str, Any]) -> dict[str, Any]:
        """Log what was archived, kept and deleted; return the counts (no ids)."""
        names = ("cutoff", "candidates", "planned", "backlog", "deleted", "already_gone")
        names += ("failed", "archived", "already_archived", "archive_failed", "archive_gone")
        summary = {name: manifest.get(name, 0) for name in names}
        summary["archive_path"] = manifest.get("archive_path")
        summary["report_only"] = manifest.get("report_only", False)
        log.info("Archive then purge: %s", summary)
        if manifest.get("archive_failed"):
            log.warning("Kept in PostHog, not archived: %s", manifest.get("archive_failed_ids", {}))
        return summary

    report(purge.output)
