"""Test-only DAG of the distributed tier: two tasks on one key, in a pool of one slot.

A purge and an archive of two populations, both deferrable, both with the connection
``posthog_one_key`` (a key of their own) and in the pool ``posthog_one_slot`` (1 slot, created
with ``--include-deferred``), with no order between them: the pool is all that keeps them
apart.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_posthog_recordings.operators import (
    PostHogArchiveRecordingsOperator,
    PostHogPurgeRecordingsOperator,
)

with DAG(
    dag_id="distributed_one_key",
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={
        "purged": Param("one-key-purged", type="string"),
        "archived": Param("one-key-archived", type="string"),
        "archive_path": Param("", type="string"),
    },
    tags=["distributed-test"],
) as dag:
    PostHogPurgeRecordingsOperator(
        task_id="purge",
        posthog_conn_id="posthog_one_key",
        older_than_days=10,
        report_only=False,
        max_deletions=1000,
        query={"distinct_ids": ["{{ params.purged }}"]},
        keep_pinned=True,
        deferrable=True,
        max_wait_in_worker=1.0,
        pool="posthog_one_slot",
    )
    PostHogArchiveRecordingsOperator(
        task_id="archive",
        posthog_conn_id="posthog_one_key",
        archive_path="{{ params.archive_path }}",
        shared_storage=True,  # the tier's shared folder: every worker sees it
        query={"date_from": "-90d", "distinct_ids": ["{{ params.archived }}"]},
        deferrable=True,
        max_wait_in_worker=1.0,
        pool="posthog_one_slot",
    )
