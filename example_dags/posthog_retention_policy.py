"""
### PostHog retention policy

Every day, permanently delete the PostHog session recordings that started more than
`older_than_days` days before the run (the run's `data_interval_end`), except

* recordings in a **pinned** playlist (`keep_pinned=True`: pin a playlist in PostHog to
  protect what it holds),
* recordings still being recorded (ongoing), and recordings without a start time.

PostHog's own retention (30 days to 5 years, by plan) still applies: this is a stricter
rule on top of it. Deletion is permanent (PostHog destroys the recording's key).

**Living with PostHog's budget.** PostHog Cloud refuses bulk deletes to personal API keys,
so each recording costs one request, and a key gets 240 requests a minute and 1,200 an
hour. The DAG therefore deletes at most `max_deletions_per_run` recordings a run, oldest
first; the rest is the manifest's `backlog`, which the next daily runs take (the cutoff is
fixed by each run's data interval, and every run plans again from PostHog). The task is
deferrable: while it waits for the hourly budget it gives its worker slot back.

**One budget across workers.** The budget belongs to the key, not to a task: every task that
uses the key runs in the pool `posthog_api` (create it with one slot: `airflow pools set
posthog_api 1 "PostHog personal API key"`), so tasks on different workers never spend the
key's budget together. With a pool of N slots, give each task's connection 1/N of the budget
(extras `requests_per_minute` and `requests_per_hour`).

**Params**

| param | default | meaning |
|---|---|---|
| `older_than_days` | 30 | the retention period in days (at least 1) |
| `report_only` | `true` | only report what would be deleted |
| `max_deletions` | 100000 | typo guard: if more match, fail before deleting anything |
| `max_deletions_per_run` | 1000 | per-run budget: the oldest this many go, the rest later |
| `deletion_record_path` | `""` | folder for the record of deleted ids (empty: none) |

`deletion_record_path` may be local or object storage (`s3://bucket/posthog-deletions`,
through Airflow's `ObjectStoragePath`): every deleted id is written there as JSON lines
with the run id, the cutoff, the policy and the time of its batch.

The default is a report-only run: check the `report` task's log, then trigger a real run with
`{"report_only": false}` (for example
`airflow dags trigger posthog_retention_policy -c '{"report_only": false}'`), or set the
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
        "report_only": Param(True, type="boolean", description="Report only, delete nothing"),
        "max_deletions": Param(
            100_000,
            type="integer",
            minimum=0,
            description="Typo guard: fail before deleting anything when more recordings match",
        ),
        "max_deletions_per_run": Param(
            1000,
            type="integer",
            minimum=0,
            description="Delete at most this many a run, oldest first; the rest is the backlog",
        ),
        "deletion_record_path": Param(
            "",
            type="string",
            description="Folder for the durable record of deleted ids (empty: none)",
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
            "DRY RUN" if report_only else "purge",
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
