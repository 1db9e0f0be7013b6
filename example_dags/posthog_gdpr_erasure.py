"""
### PostHog GDPR erasure

Deletes every session recording of one person, then lists again to prove none is left.
Trigger it and fill in **Distinct ID** in the form (empty: the run erases nothing). A
distinct id with no recordings fails the run, so that a mistyped id is never a quiet
success. Recordings only: erase the person's events in PostHog itself.

Create the pool first: `airflow pools set posthog_api 1 "PostHog API key"
--include-deferred` (else the task stays "scheduled", its log empty). Details: README.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.providers.common.compat.sdk import DAG, AirflowFailException, Param, task

from airflow_provider_posthog_recordings.operators import (
    PostHogDeleteRecordingsOperator,
)

log = logging.getLogger(__name__)

with DAG(
    dag_id="posthog_gdpr_erasure",
    description="Delete every PostHog session recording of one distinct_id",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={
        "distinct_id": Param(
            None,
            type=["null", "string"],
            title="Distinct ID",
            description="The person whose recordings are deleted (empty: erase nothing).",
        ),
        "max_deletions": Param(
            1000,
            type="integer",
            minimum=0,
            title="Safety cap",
            description="Fail before deleting anything when the person has more recordings.",
        ),
    },
    tags=["posthog", "gdpr"],
) as dag:

    @task.short_circuit
    def check_request(distinct_id: str | None) -> bool:
        """Go on only with a distinct_id (a run triggered with the defaults erases nothing)."""
        if distinct_id and distinct_id.strip():
            return True
        log.info('No distinct_id given: nothing to erase. Trigger with {"distinct_id": "..."}')
        return False

    erase = PostHogDeleteRecordingsOperator(
        task_id="erase_recordings",
        posthog_conn_id="posthog_default",
        # `or ''`: a missing id renders as "" (nothing to delete: an error), never as "None"
        distinct_ids="{{ params.distinct_id or '' }}",
        max_deletions="{{ params.max_deletions }}",
        deferrable=True,
        pool="posthog_api",
        # A killed worker fails the try: the next lists the person's recordings again and
        # deletes what is left (README: "Crash recovery").
        retries=2,
        retry_delay=timedelta(minutes=5),
    )

    @task
    def report(manifest: dict[str, Any], distinct_id: str) -> dict[str, Any]:
        """Log the erasure's counts (the evidence to keep); return them without ids.

        Fails (without retries) when the person had no recording at all: a mistyped id
        looks exactly like that, and must not pass as a done erasure.
        """
        if not manifest.get("requested"):
            raise AirflowFailException(
                f"No recording of distinct id {distinct_id!r} in PostHog: nothing was erased. "
                "Check the id (PostHog: Persons, the person, Distinct IDs) and trigger again; "
                "if this person really has no recording, there is nothing to erase."
            )
        counts = {
            key: manifest.get(key, 0)
            for key in ("requested", "deleted", "already_gone", "failed", "remaining")
        }
        log.info(
            "Erasure done: %(requested)d recordings found, %(deleted)d deleted, "
            "%(already_gone)d already gone, %(failed)d failed, %(remaining)d remaining",
            counts,
        )
        return counts

    check_request("{{ params.distinct_id or '' }}") >> erase
    report(erase.output, "{{ params.distinct_id or '' }}")
