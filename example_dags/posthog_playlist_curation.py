"""
### PostHog playlist curation

Every day, keep two saved-search playlists in step with a search:

* **Sessions with console errors**: recordings of the last `lookback_days` days whose console
  logged at least one error;
* **Long sessions**: recordings of the last `lookback_days` days longer than 5 minutes
  (`LONG_SESSION_SECONDS`, a filter on the recording's own duration: `having_predicates`).

They are saved searches (`playlist_type="filters"`, the default): PostHog lets a personal API
key create and update them, and its UI shows the live matches. Each playlist is found by its
exact name, or created the first time; a run changes it only when the search changed.
(A `collection` of hand-picked recordings needs a server that lets the key change a
collection's items; PostHog Cloud does not.)

Connection: `posthog_default` (personal API key with `session_recording:read` and
`session_recording_playlist:write`, extra `project_id`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_posthog_recordings.operators.playlist_operators import (
    PostHogCuratePlaylistOperator,
)

#: PostHog's filter for "the console logged an error".
CONSOLE_ERRORS = [{"key": "level", "type": "log_entry", "operator": "exact", "value": ["error"]}]

#: A long session lasts more than this many seconds.
LONG_SESSION_SECONDS = 300

with DAG(
    dag_id="posthog_playlist_curation",
    description="Keep 'Sessions with console errors' and 'Long sessions' playlists current",
    doc_md=__doc__,
    schedule="@daily",
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={
        "lookback_days": Param(7, type="integer", minimum=1, description="Window in days"),
    },
    tags=["posthog", "playlists"],
) as dag:
    PostHogCuratePlaylistOperator(
        task_id="curate_console_errors",
        posthog_conn_id="posthog_default",
        name="Sessions with console errors",
        description="Recordings whose console logged an error (kept current by Airflow)",
        query={
            "date_from": "-{{ params.lookback_days }}d",
            "console_log_filters": CONSOLE_ERRORS,
        },
    )

    PostHogCuratePlaylistOperator(
        task_id="curate_long_sessions",
        posthog_conn_id="posthog_default",
        name="Long sessions",
        description="Recordings longer than a few minutes (kept current by Airflow)",
        query={
            "date_from": "-{{ params.lookback_days }}d",
            "having_predicates": [
                {
                    "type": "recording",
                    "key": "duration",
                    "operator": "gt",
                    "value": LONG_SESSION_SECONDS,
                }
            ],
        },
    )
