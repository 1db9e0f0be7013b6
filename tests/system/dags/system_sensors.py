"""Test-only DAGs of the system tier: the deferrable sensor, waiting and timing out.

``system_sensor_wait`` waits (deferred, polling every 2 s from the triggerer) for a
recording of the ``distinct_id`` it is given. ``system_sensor_timeout`` waits 15 s for one
that never comes: ``hard`` fails with the sensor's message, ``soft`` (``soft_fail``, as the
triage example) is skipped. They use a key of their own (connection ``posthog_sensors``): a
trigger polls outside any pool, and these run while the other scenarios' tasks do.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_posthog_recordings.sensors.recordings_sensor import PostHogRecordingsSensor

QUERY = {"date_from": "-1d", "distinct_ids": ["{{ params.distinct_id }}"]}

with DAG(
    dag_id="system_sensor_wait",
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={"distinct_id": Param("nobody", type="string")},
    tags=["system-test"],
) as wait_dag:
    PostHogRecordingsSensor(
        task_id="wait",
        posthog_conn_id="posthog_sensors",
        query=QUERY,
        deferrable=True,
        poke_interval=2,
        timeout=600,
    )

with DAG(
    dag_id="system_sensor_timeout",
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={"distinct_id": Param("nobody", type="string")},
    tags=["system-test"],
) as timeout_dag:
    for name, soft in (("hard", False), ("soft", True)):
        PostHogRecordingsSensor(
            task_id=name,
            posthog_conn_id="posthog_sensors",
            query=QUERY,
            deferrable=True,
            poke_interval=2,
            timeout=15,
            soft_fail=soft,
        )
