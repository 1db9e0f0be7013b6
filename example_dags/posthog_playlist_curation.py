"""
### PostHog playlist curation

Every day, keep two collection playlists in step with a search:

* **Sessions with console errors**: the newest recordings of the last `lookback_days`
  days whose console logged at least one error;
* **Long sessions**: the newest recordings of the last `lookback_days` days longer than 5
  minutes (`LONG_SESSION_SECONDS`).

Each playlist is found by its exact name, or created the first time. Each run adds what
newly matches and removes what no longer does (`remove_stale=True`), so each playlist
holds at most `max_recordings` recordings of the last `lookback_days` days. Running twice
changes nothing the second time.

The playlists are not pinned: the retention policy DAG (`posthog_retention_policy`) only
protects pinned playlists, so curated recordings still expire with everything else. Pin
one in PostHog (or pass `pinned=True`) to keep its recordings.

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
        "max_recordings": Param(
            100, type="integer", minimum=0, description="Recordings per playlist at most"
        ),
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
        max_recordings="{{ params.max_recordings }}",
        remove_stale=True,
    )

    PostHogCuratePlaylistOperator(
        task_id="curate_long_sessions",
        posthog_conn_id="posthog_default",
        name="Long sessions",
        description="Recordings longer than a few minutes (kept current by Airflow)",
        query={
            "date_from": "-{{ params.lookback_days }}d",
            "properties": [
                {
                    "type": "recording",
                    "key": "duration",
                    "operator": "gt",
                    "value": LONG_SESSION_SECONDS,
                }
            ],
        },
        max_recordings="{{ params.max_recordings }}",
        remove_stale=True,
    )
