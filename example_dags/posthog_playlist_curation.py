"""
### PostHog playlist curation

Keeps two saved-search playlists current: **Sessions with console errors** and **Long
sessions** (over 5 minutes), each over the last `lookback_days` days. A playlist is found by
its name (created the first time) and changed only when its search changed.

Unpausing starts a scheduled run at once: it creates both playlists. The task's *Details*
tab has a "PostHog playlist" link. Create the pool first: `airflow pools set posthog_api 1
"PostHog API key" --include-deferred` (else tasks stay "scheduled", logs empty). Details:
README.
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

#: Every task that uses the key runs in this pool (one slot; see the README).
POSTHOG_POOL = "posthog_api"

with DAG(
    dag_id="posthog_playlist_curation",
    description="Keep 'Sessions with console errors' and 'Long sessions' playlists current",
    doc_md=__doc__,
    schedule="@daily",
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={
        "lookback_days": Param(
            7,
            type="integer",
            minimum=1,
            title="Look back (days)",
            description="Each playlist shows the recordings of this many last days.",
        ),
    },
    tags=["posthog", "playlists"],
) as dag:
    PostHogCuratePlaylistOperator(
        task_id="curate_console_errors",
        posthog_conn_id="posthog_default",
        pool=POSTHOG_POOL,
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
        pool=POSTHOG_POOL,
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
