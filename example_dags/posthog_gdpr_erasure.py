"""
### PostHog GDPR erasure: delete one person's session recordings

Triggered by hand (or by your request-handling system through the REST API) for one
erasure request, with the person's `distinct_id`:

    airflow dags trigger posthog_gdpr_erasure -c '{"distinct_id": "user-42"}'

`erase_recordings` lists every recording of that distinct id that PostHog can still hold
(a window reaching back past PostHog's longest retention, 5 years), deletes them, and
lists again to confirm none is left: the task fails if any remains, and a rerun finishes
the job. `report` logs the counts, which you can keep as evidence of the erasure.

This only erases **recordings**. The person's events and profile are erased in PostHog
itself (Persons > Delete person). Note that the `distinct_id` is stored in this DAG run's
conf in Airflow's database.

Connection: `posthog_default` (personal API key with `session_recording:write`, extra
`project_id`). Like the retention DAG, the task runs in the pool `posthog_api` (one budget
per key) and defers while the key's hourly budget refills.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_posthog_recordings.operators import (
    PostHogDeleteRecordingsOperator,
)

log = logging.getLogger(__name__)

with DAG(
    dag_id="posthog_gdpr_erasure",
    description="Delete every PostHog session recording of one distinct_id",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={
        "distinct_id": Param(
            type="string",
            minLength=1,
            description="The distinct_id whose recordings are deleted",
        ),
        "max_deletions": Param(
            1000,
            type="integer",
            minimum=0,
            description="Fail before deleting anything when the person has more recordings",
        ),
    },
    tags=["posthog", "gdpr"],
) as dag:
    erase = PostHogDeleteRecordingsOperator(
        task_id="erase_recordings",
        posthog_conn_id="posthog_default",
        distinct_ids="{{ params.distinct_id }}",
        max_deletions="{{ params.max_deletions }}",
        deferrable=True,
        pool="posthog_api",
    )

    @task
    def report(manifest: dict[str, Any]) -> dict[str, Any]:
        """Log the erasure's counts (the evidence to keep); return them without ids."""
        counts = {
            key: manifest.get(key, 0)
            for key in ("requested", "deleted", "already_gone", "failed", "remaining")
        }
        log.info(
            "Erasure done: %(requested)d recordings found, %(deleted)d deleted, "
            "%(already_gone)d already gone, %(failed)d failed, %(remaining)d remaining",
            counts,
        )
        return counts

    report(erase.output)
