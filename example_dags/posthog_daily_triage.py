"""
### PostHog daily triage of sessions with console errors

Every day at 06:00 UTC, for the day that just ended (the run's data interval):

1. `wait_for_error_sessions`: a **deferrable** sensor waits (in the triggerer, not in a
   worker slot) until at least one recording with console errors, not yet viewed by the
   key's owner, started since `data_interval_start`. If none arrives within
   `sensor_timeout_hours`, the run is skipped, not failed (`soft_fail=True`).
2. `list_error_sessions`: lists them (at most `max_sessions`, newest first).
3. `share_error_sessions`: enables a public link for each, for whoever triages them
   (PostHog then keeps a shared recording one year, whatever the project's retention).
4. `mark_viewed`: marks them viewed, so the next run only sees new ones
   (`hide_viewed_recordings: current-user`).
5. `report`: logs the links.

Connection: `posthog_default` (personal API key with `session_recording:write` and
`sharing_configuration:write`, extra `project_id`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_posthog_recordings.operators import (
    PostHogListRecordingsOperator,
    PostHogMarkRecordingsViewedOperator,
    PostHogShareRecordingsOperator,
)
from airflow_provider_posthog_recordings.sensors.recordings_sensor import PostHogRecordingsSensor

try:  # Airflow 3: "@daily" has no data interval unless asked for one
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2
    from airflow.timetables.interval import CronDataIntervalTimetable

log = logging.getLogger(__name__)

#: New, unviewed recordings whose console logged an error, since the interval started.
ERROR_SESSIONS = {
    "date_from": "{{ data_interval_start }}",
    "console_log_filters": [
        {"key": "level", "type": "log_entry", "operator": "exact", "value": ["error"]}
    ],
    "hide_viewed_recordings": "current-user",
}

with DAG(
    dag_id="posthog_daily_triage",
    description="Share and mark viewed the new PostHog sessions with console errors",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={
        "max_sessions": Param(
            50, type="integer", minimum=1, description="Sessions triaged per run at most"
        ),
    },
    tags=["posthog", "triage"],
) as dag:
    wait = PostHogRecordingsSensor(
        task_id="wait_for_error_sessions",
        posthog_conn_id="posthog_default",
        query=ERROR_SESSIONS,
        deferrable=True,
        poke_interval=15 * 60,
        timeout=int(timedelta(hours=12).total_seconds()),
        soft_fail=True,
    )

    listed = PostHogListRecordingsOperator(
        task_id="list_error_sessions",
        posthog_conn_id="posthog_default",
        query=ERROR_SESSIONS,
        max_results="{{ params.max_sessions }}",
    )

    shared = PostHogShareRecordingsOperator(
        task_id="share_error_sessions",
        posthog_conn_id="posthog_default",
        recording_ids=listed.output,
    )

    viewed = PostHogMarkRecordingsViewedOperator(
        task_id="mark_viewed",
        posthog_conn_id="posthog_default",
        recording_ids=listed.output,
    )

    @task
    def report(links: dict[str, str | None]) -> int:
        """Log one line per shared session; return how many."""
        for recording_id, url in links.items():
            log.info("Session %s with console errors: %s", recording_id, url)
        log.info("%d sessions with console errors to triage", len(links))
        return len(links)

    wait >> listed
    shared >> viewed
    report(shared.output)
