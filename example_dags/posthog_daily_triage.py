"""
### PostHog daily triage

Waits for new, unviewed sessions with console errors, then lists and logs them. **Share
publicly** and **Mark viewed** are off by default: a scheduled run (unpausing starts one)
only lists. Window: a scheduled run, its data interval; a manual run (Trigger button, CLI,
REST API), the 24 hours before it was triggered. None within 12 hours: skipped.

Create the pool first: `airflow pools set posthog_api 1 "PostHog API key"
--include-deferred` (else tasks stay "scheduled", logs empty). Details: README.
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

#: Start of the window. A scheduled run: its data interval's start. A manual run: 24 hours
#: before its logical date (the UI's: the click), else before its run_after (the CLI's runs
#: on Airflow 3: when triggered, fixed for the run); never the data interval Airflow 3 infers
#: for a manual run with a logical date: the last completed one, which the scheduled run
#: just covered.
WINDOW_START = (
    "{{ ((logical_date if logical_date is defined and logical_date else dag_run.run_after) "
    "- macros.timedelta(days=1)) if dag_run.run_type == 'manual' else data_interval_start }}"
)

#: The listed ids as comma-separated text when the run's param ``name`` is on, else nothing.
CHOSEN_IDS = (
    "{{{{ (ti.xcom_pull(task_ids='list_error_sessions') or []) | join(',') "
    "if params.{name} else '' }}}}"
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
        "share_publicly": Param(
            False,
            type="boolean",
            title="Share publicly",
            description="Turn on a public link for each session: anyone with it can watch.",
        ),
        "mark_viewed": Param(
            False,
            type="boolean",
            title="Mark viewed",
            description="Mark each session viewed (later searches for unviewed skip it).",
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

    # Both act only when the run's param says so (off by default): nothing irreversible
    # happens on a run nobody started on purpose.
    shared = PostHogShareRecordingsOperator(
        task_id="share_error_sessions",
        posthog_conn_id="posthog_default",
        recording_ids=CHOSEN_IDS.format(name="share_publicly"),
        pool=POSTHOG_POOL,
    )

    viewed = PostHogMarkRecordingsViewedOperator(
        task_id="mark_viewed",
        posthog_conn_id="posthog_default",
        recording_ids=CHOSEN_IDS.format(name="mark_viewed"),
        pool=POSTHOG_POOL,
    )

    @task
    def report(ids: list[str], links: dict[str, str | None]) -> int:
        """Log one line per session (a shared one's URL bare, so log views link it)."""
        for recording_id in ids:
            url = links.get(recording_id)
            if url:
                log.info("Session %s with console errors, shared at %s", recording_id, url)
            else:
                log.info("Session %s with console errors (not shared)", recording_id)
        log.info("%d sessions with console errors to triage", len(ids))
        return len(ids)

    wait >> listed >> shared >> viewed
    report(listed.output, shared.output)
