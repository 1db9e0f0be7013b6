"""
### PostHog purge with approval (Airflow 3.1+)

**Plan, review, apply.** `plan_purge` lists PostHog once and writes its plan (nothing is
deleted); `approve_purge` shows the counts, the oldest and newest candidate, the protected
playlists and where the plan is, and waits for *Approve* or *Reject* (under *Required
actions*); `apply_plan` then deletes only the plan's ids, each checked again just before.

Connection `posthog_default`; both tasks run in pool `posthog_api`. On Airflow 2 this file
defines no DAG. Details: the README's *Example DAGs* and *Plan, review, apply*.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_posthog_recordings.operators import PostHogPurgeRecordingsOperator

ApprovalOperator: Any
try:
    from airflow.providers.standard.operators.hitl import ApprovalOperator
except ImportError:  # Airflow < 3.1: no human-in-the-loop operators, so no DAG here
    ApprovalOperator = None

#: How long a plan waits for a decision before the approval task fails (nothing is deleted).
REVIEW_TIME = timedelta(days=3)

PLAN = "ti.xcom_pull(task_ids='plan_purge')"
REVIEW_BODY = f"""
**{{{{ {PLAN}['candidates'] }}}}** recordings would be deleted: those that started before
**{{{{ {PLAN}['cutoff'] }}}}** ({{{{ {PLAN}['older_than_days'] }}}} days before the run).

| | |
|---|---|
| listed | {{{{ {PLAN}['listed'] }}}} |
| kept | {{{{ {PLAN}['kept_total'] }}}} ({{{{ {PLAN}['kept'] }}}}) |
| oldest candidate | {{{{ ({PLAN}['oldest_candidate'] or {{}}).get('recording_id') }}}}, \
started {{{{ ({PLAN}['oldest_candidate'] or {{}}).get('start_time') }}}} |
| newest candidate | {{{{ ({PLAN}['newest_candidate'] or {{}}).get('recording_id') }}}}, \
started {{{{ ({PLAN}['newest_candidate'] or {{}}).get('start_time') }}}} |
| protected playlists | {{{{ {PLAN}['protected_playlists'] | join(', ') or 'none' }}}} |
| over max_deletions | {{{{ {PLAN}['exceeds_max_deletions'] }}}} |

The full plan (every id, oldest first): `{{{{ {PLAN}['plan_location'] }}}}`.

Approve to delete exactly these recordings (each is checked again just before it goes);
Reject to delete nothing.
"""

if ApprovalOperator is not None:
    with DAG(
        dag_id="posthog_purge_with_approval",
        description="Plan a PostHog purge, have it approved, then apply exactly that plan",
        doc_md=__doc__,
        schedule=None,
        start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        max_active_runs=1,
        params={
            "older_than_days": Param(
                30,
                type="integer",
                minimum=1,
                title="Retention (days)",
                description="Delete recordings that started more than this many days ago",
            ),
            "keep_playlists": Param(
                None,
                type=["null", "array"],
                items={"type": "string"},
                title="Playlists to keep",
                description="Names or short ids kept (empty: none; pinned ones always are).",
            ),
            "max_deletions": Param(
                100_000,
                type=["null", "integer"],
                minimum=0,
                title="Typo guard",
                description="Fail before deleting anything when more match (empty: no cap).",
            ),
            "plan_path": Param(
                None,
                type=["null", "string"],
                title="Plan folder",
                description="Folder for the plan (empty: the task's XCom, 20,000 at most).",
            ),
        },
        tags=["posthog", "retention", "approval"],
    ) as dag:
        policy: dict[str, Any] = {
            "posthog_conn_id": "posthog_default",
            "older_than_days": "{{ params.older_than_days }}",
            "keep_playlists": "{{ (params.keep_playlists or []) | join(',') }}",
            "keep_pinned": True,
            "max_deletions": "{{ params.max_deletions }}",
            "deferrable": True,
            "pool": "posthog_api",
            # A killed worker fails the try; the next carries on the run (README: "Crash
            # recovery"). Only the purge tasks retry: the approval asks once.
            "retries": 2,
            "retry_delay": timedelta(minutes=5),
        }
        plan = PostHogPurgeRecordingsOperator(
            task_id="plan_purge",
            report_only=True,
            plan_path="{{ params.plan_path or '' }}",
            **policy,
        )
        approve = ApprovalOperator(
            task_id="approve_purge",
            subject="Delete {{ " + PLAN + "['candidates'] }} PostHog recordings?",
            body=REVIEW_BODY,
            response_timeout=REVIEW_TIME,
        )
        apply = PostHogPurgeRecordingsOperator(
            task_id="apply_plan",
            apply_plan="{{ " + PLAN + "['plan_location'] }}",
            **policy,
        )
        plan >> approve >> apply
