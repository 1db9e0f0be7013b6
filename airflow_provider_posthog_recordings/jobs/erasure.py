"""Erasure: delete given recordings, or every recording of some people (no Airflow import).

For a person, the recordings are listed over a window reaching back past PostHog's longest
retention (5 years), deleted with exact accounting, and listed again to prove none is left.
Like the purge, a run that must wait long for the key's budget returns a small state and is
carried on later without deleting or reporting anything twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import (
    PostHogBudgetWait,
    PostHogConfigError,
    PostHogError,
)
from airflow_provider_posthog_recordings.client.http.batching import chunked
from airflow_provider_posthog_recordings.client.query import RecordingsQuery, widest_window_start
from airflow_provider_posthog_recordings.jobs.deletion import (
    DEFAULT_MANIFEST_IDS,
    GROUP_SIZE,
    DeletionLedger,
    DeletionRecord,
    JobOutcome,
    Progress,
    add_run_totals,
    check_deletion_cap,
    delete_group,
    run_leg,
)

log = logging.getLogger(__name__)


@dataclass
class ErasureSettings:
    """What to erase.

    :ivar recording_ids: these recordings.
    :ivar distinct_ids: and every recording of these distinct ids.
    :ivar report_only: report what would be deleted, delete nothing.
    :ivar max_deletions: refuse to delete anything when more would go (None: no cap).
    :ivar manifest_ids: how many ids the manifest lists at most.
    :ivar record: where to write every deleted id (None: no durable record).
    """

    recording_ids: Sequence[str] = ()
    distinct_ids: Sequence[str] = ()
    report_only: bool = False
    max_deletions: int | None = 1000
    manifest_ids: int = DEFAULT_MANIFEST_IDS
    record: DeletionRecord | None = None

    def policy_description(self) -> dict[str, Any]:
        """The request in a few JSON-able fields (for the durable record)."""
        return {
            "erasure": True,
            "distinct_ids": list(self.distinct_ids),
            "recording_ids": len(self.recording_ids),
        }


def person_recording_ids(client: PostHogClient, distinct_ids: Sequence[str]) -> list[str]:
    """Every recording of these people that PostHog can still hold, up to now."""
    query = RecordingsQuery(distinct_ids=list(distinct_ids), date_from=widest_window_start())
    return [recording.id for recording in client.iter_recordings(query)]


def run(
    client: PostHogClient, settings: ErasureSettings, state: dict[str, Any] | None = None
) -> JobOutcome:
    """Run one leg of an erasure; return its manifest, or the state to carry on from.

    :raises PostHogConfigError: nothing to delete, or more than ``max_deletions``.
    :raises PostHogError: some recordings could not be deleted, or some are left afterwards.
    """
    outcome, requests = run_leg(client, state, lambda: _run(client, settings, state))
    if outcome.state is None and not outcome.manifest.get("report_only"):
        outcome.manifest["requests"] = requests
    return outcome


def _run(
    client: PostHogClient, settings: ErasureSettings, state: dict[str, Any] | None
) -> JobOutcome:
    people = list(settings.distinct_ids)
    leg = int((state or {}).get("leg", 0)) + 1
    if settings.record is not None:
        settings.record.leg = leg
        try:
            # Before new work: what a killed leg or try left in flight (one look per group).
            settings.record.recover(client.recordings.existing_recording_ids)
        except PostHogBudgetWait as wait:
            return JobOutcome({"paused": True}, wait.wait_seconds, dict(state or {"leg": leg - 1}))
    if not state or "manifest" not in state:
        earlier = settings.record.totals() if settings.record is not None else None
        ids = list(dict.fromkeys(settings.recording_ids))
        if not ids and not people:
            raise PostHogConfigError("nothing to delete: recording_ids and distinct_ids are empty")
        try:
            if people:
                found = person_recording_ids(client, people)
                log.info("Found %d recordings of %d distinct ids", len(found), len(people))
                ids = list(dict.fromkeys([*ids, *found]))
        except PostHogBudgetWait as wait:
            # Nothing deleted yet: the next leg lists again.
            return JobOutcome({"paused": True}, wait.wait_seconds, {"leg": leg})
        if earlier is not None and earlier.done:
            # A retried try: what earlier tries settled is not asked again (nor counted twice).
            ids = [rid for rid in ids if rid not in earlier.done]
            log.info("Earlier tries of this run settled %d recordings", len(earlier.done))
        check_deletion_cap(len(ids), settings.max_deletions, "the erasure")
        manifest: dict[str, Any] = {"report_only": settings.report_only, "requested": len(ids)}
        if earlier is not None:
            manifest["earlier_tries"] = earlier.counts()
        if settings.report_only:
            log.info("Report-only run: would delete %d recordings", len(ids))
            manifest["would_delete_ids"] = ids[: settings.manifest_ids]
            return JobOutcome(manifest)
        ledger = DeletionLedger(manifest_ids=settings.manifest_ids)
        pending = ids
    else:
        manifest = dict(state["manifest"])
        ledger = DeletionLedger.from_state(state["ledger"])
        pending = list(state["pending"])
        log.info("Resuming the erasure (leg %d): %d recordings to go", leg, len(pending))
    progress = Progress(manifest["requested"], ledger.settled)
    for offset, group in enumerate(chunked(pending, GROUP_SIZE)):
        result = delete_group(client, group, ledger=ledger, record=settings.record)
        progress.update(ledger)
        if result.unsent:
            rest = pending[(offset + 1) * GROUP_SIZE :]
            carried = {
                "leg": leg,
                "manifest": manifest,
                "ledger": ledger.to_state(),
                "pending": [*result.unsent, *rest],
            }
            return JobOutcome(
                {"paused": True},
                result.wait_seconds or 0.0,
                carried,
                settled=ledger.settled,
                planned=manifest["requested"],
            )
    manifest.update(ledger.summary())
    manifest["legs"] = leg
    add_run_totals(manifest, settings.record)
    if people:
        with client.sleeping_through_waits():
            left = person_recording_ids(client, people)
        manifest["remaining"] = len(left)
        if left:
            raise PostHogError(
                f"{len(left)} recordings of {people} are still there after deletion "
                f"(e.g. {left[:5]}); rerun the task"
            )
    if ledger.failed:
        raise PostHogError(f"{ledger.failed} recordings could not be deleted: {ledger.failed_ids}")
    log.info("Deleted %d recordings (%d already gone)", ledger.deleted, ledger.already_gone)
    return JobOutcome(manifest)
