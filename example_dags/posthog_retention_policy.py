"""
### PostHog retention policy

Deletes the session recordings that started more than `older_than_days` days before the run,
oldest first, at most `max_deletions_per_run` a run (the rest is the next runs' backlog),
keeping pinned playlists and ongoing recordings. **Report only by default**: check the
`report` task's log, then trigger with `{"report_only": false}`.

Unpausing starts a scheduled run at once: report only, with the defaults. Create the pool
first: `airflow pools set posthog_api 1 "PostHog API key" --include-deferred` (else tasks
stay "scheduled", logs empty). Details: the README's *Example DAGs*.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_posthog_recordings.operators import (
    PostHogPurgeRecordingsOperator,
)

log = logging.getLogger(__name__)

with DAG(
    dag_id="posthog_retention_policy",
    description="Delete PostHog recordings older than N days, keeping pinned playlists",
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
            description="Delete recordings that started more than this many days ago.",
        ),
        "report_only": Param(
            True,
            type="boolean",
            title="Report only",
            description="Report what would be deleted; delete nothing.",
        ),
        "max_deletions": Param(
            100_000,
            type="integer",
            minimum=0,
            title="Safety cap",
            description="Fail before deleting anything when more recordings match.",
        ),
        "max_deletions_per_run": Param(
            1000,
            type="integer",
            minimum=0,
            title="Deletions per run",
            description="At most this many a run, oldest first; the rest in later runs.",
        ),
        "deletion_record_path": Param(
            None,
            type=["null", "string"],
            title="Deletion record folder",
            description="s3://... folder for the record of deleted ids (empty: none).",
        ),
    },
    tags=["posthog", "retention"],
) as dag:
    purge = PostHogPurgeRecordingsOperator(
        task_id="purge_old_recordings",
        posthog_conn_id="posthog_default",
        older_than_days="{{ params.older_than_days }}",
        report_only="{{ params.report_only }}",
        max_deletions="{{ params.max_deletions }}",
        max_deletions_per_run="{{ params.max_deletions_per_run }}",
        deletion_record_path="{{ params.deletion_record_path or '' }}",
        keep_pinned=True,
        deferrable=True,
        pool="posthog_api",
    )

    @task
    def report(manifest: dict[str, Any]) -> dict[str, Any]:
        """Log a short report of the purge; return its counts (no ids)."""
        report_only = manifest.get("report_only", False)
        summary = {
            "report_only": report_only,
            "cutoff": manifest.get("cutoff"),
            "older_than_days": manifest.get("older_than_days"),
            "listed": manifest.get("listed", 0),
            "candidates": manifest.get("candidates", 0),
            "planned": manifest.get("planned", 0),
            "backlog": manifest.get("backlog", 0),
            "deleted": manifest.get("deleted", 0),
            "already_gone": manifest.get("already_gone", 0),
            "failed": manifest.get("failed", 0),
            "kept": manifest.get("kept", {}),
            "protected_playlists": manifest.get("protected_playlists", []),
            "requests": manifest.get("requests"),
            "legs": manifest.get("legs"),
        }
        verb = "would delete" if report_only else "deleted"
        count = summary["planned"] if report_only else summary["deleted"]
        log.info(
            "Retention %s: recordings started before %s (%s days): %s %d of %d listed "
            "(backlog for later runs: %d); kept %s; protected playlists %s; %s API requests",
            "REPORT ONLY" if report_only else "purge",
            summary["cutoff"],
            summary["older_than_days"],
            verb,
            count,
            summary["listed"],
            summary["backlog"],
            summary["kept"] or "none",
            summary["protected_playlists"] or "none",
            summary["requests"],
        )
        log.info("Manifest: %s", json.dumps(summary, sort_keys=True))
        return summary

    report(purge.output)
