"""The retention purge: delete recordings older than a cutoff, keeping protected ones.

Everything about how the purge decides and acts is here (no Airflow import):

1. **Protection.** The recordings of named playlists (and of every pinned one) are read first.
   PostHog's items endpoint ignores paging, so what was read is compared with PostHog's own
   count; when a collection cannot be read whole, each candidate's playlists are asked for
   instead (``session_recording_id``). A candidate is never deleted on a guess.
2. **Plan.** The window ``[cutoff - 5 years, cutoff]`` is listed oldest first (never PostHog's
   silent 3-day default) and the pure :class:`RetentionPolicy` decides each recording. Ids to
   delete go to a spill file, so memory stays flat, and then, once, to the run's plan store
   (:mod:`.purge_plan`: a folder, or the task's XCom up to 20,000 candidates) for every later
   leg. ``apply_plan`` applies a plan written before (a reviewed report-only run's) instead of
   making one: only its ids are deleted.
3. **Cap and budget.** More candidates than ``max_deletions`` (a typo guard) refuses the run
   before anything is deleted. ``max_deletions_per_run`` deletes only the oldest N; the rest is
   the ``backlog`` that later runs take (the cutoff is fixed by the run's data interval and
   the plan is made again from PostHog each run).
4. **Delete** in groups of 500 with exact accounting (see :mod:`..recording_deletion`), each
   group written ahead to the durable record when one is given (its intent before the first
   request, its outcome after: :class:`~.deletion.DeletionRecord`). Every leg first settles
   what a killed leg or try left in flight (one existence check per group); a retried try
   (``continue_run``) carries on the plan an earlier try wrote, with its cutoff, skipping
   what the record settled, and the manifest gives the run's totals over every try. Just
   before, each id is checked again (:class:`Recheck`): the protection read in this leg, the
   planned start time against the cutoff, and the current fields the existence check reads
   anyway (ongoing, start time); what changed since the plan is counted (``changed_since_plan``).
5. **Pause.** When the key's budget would make the client wait longer than it may (a
   deferrable task), :func:`run` returns a small JSON-able state instead of waiting; called
   again with it, it carries on where it stopped, without deleting or reporting anything
   twice. With a written plan the state holds the ids held back and the position in the
   plan; without one (the fallback) the next ids to delete travel in the state and beyond
   them the listing resumes at their start time.

This module is longer than the others on purpose: it is the one place where the purge is
decided and carried out, so that a change to how it decides (the rule, protection, the
window) and how it runs within the budget (plan, pause, resume) is read and tested together.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.errors import PostHogBudgetWait, PostHogConfigError
from airflow_provider_posthog_recordings.client.models import (
    DeleteResult,
    Playlist,
    Recording,
    as_utc,
)
from airflow_provider_posthog_recordings.client.query import (
    LONGEST_RETENTION_DAYS,
    RecordingsQuery,
    encode_date,
)
from airflow_provider_posthog_recordings.jobs import archive
from airflow_provider_posthog_recordings.jobs.arguments import as_int
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
from airflow_provider_posthog_recordings.jobs.purge_plan import (
    PLAN_VERSION,
    Candidate,
    PlanMissingError,
    PlanStore,
    describe_candidate,
    new_plan_id,
)
from airflow_provider_posthog_recordings.jobs.retention import (
    Decision,
    KeepReason,
    PlanCounts,
    RetentionPolicy,
    compute_cutoff,
    validate_older_than_days,
)

log = logging.getLogger(__name__)

#: At most this many of the next ids to delete travel in a paused run's state.
PENDING_IN_STATE = 2000
#: While planning, waits up to this long (a minute's budget) are slept through.
PLANNING_MAX_WAIT = 90.0
#: The header fields a continued try takes into its plan.
PLAN_KEYS = (
    "exceeds_max_deletions",
    "report_only",
    "cutoff",
    "older_than_days",
    "listed",
    "kept",
    "kept_total",
    "protected_playlists",
    "candidates",
    "planned",
    "oldest_candidate",
    "newest_candidate",
    "plan_location",
    "plan_id",
)


# ---------------------------------------------------------------- settings


@dataclass
class PurgeSettings:
    """What to purge.

    :ivar older_than_days: delete recordings that started more than this many days before
        ``reference``.
    :ivar reference: the run's logical end (``data_interval_end``), aware.
    :ivar report_only: decide and report, delete nothing.
    :ivar max_deletions: the typo guard: when more recordings match the policy than this,
        refuse before deleting anything (None: no cap).
    :ivar max_deletions_per_run: the per-run budget: delete at most this many, oldest first,
        and leave the rest (the ``backlog``) to later runs (None: all).
    :ivar keep_playlists: names or short ids of playlists whose recordings are kept.
    :ivar keep_pinned: also keep recordings of every pinned playlist.
    :ivar keep_shared: keep recordings whose public sharing is enabled (one extra request per
        candidate).
    :ivar query: extra filters that narrow what the policy looks at.
    :ivar manifest_ids: how many deleted ids the manifest lists at most.
    :ivar page_size: recordings per list request (default: the client's).
    :ivar record: where to write every deleted id (None: no durable record).
    :ivar archive_path: archive each candidate there first and delete only the recordings
        whose archive was verified (None: no archive; see :mod:`.archive`).
    :ivar archive_gate: set by :func:`run` from ``archive_path``.
    :ivar plan_store: where the first leg writes the plan, for later legs to read instead of
        listing again (None, or a plan too large for the store: they list again).
    :ivar apply_plan: a plan written before (by a report-only run) to apply: only its ids are
        deleted, each checked again against the policy (None: make a plan now).
    :ivar continue_run: this is a later try of the run (a retry): when ``plan_store`` holds
        the plan an earlier try wrote, carry it on (its cutoff, its ids not yet settled in
        the record) instead of making a new one.
    :ivar group_size: ids per deletion group (one intent and one settle write each).
    """

    older_than_days: int | str
    reference: datetime
    report_only: bool = False
    max_deletions: int | None = 1000
    max_deletions_per_run: int | None = None
    keep_playlists: Sequence[str] = ()
    keep_pinned: bool = True
    keep_shared: bool = False
    query: RecordingsQuery | Mapping[str, Any] | None = None
    manifest_ids: int = DEFAULT_MANIFEST_IDS
    page_size: int | None = None
    record: DeletionRecord | None = None
    archive_path: Any = None
    archive_gate: archive.ArchiveGate | None = None
    plan_store: PlanStore | None = None
    apply_plan: PlanStore | None = None
    continue_run: bool = False
    group_size: int = GROUP_SIZE

    def policy_description(self) -> dict[str, Any]:
        """The policy in a few JSON-able fields (for the durable record)."""
        return {
            "older_than_days": self.older_than_days,
            "keep_playlists": list(self.keep_playlists),
            "keep_pinned": self.keep_pinned,
            "keep_shared": self.keep_shared,
            "query": RecordingsQuery.parse(self.query).to_params(),
        }


def check_settings(settings: PurgeSettings) -> datetime:
    """Refuse bad settings before any request is sent (numbers given as text are converted);
    return the cutoff.

    :raises PostHogConfigError: naming the setting.
    """
    days = validate_older_than_days(settings.older_than_days)
    settings.older_than_days = days
    for name in ("max_deletions", "max_deletions_per_run"):
        value = getattr(settings, name)
        if value is not None:
            setattr(settings, name, as_int(value, name))
    settings.manifest_ids = as_int(settings.manifest_ids, "manifest_ids")
    cutoff = compute_cutoff(settings.reference, days)
    purge_query(settings, cutoff)
    return cutoff


# ---------------------------------------------------------------- protection


@dataclass
class Protection:
    """The recordings that protected playlists hold.

    :ivar ids: the items read.
    :ivar names: the protected playlists, for the manifest.
    :ivar unread: short id -> label of protected collections that could not be read whole:
        for these, each candidate's playlists are asked for.
    """

    ids: frozenset[str] = frozenset()
    names: list[str] = field(default_factory=list)
    unread: dict[str, str] = field(default_factory=dict)

    def holds_by_lookup(self, client: PostHogClient, recording_id: str) -> bool:
        """Whether a protected collection that could not be read whole holds the recording."""
        if not self.unread:
            return False
        return any(p.short_id in self.unread for p in client.playlists_holding(recording_id))


def _label(playlist: Playlist) -> str:
    return f"{playlist.name or playlist.derived_name!r} ({playlist.short_id})"


def load_protection(
    client: PostHogClient, keep_playlists: Sequence[str], keep_pinned: bool
) -> Protection:
    """Read the protected playlists.

    :raises PostHogConfigError: a named playlist does not exist, or is a ``filters`` playlist
        (its recordings are a search, not a list that can be protected by id).
    """
    wanted = {name.strip() for name in keep_playlists if name and name.strip()}
    found: set[str] = set()
    protection = Protection()
    protected: set[str] = set()
    # System playlists too: "Shared recordings" can be protected by name.
    for playlist in client.iter_playlists(include_synthetic=True):
        named = wanted & {playlist.name or "", playlist.derived_name or "", playlist.short_id}
        if playlist.deleted or not (named or (keep_pinned and playlist.pinned)):
            continue
        found.update(named)
        if not playlist.is_collection:
            if named:
                raise PostHogConfigError(
                    f"playlist {_label(playlist)} is a saved search ('filters' type): its "
                    "recordings cannot be protected by id; exclude them with the query instead"
                )
            log.warning("Pinned playlist %s is a saved search; not protecting it", _label(playlist))
            continue
        items = client.read_collection(playlist)
        protected.update(items.ids)
        protection.names.append(playlist.name or playlist.short_id)
        if items.complete:
            log.info("Protecting %d recordings of playlist %s", len(items.ids), _label(playlist))
        else:
            protection.unread[playlist.short_id] = _label(playlist)
            log.warning(
                "Playlist %s: PostHog listed %d of its %s items; each recording to delete will "
                "be checked against it (one request each)",
                _label(playlist),
                len(items.ids),
                items.expected if items.expected is not None else "unknown number of",
            )
    missing = wanted - found
    if missing:
        raise PostHogConfigError(
            f"keep_playlists names playlists that do not exist: {sorted(missing)} (nothing was "
            "deleted; check the names or short ids)"
        )
    protection.ids = frozenset(protected)
    return protection


# ---------------------------------------------------------------- listing


def purge_query(
    settings: PurgeSettings, cutoff: datetime, start: datetime | None = None
) -> RecordingsQuery:
    """The list query of a purge: the user's filters, an explicit window ending at the cutoff,
    oldest first (so that a per-run budget takes the oldest).

    :param start: list from here instead of the window's start (a paused run resuming).
    """
    base = RecordingsQuery.parse(settings.query)
    if base.session_ids:
        raise PostHogConfigError(
            "a purge query cannot use session_ids (PostHog ignores the date window with them); "
            "delete explicit ids with PostHogDeleteRecordingsOperator"
        )
    if base.date_to is not None and not isinstance(base.date_to, datetime):
        raise PostHogConfigError(
            f"a purge query's date_to must be an ISO datetime, not {base.date_to!r}: the window "
            "always ends at the cutoff, or earlier when date_to says so"
        )
    if base.order not in (None, "start_time"):
        raise PostHogConfigError(
            "a purge lists oldest first (order=start_time); remove 'order' from its query"
        )
    earliest = cutoff - timedelta(days=LONGEST_RETENTION_DAYS)
    date_from: Any = base.date_from or encode_date(earliest)
    if start is not None:
        date_from = encode_date(start)
    date_to = encode_date(cutoff)
    if isinstance(base.date_to, datetime) and base.date_to < cutoff:
        date_to = encode_date(base.date_to)
    update = {
        "date_from": date_from,
        "date_to": date_to,
        "order": "start_time",
        "order_direction": "ASC",
    }
    return base.model_copy(update=update)


class _Spill:
    """Candidates on disk rather than in memory, in listing order."""

    def __init__(self) -> None:
        self.handle: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.count = 0

    def add(self, candidate: Candidate) -> None:
        self.handle.write("\t".join(candidate) + "\n")
        self.count += 1

    def __iter__(self) -> Iterator[Candidate]:
        self.handle.flush()
        self.handle.seek(0)
        for line in self.handle:
            rid, _, start = line.rstrip("\n").partition("\t")
            if rid:
                yield rid, start

    def close(self) -> None:
        self.handle.close()


class _Lister:
    """Lists the purge window and decides each recording."""

    def __init__(self, client: PostHogClient, settings: PurgeSettings, cutoff: datetime) -> None:
        self.client = client
        self.settings = settings
        self.cutoff = cutoff
        self.protection = Protection()

    def candidates(
        self, counts: PlanCounts | None, start: datetime | None = None
    ) -> Iterator[Candidate]:
        """Yield the recordings to delete, oldest first, counting into ``counts``."""
        protection = load_protection(
            self.client, self.settings.keep_playlists, self.settings.keep_pinned
        )
        self.protection = protection
        policy = RetentionPolicy(
            cutoff=self.cutoff, protected_ids=protection.ids, keep_shared=self.settings.keep_shared
        )
        pages = self.client.iter_recording_pages(
            purge_query(self.settings, self.cutoff, start), self.settings.page_size, prefetch=True
        )
        for page_number, page in enumerate(pages, start=1):
            for recording in page:
                decision = self._decide(policy, protection, recording)
                if counts is not None:
                    counts.add(decision)
                if decision.delete and recording.start_time is not None:
                    yield recording.id, recording.start_time.isoformat()
            if counts is not None:
                log.info(
                    "Listed page %d: %d recordings so far, %d to delete",
                    page_number,
                    counts.listed,
                    counts.candidates,
                )

    def _decide(
        self, policy: RetentionPolicy, protection: Protection, recording: Recording
    ) -> Decision:
        if not policy.decide(recording, shared=False).delete:
            return policy.decide(recording)  # kept for a reason that needs no request
        shared = self.client.get_sharing(recording.id).enabled if policy.keep_shared else None
        protected = protection.holds_by_lookup(self.client, recording.id)
        return policy.decide(recording, shared=shared, protected=protected)


# ---------------------------------------------------------------- running


def run(
    client: PostHogClient, settings: PurgeSettings, state: dict[str, Any] | None = None
) -> JobOutcome:
    """Run one leg of a purge: the whole purge, or until the budget makes it pause.

    :param client: the PostHog client (its ``max_budget_wait`` decides when to pause).
    :param settings: what to purge.
    :param state: the state of the paused leg before, to carry on from.

    :raises PostHogConfigError: bad settings, an unknown protected playlist, or more candidates
        than ``max_deletions`` (in which case nothing was deleted).
    """
    state = dict(state or {})
    settings.reference = carried_reference(state, settings.reference)
    cutoff = check_settings(settings)
    leg = int(state.get("leg", 0)) + 1
    if settings.record is not None:
        settings.record.leg = leg
        settings.record.cutoff = cutoff.isoformat()
        settings.record.policy = settings.policy_description()
    gate = archive.purge_gate(settings.archive_path, state.get("archive"), settings.manifest_ids)
    settings.archive_gate = gate

    def one_leg() -> JobOutcome:
        try:
            earlier = _settle_earlier(client, settings, state)
            if "plan" in state:
                return _resume(client, settings, cutoff, state, leg)
            if settings.apply_plan is not None:
                return _apply(client, settings, cutoff, leg, earlier)
            carried_on = _continue(client, settings, leg, earlier)
            if carried_on is not None:
                return carried_on
            return _plan_and_delete(client, settings, cutoff, leg, earlier)
        except PostHogBudgetWait as wait:
            # Before anything was deleted in this leg: start the leg again after the wait.
            log.info(
                "The key's budget is spent before this leg could delete; starting the leg "
                "again in %.0f s",
                wait.wait_seconds,
            )
            again = {**state, "leg": leg} if "plan" in state else {"leg": leg}
            return JobOutcome({"paused": True}, wait.wait_seconds, again)

    # The archive's counts go into the state before the progress line reads them.
    outcome, requests = run_leg(client, state, lambda: archive.finish_purge_leg(gate, one_leg()))
    if outcome.state is None:
        outcome.manifest["requests"] = requests
        add_run_totals(outcome.manifest, settings.record)
    else:
        outcome.state["reference"] = as_utc(settings.reference).isoformat()
    return outcome


def _settle_earlier(
    client: PostHogClient, settings: PurgeSettings, state: Mapping[str, Any]
) -> dict[str, int] | None:
    """Before new work: settle what earlier legs and tries left unsettled in the record (one
    existence check per group), and, in a try's first leg, read what the earlier tries
    settled (None without a record, or in a later leg: the plan carries it)."""
    record = settings.record
    if record is None:
        return None
    recovered = record.recover(client.recordings.existing_recording_ids)
    if recovered:
        log.warning("%d recordings an earlier leg or try deleted are now in the record", recovered)
    if "plan" in state:
        return None
    totals = record.totals()
    counts = totals.counts()
    if totals.outcomes:
        log.info(
            "Earlier tries of this run settled %d recordings (%s): they are not taken again",
            len(totals.outcomes),
            counts,
        )
    return counts


def _continue(
    client: PostHogClient,
    settings: PurgeSettings,
    leg: int,
    earlier: dict[str, int] | None,
) -> JobOutcome | None:
    """A retried try carrying on the plan an earlier try of the run wrote (None when there
    is none to carry on: the try plans afresh)."""
    store = settings.plan_store
    if not settings.continue_run or store is None or settings.report_only:
        return None
    try:
        header = store.read_header()
    except (PostHogConfigError, FileNotFoundError, ValueError):  # ValueError: cut short
        if any((earlier or {}).values()) and not store.location.startswith("xcom:"):
            log.warning(
                "Earlier tries of this run deleted recordings (%s), but no plan is readable at "
                "%s, where the first try writes it: was it written on another host's disk? "
                "Planning afresh (same cutoff; what was deleted is not listed again). Keep "
                "plan_path on storage every worker reads (s3://..., or a shared mount)",
                earlier,
                store.location,
            )
        else:
            log.info("No plan of an earlier try at %s: planning afresh", store.location)
        return None
    if header.get("report_only"):
        return None
    cutoff = as_utc(datetime.fromisoformat(header["cutoff"]))
    settings.reference = as_utc(datetime.fromisoformat(header["reference"]))
    if settings.record is not None:
        settings.record.cutoff = cutoff.isoformat()
    plan = {key: value for key, value in header.items() if key in PLAN_KEYS}
    plan.update(continued=True, earlier_tries=earlier, plan_location=store.location)
    log.info(
        "Carrying on the plan an earlier try wrote at %s (cutoff %s, %d planned)",
        store.location,
        plan["cutoff"],
        plan["planned"],
    )
    recheck = _recheck_for_leg(client, settings, cutoff, plan)
    plan["protected_playlists"] = recheck.protection.names
    ledger = DeletionLedger(manifest_ids=settings.manifest_ids)
    cursor = PlanCursor(store.read_candidates(0))
    source = _not_done(settings, itertools.islice(cursor, int(plan["planned"])))
    return _delete(client, settings, cutoff, plan, ledger, source, leg, recheck, cursor)


def _not_done(settings: PurgeSettings, candidates: Iterable[Candidate]) -> Iterator[Candidate]:
    """The candidates the run's record has not settled for good (a continued run)."""
    done = settings.record.totals(before_this_try=False).done if settings.record else set()
    return (candidate for candidate in candidates if candidate[0] not in done)


def carried_reference(state: Mapping[str, Any] | None, reference: datetime) -> datetime:
    """The run's reference instant: the one the first leg used, when ``state`` carries it.

    Every leg of a run decides with the first leg's cutoff, whatever the clock or the
    context says when it resumes (a resumed leg that took a later cutoff could delete
    recordings younger than the cutoff the manifest reports).
    """
    carried = (state or {}).get("reference")
    if carried is None:
        return as_utc(reference)
    fixed = as_utc(datetime.fromisoformat(str(carried)))
    if fixed != as_utc(reference):
        log.info("Resumed leg keeps the run's reference %s (not %s)", fixed, reference)
    return fixed


# ---------------------------------------------------------------- the plan, made once


def _plan_and_delete(
    client: PostHogClient,
    settings: PurgeSettings,
    cutoff: datetime,
    leg: int,
    earlier: dict[str, int] | None = None,
) -> JobOutcome:
    log.info(
        "Retention purge: recordings that started before %s (%d days before %s)%s",
        cutoff.isoformat(),
        settings.older_than_days,
        settings.reference.isoformat(),
        " [report-only run]" if settings.report_only else "",
    )
    spill = _Spill()
    try:
        lister = _Lister(client, settings, cutoff)
        plan = _make_plan(lister, settings, spill)
        _write_plan(settings, plan, spill)
        plan["earlier_tries"] = earlier
        planned = plan["planned"]
        if settings.report_only:
            return JobOutcome(_report_only_manifest(plan, spill, settings, leg))
        ledger = DeletionLedger(manifest_ids=settings.manifest_ids)
        policy = RetentionPolicy(cutoff, lister.protection.ids, settings.keep_shared)
        # The plan was made just now: what needed a request per recording was asked already.
        recheck = Recheck(policy, lister.protection, lookups=False)
        # Without a written plan, a later leg lists again (the cursor is for a written one).
        cursor = PlanCursor(iter(spill)) if plan["plan_location"] else None
        source = itertools.islice(cursor or iter(spill), planned)
        return _delete(client, settings, cutoff, plan, ledger, source, leg, recheck, cursor)
    finally:
        spill.close()


def _make_plan(lister: _Lister, settings: PurgeSettings, spill: _Spill) -> dict[str, Any]:
    """List the window into ``spill`` and return the plan's header (counts, policy, cutoff).

    :raises PostHogConfigError: a real run with more candidates than ``max_deletions``.
    """
    counts = PlanCounts()
    oldest: Candidate | None = None
    newest: Candidate | None = None
    # A plan that paused would start again from its first page: one that needs more than
    # a minute's budget would never finish. Waits for the hour still pause it.
    with lister.client.sleeping_through_waits(up_to=PLANNING_MAX_WAIT):
        for candidate in lister.candidates(counts):
            spill.add(candidate)
            oldest = oldest or candidate
            newest = candidate
    planned = counts.candidates
    if settings.max_deletions_per_run is not None:
        planned = min(planned, settings.max_deletions_per_run)
    log.info(
        "Plan: %d listed, %d to delete (%d this run, %d left for later runs), kept %s",
        counts.listed,
        counts.candidates,
        planned,
        counts.candidates - planned,
        dict(counts.kept) or "none",
    )
    max_deletions = settings.max_deletions
    over_cap = max_deletions is not None and counts.candidates > max_deletions
    if not settings.report_only:
        check_deletion_cap(counts.candidates, max_deletions, "the retention policy")
    elif over_cap:
        log.warning(
            "Report-only run: %d recordings would go, more than max_deletions=%s: a real "
            "run with this cap would stop before deleting anything",
            counts.candidates,
            max_deletions,
        )
    return {
        "exceeds_max_deletions": over_cap,
        "report_only": settings.report_only,
        "cutoff": lister.cutoff.isoformat(),
        "older_than_days": settings.older_than_days,
        "listed": counts.listed,
        "kept": dict(counts.kept),
        "kept_total": sum(counts.kept.values()),
        "protected_playlists": lister.protection.names,
        "candidates": counts.candidates,
        "planned": planned,
        "oldest_candidate": describe_candidate(oldest),
        "newest_candidate": describe_candidate(newest),
        "plan_location": None,
    }


def _write_plan(settings: PurgeSettings, plan: dict[str, Any], spill: _Spill) -> None:
    """Write the plan to its store once, when there is one and the plan fits in it.

    Sets ``plan_location`` and ``plan_id``; a plan not written leaves later legs to list
    again from where they stop (the fallback).
    """
    store = settings.plan_store
    if store is None:
        return
    if store.max_candidates is not None and spill.count > store.max_candidates:
        log.warning(
            "The plan has %d candidates, more than %s can hold (%d): not written; resumed "
            "legs list the window again from where they stop. Give a plan_path to keep it.",
            spill.count,
            store.location,
            store.max_candidates,
        )
        return
    plan["plan_id"] = new_plan_id()
    plan["plan_location"] = store.location
    header = {
        **plan,
        "version": PLAN_VERSION,
        "reference": as_utc(settings.reference).isoformat(),
        "policy": settings.policy_description(),
        "created_at": datetime.now(timezone.utc).isoformat(),
    }
    store.write(header, spill)
    log.info("Plan of %d candidates written to %s", spill.count, store.location)


def _report_only_manifest(
    plan: dict[str, Any], spill: _Spill, settings: PurgeSettings, leg: int
) -> dict[str, Any]:
    planned = plan["planned"]
    sample = [rid for rid, _ in itertools.islice(spill, min(planned, settings.manifest_ids))]
    return {
        **plan,
        "backlog": plan["candidates"] - planned,
        "deleted": 0,
        "already_gone": 0,
        "failed": 0,
        "would_delete_ids": sample,
        "ids_truncated": planned > len(sample),
        "legs": leg,
    }


# ---------------------------------------------------------------- applying a plan


def _apply(
    client: PostHogClient,
    settings: PurgeSettings,
    cutoff: datetime,
    leg: int,
    earlier: dict[str, int] | None = None,
) -> JobOutcome:
    """The first leg of a run that applies a reviewed plan: only its ids, each checked again.

    The cutoff is the plan's (or the run's own, when earlier); the playlists protected are
    the plan's and the run's together.
    """
    store = settings.apply_plan
    assert store is not None
    if settings.report_only:
        raise PostHogConfigError("apply_plan applies a plan: use it with report_only=False")
    header = store.read_header()
    cutoff = min(cutoff, as_utc(datetime.fromisoformat(header["cutoff"])))
    check_deletion_cap(header["candidates"], settings.max_deletions, "the plan to apply")
    planned = header["candidates"]
    if settings.max_deletions_per_run is not None:
        planned = min(planned, settings.max_deletions_per_run)
    plan = {
        key: header.get(key)
        for key in ("older_than_days", "listed", "kept", "kept_total", "candidates", "plan_id")
    }
    plan.update(
        exceeds_max_deletions=False,
        report_only=False,
        cutoff=cutoff.isoformat(),
        planned=planned,
        oldest_candidate=header.get("oldest_candidate"),
        newest_candidate=header.get("newest_candidate"),
        plan_location=store.location,
        applied_plan=store.location,
        plan_policy=header.get("policy"),
        earlier_tries=earlier,
    )
    log.info(
        "Applying the plan at %s (made %s): %d candidates, %d this run, cutoff %s",
        store.location,
        header.get("created_at"),
        header["candidates"],
        planned,
        plan["cutoff"],
    )
    recheck = _recheck_for_leg(client, settings, cutoff, plan)
    plan["protected_playlists"] = recheck.protection.names
    ledger = DeletionLedger(manifest_ids=settings.manifest_ids)
    cursor = PlanCursor(store.read_candidates(0))
    source = _not_done(settings, itertools.islice(cursor, planned))
    return _delete(client, settings, cutoff, plan, ledger, source, leg, recheck, cursor)


def _protection_settings(settings: PurgeSettings, plan: Mapping[str, Any]) -> PurgeSettings:
    """The settings whose playlists are protected: the run's, plus the applied plan's."""
    policy = plan.get("plan_policy") or {}
    names = list(dict.fromkeys([*settings.keep_playlists, *policy.get("keep_playlists", [])]))
    return replace(
        settings,
        keep_playlists=names,
        keep_pinned=settings.keep_pinned or bool(policy.get("keep_pinned")),
        keep_shared=settings.keep_shared or bool(policy.get("keep_shared")),
    )


def _recheck_for_leg(
    client: PostHogClient, settings: PurgeSettings, cutoff: datetime, plan: Mapping[str, Any]
) -> Recheck:
    """Read the protected playlists again for this leg, and the policy to check each id with."""
    protecting = _protection_settings(settings, plan)
    with client.sleeping_through_waits(up_to=PLANNING_MAX_WAIT):
        protection = load_protection(client, protecting.keep_playlists, protecting.keep_pinned)
    policy = RetentionPolicy(cutoff, protection.ids, protecting.keep_shared)
    return Recheck(policy, protection, lookups=True)


# ---------------------------------------------------------------- checking again


#: Why a planned recording is kept when checked again just before it is deleted.
CHANGED_REASONS = {
    KeepReason.PROTECTED_PLAYLIST: "now_protected",
    KeepReason.ONGOING: "now_ongoing",
    KeepReason.NEWER_THAN_CUTOFF: "now_newer_than_cutoff",
    KeepReason.NO_START_TIME: "now_no_start_time",
    KeepReason.SHARED: "now_shared",
}


@dataclass
class Recheck:
    """The policy checked again just before each planned recording is deleted.

    Free checks first: the protected playlists as read in this leg, and the planned start
    time against the cutoff. Then, where the existence check before a group reads them
    anyway (bulk deletes refused), the recording's current fields: start time, ongoing,
    protection. With ``lookups`` (a plan made in an earlier leg or run), what needs a request
    per recording is asked again: its sharing (``keep_shared``) and the protected collections
    that cannot be read whole.

    :param policy: the rule, with the cutoff and this leg's protected ids.
    :param protection: the protected playlists as read in this leg.
    :param lookups: ask PostHog again about each recording where the rule needs it.
    """

    policy: RetentionPolicy
    protection: Protection
    lookups: bool

    def split(
        self, client: PostHogClient, group: Sequence[Candidate], ledger: DeletionLedger
    ) -> tuple[list[str], DeleteResult]:
        """The ids of ``group`` to send, and what was decided without sending (the kept ones
        are counted in ``ledger``; every id is unsent when a lookup had to wait)."""
        kept: dict[str, str] = {}
        try:
            for rid, start in group:
                reason = self._planned(rid, start) or self._looked_up(client, rid)
                if reason is not None:
                    kept[rid] = reason
        except PostHogBudgetWait as wait:
            return [], DeleteResult(
                unsent=[rid for rid, _ in group], wait_seconds=wait.wait_seconds
            )
        for reason in kept.values():
            ledger.keep(reason)
        return [rid for rid, _ in group if rid not in kept], DeleteResult(kept=kept)

    def current(self, recording: Recording) -> str | None:
        """The check on a recording's current fields (the client calls it; no request)."""
        decision = self.policy.decide(recording, shared=False)
        return (
            None if decision.delete or decision.reason is None else CHANGED_REASONS[decision.reason]
        )

    def _planned(self, rid: str, start: str) -> str | None:
        if rid in self.policy.protected_ids:
            return CHANGED_REASONS[KeepReason.PROTECTED_PLAYLIST]
        if as_utc(datetime.fromisoformat(start)) >= self.policy.cutoff:
            return CHANGED_REASONS[KeepReason.NEWER_THAN_CUTOFF]
        return None

    def _looked_up(self, client: PostHogClient, rid: str) -> str | None:
        if not self.lookups:
            return None
        if self.policy.keep_shared and client.get_sharing(rid).enabled is not False:
            return CHANGED_REASONS[KeepReason.SHARED]
        if self.protection.holds_by_lookup(client, rid):
            return CHANGED_REASONS[KeepReason.PROTECTED_PLAYLIST]
        return None


class PlanCursor:
    """Candidates read from a plan, counting how many were taken (where a leg stopped).

    :param candidates: the plan's candidates from ``position`` on.
    :param position: how many of the plan's candidates came before them.
    """

    def __init__(self, candidates: Iterable[Candidate], position: int = 0) -> None:
        self._candidates = iter(candidates)
        self.position = position

    def __iter__(self) -> Iterator[Candidate]:
        return self

    def __next__(self) -> Candidate:
        candidate = next(self._candidates)
        self.position += 1
        return candidate


# ---------------------------------------------------------------- resuming


def _resume(
    client: PostHogClient,
    settings: PurgeSettings,
    cutoff: datetime,
    state: dict[str, Any],
    leg: int,
) -> JobOutcome:
    plan: dict[str, Any] = state["plan"]
    cutoff = min(cutoff, as_utc(datetime.fromisoformat(plan["cutoff"])))
    ledger = DeletionLedger.from_state(state["ledger"])
    pending: list[Candidate] = [(rid, start) for rid, start in state.get("pending", [])]
    remaining = max(0, plan["planned"] - ledger.settled)
    log.info(
        "Resuming the purge (leg %d): %d of %d planned deletions settled, %d to go",
        leg,
        ledger.settled,
        plan["planned"],
        remaining,
    )
    if plan.get("plan_location") is None:
        return _resume_by_listing(client, settings, cutoff, state, leg, ledger, pending)
    store = _plan_store_of(settings, plan)
    recheck = _recheck_for_leg(client, settings, cutoff, plan)
    position = int(state["position"])
    cursor = PlanCursor(store.read_candidates(position), position)
    if plan.get("continued") or any((plan.get("earlier_tries") or {}).values()):
        # Earlier tries settled ids anywhere in the plan: bound by position, skip those.
        rest = _not_done(settings, itertools.islice(cursor, max(0, plan["planned"] - position)))
        source: Iterator[Candidate] = itertools.chain(pending, rest)
    else:
        source = itertools.islice(itertools.chain(pending, cursor), remaining)
    return _delete(client, settings, cutoff, plan, ledger, source, leg, recheck, cursor)


def _plan_store_of(settings: PurgeSettings, plan: Mapping[str, Any]) -> PlanStore:
    """The store holding the run's plan (the same one its first leg wrote or applied)."""
    for store in (settings.apply_plan, settings.plan_store):
        if store is not None and store.location == plan["plan_location"]:
            try:
                header = store.read_header()
            except PlanMissingError:
                raise PostHogConfigError(
                    f"the run's plan was written at {store.location} by an earlier leg, and it "
                    "is not readable here: that leg may have run on another host, whose disk "
                    "this worker cannot read. Nothing more was deleted. Keep plans (plan_path, "
                    "deletion_record_path, archive_path) where every worker reads them: object "
                    "storage such as s3://bucket/posthog, or a mount every worker shares "
                    "(declared with shared_storage=True)"
                ) from None
            if header.get("plan_id") != plan.get("plan_id"):
                raise PostHogConfigError(
                    f"the plan at {store.location} is not the one this run started with (it "
                    "was written again since): nothing more was deleted; rerun the task"
                )
            return store
    raise PostHogConfigError(
        f"this run's plan is at {plan['plan_location']}, which the task no longer gives: "
        "nothing more was deleted; rerun the task"
    )


def _resume_by_listing(
    client: PostHogClient,
    settings: PurgeSettings,
    cutoff: datetime,
    state: dict[str, Any],
    leg: int,
    ledger: DeletionLedger,
    pending: list[Candidate],
) -> JobOutcome:
    """The fallback, for a plan that was not written: the pending ids, then the window
    listed again from where they end."""
    plan: dict[str, Any] = state["plan"]
    # Deleted and already-gone recordings are not listed again; failed ones and the pending
    # ones (deleted below, before the listing resumes) are skipped.
    skip = {rid for rid, _ in pending} | set(ledger.failed_ids)
    resume_from = state.get("resume_from")
    lister = _Lister(client, settings, cutoff)

    def more() -> Iterator[Candidate]:
        if resume_from is None:
            return
        start = datetime.fromisoformat(resume_from)
        for candidate in lister.candidates(None, start):
            if candidate[0] not in skip:
                yield candidate

    remaining = max(0, plan["planned"] - ledger.settled)
    source = itertools.islice(itertools.chain(pending, more()), remaining)
    policy = RetentionPolicy(cutoff, frozenset(), settings.keep_shared)
    # The listing decides with this leg's protection; the pending ids are checked by their
    # current fields (with single deletes) and their start time.
    recheck = Recheck(policy, lister.protection, lookups=False)
    return _delete(client, settings, cutoff, plan, ledger, source, leg, recheck, None, resume_from)


# ---------------------------------------------------------------- deleting


def _delete(
    client: PostHogClient,
    settings: PurgeSettings,
    cutoff: datetime,
    plan: dict[str, Any],
    ledger: DeletionLedger,
    source: Iterator[Candidate],
    leg: int,
    recheck: Recheck,
    cursor: PlanCursor | None = None,
    resume_from: str | None = None,
) -> JobOutcome:
    window_start = purge_query(settings, cutoff).date_from
    progress = Progress(plan["planned"], ledger.settled)
    while True:
        group, listing_wait = _next_group(source, settings.group_size)
        if group:
            resume_from = group[-1][1]
            ids, decided = recheck.split(client, group, ledger)
            passed = archive.archive_first(client, settings.archive_gate, ids, settings.record)
            not_archived = len(ids) - len(passed.verified) - len(passed.waiting)
            if not_archived:  # kept, and settled: a later leg must not take more instead
                ledger.keep("not_archived", not_archived)
            result = delete_group(
                client,
                passed.verified,
                ledger=ledger,
                record=settings.record,
                date_from=window_start,
                keep=recheck.current,
            )
            passed.settle(result)
            result.absorb(decided)
            progress.update(ledger)
            unsent = result.unsent
            wait = result.wait_seconds
        else:
            unsent, wait = [], None
        if unsent or listing_wait is not None:
            wait = max(wait or 0.0, listing_wait or 0.0)
            unsent_set = set(unsent)
            held = [candidate for candidate in group if candidate[0] in unsent_set]
            if cursor is not None:
                state = _plan_pause_state(plan, ledger, held, cursor, leg)
            else:
                stopped_at = None if listing_wait is None else resume_from
                state = _pause_state(plan, ledger, group, held, source, leg, stopped_at)
            return JobOutcome(
                {"paused": True}, wait, state, settled=ledger.settled, planned=plan["planned"]
            )
        if len(group) < settings.group_size:
            break
    return JobOutcome(_final_manifest(plan, ledger, leg))


def _final_manifest(plan: dict[str, Any], ledger: DeletionLedger, leg: int) -> dict[str, Any]:
    return {
        **plan,
        **ledger.summary(),
        "changed_since_plan": {"gone_already": ledger.already_gone, **ledger.kept},
        "backlog": plan["candidates"] - plan["planned"],
        "legs": leg,
    }


def _next_group(
    source: Iterator[Candidate], size: int = GROUP_SIZE
) -> tuple[list[Candidate], float | None]:
    """Up to ``size`` candidates, and the wait when listing more had to stop for the budget."""
    group: list[Candidate] = []
    try:
        for candidate in source:
            group.append(candidate)
            if len(group) >= size:
                break
    except PostHogBudgetWait as wait:
        return group, wait.wait_seconds
    return group, None


def _plan_pause_state(
    plan: dict[str, Any],
    ledger: DeletionLedger,
    held: list[Candidate],
    cursor: PlanCursor,
    leg: int,
) -> dict[str, Any]:
    """The state to carry on from with a written plan: the ids held back, and how far into
    the plan the next leg reads on."""
    return {
        "leg": leg,
        "plan": plan,
        "ledger": ledger.to_state(),
        "pending": [list(candidate) for candidate in held],
        "position": cursor.position,
    }


def _pause_state(
    plan: dict[str, Any],
    ledger: DeletionLedger,
    group: list[Candidate],
    held: list[Candidate],
    source: Iterator[Candidate],
    leg: int,
    listing_stopped_at: str | None,
) -> dict[str, Any]:
    """The state to carry on from without a written plan: the next ids to delete, and where
    listing resumes.

    ``listing_stopped_at`` is the start time of the last candidate seen when the listing
    itself stopped for the budget: the listing then resumes there.
    """
    pending = list(held)
    resume_at = listing_stopped_at
    if resume_at is None:
        try:
            pending.extend(itertools.islice(source, max(0, PENDING_IN_STATE - len(pending))))
            following = next(source, None)
            resume_at = following[1] if following is not None else None
        except PostHogBudgetWait:
            resume_at = pending[-1][1] if pending else (group[-1][1] if group else None)
    return {
        "leg": leg,
        "plan": plan,
        "ledger": ledger.to_state(),
        "pending": [list(candidate) for candidate in pending],
        "resume_from": resume_at,
    }
