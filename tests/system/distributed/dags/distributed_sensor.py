"""Test-only DAG of the distributed tier: the deferrable sensor, polling from the triggerer
every 2 s for a recording of the ``distinct_id`` it is given (connection ``posthog_sensors``,
a key of its own)."""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_posthog_recordings.sensors.recordings_sensor import PostHogRecordingsSensor

with DAG(
    dag_id="distributed_sensor_wait",
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={"distinct_id": Param("nobody", type="string")},
    tags=["distributed-test"],
) as dag:
    PostHogRecordingsSensor(
        task_id="wait",
        posthog_conn_id="posthog_sensors",
        query={"date_from": "-1d", "distinct_ids": ["{{ params.distinct_id }}"]},
        deferrable=True,
        poke_interval=2,
        timeout=600,
    )
