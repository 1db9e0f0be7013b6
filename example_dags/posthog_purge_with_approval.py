"""
### PostHog purge with approval (Airflow 3.1+)

**Plan, review, apply.** `plan_purge` lists PostHog once and writes its plan (nothing is
deleted); `approve_purge` shows it in words (counts, oldest and newest, a link to the plan,
the requests and time it costs) and waits for *Approve* or *Reject* (*Required actions*);
`apply_plan` deletes only the plan's ids (at most *Deletions per run*), each checked again.

Create the pool first: `airflow pools set posthog_api 1 "PostHog API key"
--include-deferred` (else tasks stay "scheduled", logs empty). Airflow 2: no DAG here.
Details: the README's *Plan, review, apply*.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_posthog_recordings.operators import PostHogPurgeRecordingsOperator

ApprovalOperator: Any
try:
    from airflow.providers.standard.operators.hitl import ApprovalOperator
except ImportError:  # Airflow < 3.1: no human-in-the-loop operators, so no DAG here
    ApprovalOperator = None

#: How long a plan waits for a decision before the approval task fails (nothing is deleted).
REVIEW_TIME = timedelta(days=3)

PLAN = "ti.xcom_pull(task_ids='plan_purge')"
SUMMARY = "ti.xcom_pull(task_ids='summarize_plan')"
REVIEW_BODY = f"""
**{{{{ {PLAN}['candidates'] }}}}** recordings would be deleted: those that started before
**{{{{ {SUMMARY}['cutoff'] }}}}** ({{{{ {PLAN}['older_than_days'] }}}} days before the run).

| | |
|---|---|
| listed | {{{{ {PLAN}['listed'] }}}} |
| kept | {{{{ {SUMMARY}['kept'] }}}} |
| oldest candidate | {{{{ {SUMMARY}['oldest'] }}}} |
| newest candidate | {{{{ {SUMMARY}['newest'] }}}} |
| protected playlists | {{{{ {SUMMARY}['protected'] }}}} |
| safety cap | {{{{ {SUMMARY}['cap'] }}}} |
| this run deletes | {{{{ {SUMMARY}['this_run'] }}}} |
| cost | {{{{ {SUMMARY}['estimate'] }}}} |

The full plan (every id, oldest first): {{{{ {SUMMARY}['plan_link'] }}}}.

Approve to delete exactly these recordings (each is checked again just before it goes);
Reject to delete nothing.
"""


def _when(text: str | None) -> str:
    """``2026-11-08 06:00 UTC`` from an ISO timestamp (None: ``-``)."""
    if not text:
        return "-"
    return datetime.fromisoformat(text).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def summary_of(
    plan: dict[str, Any], per_run: int | None, run_id: str, estimate: str, ui: str = ""
) -> dict[str, str]:
    """The plan in words for the approval page: no Python reprs, a link to the full plan.

    :param plan: the report-only purge's manifest (``plan_purge``'s XCom).
    :param per_run: ``max_deletions_per_run`` of ``apply_plan`` (None: the whole plan).
    :param run_id: this run's id (the link to the plan's XCom).
    :param estimate: what applying costs, in words (:mod:`...jobs.estimates`).
    :param ui: the Airflow UI's base URL ([api] base_url; empty: links from the site root).
    """
    kept = plan.get("kept") or {}
    reasons = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in sorted(kept.items()))
    location = str(plan.get("plan_location") or "")
    if location.startswith("xcom:"):
        task_id = location[len("xcom:") :].split("/")[0]
        path = f"/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{task_id}/xcom"
        plan_link = f"[the XCom of {task_id}]({ui.rstrip('/')}{path})"
    else:
        plan_link = f"`{location}` (`read_purge_plan` or your storage's console shows it)"
    cap = plan.get("max_deletions")
    candidates = int(plan.get("candidates") or 0)

    def candidate(key: str) -> str:
        found = plan.get(key) or {}
        if not found:
            return "-"
        return f"`{found.get('recording_id')}`, started {_when(found.get('start_time'))}"

    return {
        "cutoff": _when(plan.get("cutoff")),
        "kept": f"{plan.get('kept_total', 0)} ({reasons})" if reasons else "none",
        "oldest": candidate("oldest_candidate"),
        "newest": candidate("newest_candidate"),
        "protected": ", ".join(plan.get("protected_playlists") or []) or "none",
        "cap": "none"
        if cap is None
        else (
            f"{cap:,}: exceeded, nothing will be deleted"
            if plan.get("exceeds_max_deletions")
            else f"{cap:,}: within it"
        ),
        "this_run": f"{candidates:,} (all)"
        if per_run is None or per_run >= candidates
        else f"the oldest {per_run:,}; the other {candidates - per_run:,} wait for a new plan",
        "estimate": estimate,
        "plan_link": plan_link,
    }


DAG_ID = "posthog_purge_with_approval"

if ApprovalOperator is not None:
    with DAG(
        dag_id=DAG_ID,
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
                title="Older than (days)",
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
                title="Safety cap",
                description="Fail before deleting anything when more match (empty: no cap).",
            ),
            "max_deletions_per_run": Param(
                1000,
                type=["null", "integer"],
                minimum=1,
                title="Deletions per run",
                description="Apply at most this many, oldest first (empty: the whole plan).",
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

        @task
        def summarize_plan(plan: dict[str, Any], per_run: str, this_run: str) -> dict[str, str]:
            """The plan in words, and what applying it costs with the connection's key."""
            from airflow.configuration import conf

            from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook
            from airflow_provider_posthog_recordings.jobs.estimates import deletion_estimate

            limit = int(per_run) if per_run not in ("", "None") else None
            count = int(plan.get("candidates") or 0)
            count = count if limit is None else min(count, limit)
            hook = PostHogHook(posthog_conn_id="posthog_default")
            try:
                estimate = deletion_estimate(hook.get_client(), count).describe()
            finally:
                hook.close()
            ui = conf.get("api", "base_url", fallback="") or ""
            return summary_of(plan, limit, this_run, estimate, ui)

        summary = summarize_plan(plan.output, "{{ params.max_deletions_per_run }}", "{{ run_id }}")
        approve = ApprovalOperator(
            task_id="approve_purge",
            subject="Delete {{ " + PLAN + "['candidates'] }} PostHog recordings?",
            body=REVIEW_BODY,
            response_timeout=REVIEW_TIME,
        )
        apply = PostHogPurgeRecordingsOperator(
            task_id="apply_plan",
            apply_plan="{{ " + PLAN + "['plan_location'] }}",
            max_deletions_per_run="{{ params.max_deletions_per_run }}",
            **policy,
        )
        summary >> approve >> apply
