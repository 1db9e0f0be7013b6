"""
### PostHog purge with approval (Airflow 3.1+)

A first big purge, the careful way: **plan, review, apply**.

1. `plan_purge`: a report-only run of the retention purge. It lists PostHog once and writes
   its **plan**: every candidate (id and start time, oldest first) with the cutoff, the
   policy and the counts. Nothing is deleted.
2. `approve_purge`: Airflow's human-in-the-loop `ApprovalOperator` shows the counts, the
   oldest and newest candidate, the protected playlists and where the full plan is, and
   waits for someone to **Approve** or **Reject** (in the UI, under *Required actions*).
   Reject skips the purge.
3. `apply_plan`: the approved plan is applied. Only ids in the plan are deleted, never a
   recording that appeared since; each is checked again against the policy just before it
   is deleted (before the plan's cutoff, not in a protected or pinned playlist as read now,
   not ongoing). The manifest's `changed_since_plan` counts what changed during the review
   (`gone_already`, `now_protected`, `now_ongoing`, ...).

**Where the plan is.** With `plan_path` (a local folder, or object storage such as
`s3://bucket/posthog-plans` through Airflow's `ObjectStoragePath`) the plan goes to
`<plan_path>/<run_id>/` as `plan.json` and `candidates.jsonl`, any size. Without it, the plan
task's XCom `purge_plan` holds plans up to 20,000 candidates; a larger plan is not written and
`apply_plan` then fails without deleting anything: give a `plan_path` for big purges.

**Params** (empty means none)

| param | default | meaning |
|---|---|---|
| `older_than_days` | 30 | the retention period in days (at least 1) |
| `keep_playlists` | none | playlists (names or short ids) whose recordings are kept |
| `max_deletions` | 100000 | typo guard: fail before deleting when more match (empty: no cap) |
| `plan_path` | none | folder for the plan (empty: the plan task's XCom) |

Recordings of pinned playlists are always kept.

Both PostHog tasks run in the pool `posthog_api` (one slot: `airflow pools set posthog_api 1
"PostHog personal API key"`), so they never spend the key's budget together with other
tasks. Connection: `posthog_default`.

On Airflow 2 (no human-in-the-loop operators) this file defines no DAG.
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
                description="Names or short ids whose recordings are kept (empty: none; "
                "pinned playlists are always kept)",
            ),
            "max_deletions": Param(
                100_000,
                type=["null", "integer"],
                minimum=0,
                title="Typo guard",
                description="Fail before deleting anything when more recordings match "
                "(empty: no cap)",
            ),
            "plan_path": Param(
                None,
                type=["null", "string"],
                title="Plan folder",
                description="Local or object storage folder for the plan (empty: the plan "
                "task's XCom, up to 20,000 candidates)",
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
