"""
### PostHog daily triage

Waits (deferrable) for new, unviewed sessions with console errors, then lists, shares and
marks them viewed, and logs their links. Window: the run's data interval (a manual run: the
24 hours before it was triggered). No new session within 12 hours: the run is skipped.

Connection `posthog_default`; tasks that use the key run in pool `posthog_api`.
Details: the README's *Example DAGs*.
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

#: Start of the window: the data interval's start; a manual run on Airflow 3 has no data
#: interval, so the 24 hours before it was triggered (its run_after, fixed for the run).
WINDOW_START = (
    "{{ data_interval_start if data_interval_start is defined and data_interval_start "
    "else dag_run.run_after - macros.timedelta(days=1) }}"
)

#: New, unviewed recordings whose console logged an error, since the window started.
ERROR_SESSIONS = {
    "date_from": WINDOW_START,
    "console_log_filters": [
        {"key": "level", "type": "log_entry", "operator": "exact", "value": ["error"]}
    ],
    "hide_viewed_recordings": "current-user",
}

#: Every task that uses the key runs in this pool (one slot; see the README).
POSTHOG_POOL = "posthog_api"

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
            50,
            type="integer",
            minimum=1,
            title="Sessions at most",
            description="Sessions triaged in one run at most.",
        ),
    },
    tags=["posthog", "triage"],
) as dag:
    # Not in the pool: it may wait for hours, and a deferred task in a pool that counts
    # deferred tasks would hold the key's only slot all that time. It polls once every
    # poke_interval, from the triggerer (outside any pool).
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
        pool=POSTHOG_POOL,
    )

    shared = PostHogShareRecordingsOperator(
        task_id="share_error_sessions",
        posthog_conn_id="posthog_default",
        recording_ids=listed.output,
        pool=POSTHOG_POOL,
    )

    viewed = PostHogMarkRecordingsViewedOperator(
        task_id="mark_viewed",
        posthog_conn_id="posthog_default",
        recording_ids=listed.output,
        pool=POSTHOG_POOL,
    )

    @task
    def report(links: dict[str, str | None]) -> int:
        """Log one line per shared session (the URL bare, so log views link it)."""
        for recording_id, url in links.items():
            log.info("Session %s with console errors: %s", recording_id, url)
        log.info("%d sessions with console errors to triage", len(links))
        return len(links)

    wait >> listed
    shared >> viewed
    report(shared.output)
