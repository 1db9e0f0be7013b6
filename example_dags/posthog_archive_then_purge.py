"""
### PostHog archive, then purge

Every day, copy the PostHog session recordings older than `older_than_days` days to your own
storage, check each copy, and only then delete them from PostHog: "30 days in PostHog, a year
in our bucket". A recording whose copy could not be made or verified is **kept** in PostHog
and counted (`archive_failed` in the manifest); the next run tries it again.

Each recording's archive is the folder `<archive_path>/<recording id>/`:

* `snapshots.jsonl`: the recording's snapshots exactly as PostHog served them (lossless);
* `metadata.json`: person, start and end, expiry, the sources PostHog listed;
* `playback.json`: open it in PostHog under **Replay -> File playback** (needs the
  `RECORDINGS_FILE_EXPORT` feature of paid plans); mobile recordings have none (flagged);
* `manifest.json`: line and window counts, sha256 and size of each file, written last.

Read one back in Python with
`airflow_provider_posthog_recordings.jobs.archive.read_archive(path, recording_id)`.

**Budget.** Reading snapshots has its own budget per plan, on top of the key's 240 requests
a minute and 1,200 an hour: free 12 a minute and 60 an hour, paid 60 and 300, enterprise 100
and 400. A recording costs about 1 + ceil(blocks / 21) snapshots requests (2 or 3 for most),
so a free plan archives about 20 to 30 recordings an hour. Set the connection extras
`snapshot_requests_per_minute` and `snapshot_requests_per_hour` to your plan's, and keep
`max_deletions_per_run` within what a day can archive. The task is deferrable.

**Params**

| param | default | meaning |
|---|---|---|
| `older_than_days` | 30 | the retention period in PostHog, in days |
| `archive_path` | `/tmp/posthog-archive` | where archives go: local or `s3://bucket/prefix` |
| `report_only` | `true` | only report what would be archived and deleted |
| `max_deletions_per_run` | 200 | at most this many archived and deleted a run, oldest first |
| `deletion_record_path` | `""` | folder for the record of deleted ids (empty: none) |
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
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
    params={
        "older_than_days": Param(30, type="integer", minimum=1, description="Days in PostHog"),
        "archive_path": Param(
            "/tmp/posthog-archive", type="string", description="Where archives go (or s3://...)"
        ),
        "report_only": Param(True, type="boolean", description="Report only, change nothing"),
        "max_deletions_per_run": Param(
            200, type="integer", minimum=0, description="Archived and deleted at most per run"
        ),
        "deletion_record_path": Param(
            "", type="string", description="Folder for the record of deleted ids (empty: none)"
        ),
    },
    tags=["posthog", "retention", "archive"],
) as dag:
    purge = PostHogPurgeRecordingsOperator(
        task_id="archive_then_purge",
        posthog_conn_id="posthog_default",
        older_than_days="{{ params.older_than_days }}",
        archive_path="{{ params.archive_path }}",
        report_only="{{ params.report_only }}",
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
