"""
### PostHog retention policy

Every day, permanently delete the PostHog session recordings that started more than
`older_than_days` days before the run (the run's `data_interval_end`), except

* recordings in a **pinned** playlist (`keep_pinned=True`: pin a playlist in PostHog to
  protect what it holds),
* recordings still being recorded (ongoing), and recordings without a start time.

PostHog's own retention (30 days to 5 years, by plan) still applies: this is a stricter
rule on top of it. Deletion is permanent (PostHog destroys the recording's key).

**Params**

| param | default | meaning |
|---|---|---|
| `older_than_days` | 30 | the retention period in days (at least 1) |
| `dry_run` | `true` | only report what would be deleted |
| `max_deletions` | 1000 | if more recordings would go, fail before deleting anything |

The default is a dry run: check the `report` task's log, then trigger a real run with
`{"dry_run": false}` (for example
`airflow dags trigger posthog_retention_policy -c '{"dry_run": false}'`), or set the
param's default to `False` once you trust the policy.

The `purge_old_recordings` task returns a small manifest (counts, kept by reason, the
first deleted ids); `report` logs it. Connection: `posthog_default` (conn type
`posthog`: host, personal API key with `session_recording:write`, extra `project_id`).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
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
    params={
        "older_than_days": Param(
            30, type="integer", minimum=1, description="Retention period in days"
        ),
        "dry_run": Param(True, type="boolean", description="Report only, delete nothing"),
        "max_deletions": Param(
            1000,
            type="integer",
            minimum=0,
            description="Fail before deleting anything when more recordings would go",
        ),
    },
    tags=["posthog", "retention"],
) as dag:
    purge = PostHogPurgeRecordingsOperator(
        task_id="purge_old_recordings",
        posthog_conn_id="posthog_default",
        older_than_days="{{ params.older_than_days }}",
        dry_run="{{ params.dry_run }}",
        max_deletions="{{ params.max_deletions }}",
        keep_pinned=True,
    )

    @task
    def report(manifest: dict[str, Any]) -> dict[str, Any]:
        """Log a short report of the purge; return its counts (no ids)."""
        dry_run = manifest.get("dry_run", False)
        summary = {
            "dry_run": dry_run,
            "cutoff": manifest.get("cutoff"),
            "older_than_days": manifest.get("older_than_days"),
            "listed": manifest.get("listed", 0),
            "candidates": manifest.get("candidates", 0),
            "deleted": manifest.get("deleted", 0),
            "already_gone": manifest.get("already_gone", 0),
            "failed": manifest.get("failed", 0),
            "kept": manifest.get("kept", {}),
            "protected_playlists": manifest.get("protected_playlists", []),
            "requests": manifest.get("requests"),
        }
        verb = "would delete" if dry_run else "deleted"
        count = summary["candidates"] if dry_run else summary["deleted"]
        log.info(
            "Retention %s: recordings started before %s (%s days): %s %d of %d listed; "
            "kept %s; protected playlists %s; %s API requests",
            "DRY RUN" if dry_run else "purge",
            summary["cutoff"],
            summary["older_than_days"],
            verb,
            count,
            summary["listed"],
            summary["kept"] or "none",
            summary["protected_playlists"] or "none",
            summary["requests"],
        )
        log.info("Manifest: %s", json.dumps(summary, sort_keys=True))
        return summary

    report(purge.output)
