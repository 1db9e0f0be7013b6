"""Test-only DAGs of the distributed tier: the retention purge on the CeleryExecutor.

As the system tier's purge (it defers for any budget wait over a second, and looks only at
recordings of one distinct id), with every deleted id in its manifest. ``distributed_purge``
has no retries; ``distributed_purge_retried`` has two, a second apart, for a worker that dies
mid-leg (its task is failed after the scheduler's heartbeat timeout, then retried on any
worker). Both are given a folder every worker sees, declared shared (``SHARED``);
``distributed_purge_local`` declares nothing, for a path on one worker's disk.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_posthog_recordings.operators import PostHogPurgeRecordingsOperator

#: How a DAG declares that its local paths are a mount every worker shares (without it, a
#: local path is refused on the CeleryExecutor).
SHARED: dict[str, object] = {"shared_storage": True}

for dag_id, retries, declared in (
    ("distributed_purge", 0, SHARED),
    ("distributed_purge_retried", 2, SHARED),
    ("distributed_purge_local", 0, {}),
):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        params={
            "population": Param("distributed-population", type="string"),
            "older_than_days": Param(10, type="integer", minimum=1),
            "deletion_record_path": Param(None, type=["null", "string"]),
        },
        tags=["distributed-test"],
    ) as dag:
        PostHogPurgeRecordingsOperator(
            task_id="purge",
            posthog_conn_id="posthog_default",
            older_than_days="{{ params.older_than_days }}",
            report_only=False,
            max_deletions=1000,
            query={"distinct_ids": ["{{ params.population }}"]},
            deletion_record_path="{{ params.deletion_record_path or '' }}",
            keep_pinned=True,
            deferrable=True,
            max_wait_in_worker=1.0,
            manifest_ids=1000,
            retries=retries,
            retry_delay=timedelta(seconds=1),
            **declared,
        )
    globals()[dag_id] = dag
