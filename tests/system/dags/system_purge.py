"""Test-only DAG of the system tier: the retention purge on a population of its own.

As the example's purge, but it defers for any budget wait longer than a second (the example
sleeps through waits of up to 30 s, longer than the tier's scaled-down minute), and only
recordings of one distinct id are looked at, so that the other scenarios' data is left alone.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_posthog_recordings.operators import PostHogPurgeRecordingsOperator

with DAG(
    dag_id="system_purge",
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={
        "population": Param("purge-population", type="string"),
        "older_than_days": Param(10, type="integer", minimum=1),
        "deletion_record_path": Param(None, type=["null", "string"]),
    },
    tags=["system-test"],
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
        pool="posthog_api",
    )
