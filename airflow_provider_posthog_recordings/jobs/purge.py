"""The retention purge: delete recordings older than a cutoff, keeping protected ones.

Everything about how the purge decides and acts is here (no Airflow import):

1. **Protection.** The recordings of named playlists (and of every pinned one) are read first.
   PostHog's items endpoint ignores paging, so what was read is compared with PostHog's own
   count; when a collection cannot be read whole, each candidate's playlists are asked for
   instead (``session_recording_id``). A candidate is never deleted on a guess.
2. **Plan.** The window ``[cutoff - 5 years, cutoff]`` is listed oldest first (never PostHog's
   silent 3-day default) and the pure :class:`RetentionPolicy` decides each recording. Ids to
   delete go to a spill file, so memory stays flat.
3. **Cap and budget.** More candidates than ``max_deletions`` (a typo guard) refuses the run
   before anything is deleted. ``max_deletions_per_run`` deletes only the oldest N; the rest is
   the ``backlog`` that later runs take (the cutoff is fixed by the run's data interval and
   the plan is made again from PostHog each run).
4. **Delete** in groups of 500 with exact accounting (see :mod:`..recording_deletion`), each
   group written to the durable record when one is given.
5. **Pause.** When the key's budget would make the client wait longer than it may (a
   deferrable task), :func:`run` returns a small JSON-able state instead of waiting; called
   again with it, it carries on where it stopped, without deleting or reporting anything
   twice. The next ids to delete travel in the state; beyond them the listing resumes at
   their start time.

This module is longer than the others on purpose: it is the one place where the purge is
decided and carried out, so that a change to how it decides (the rule, protection, the
window) and how it runs within the budget (plan, pause, resume) is read and tested together.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import IO, Any

from airflow_provider_posthog_recordings.arguments import as_int
from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.errors import PostHogBudgetWait, PostHogConfigError
from airflow_provider_posthog_recordings.jobs.deletion import (
    DEFAULT_MANIFEST_IDS,
    GROUP_SIZE,
    DeletionLedger,
    DeletionRecord,
    JobOutcome,
    Progress,
    check_deletion_cap,
    delete_group,
    run_leg,
)
from airflow_provider_posthog_recordings.models import Playlist, Recording, as_utc
from airflow_provider_posthog_recordings.query import (
    LONGEST_RETENTION_DAYS,
    RecordingsQuery,
    encode_date,
)

log = logging.getLogger(__name__)

#: At most this many of the next ids to delete travel in a paused run's state.
PENDING_IN_STATE = 2000
#: While planning, waits up to this long (a minute's budget) are slept through.
PLANNING_MAX_WAIT = 90.0


# ---------------------------------------------------------------- the rule (pure)


class KeepReason(str, Enum):
    """Why a listed recording is kept."""

    NEWER_THAN_CUTOFF = "newer_than_cutoff"
    NO_START_TIME = "no_start_time"
    ONGOING = "ongoing"
    PROTECTED_PLAYLIST = "protected_playlist"
    SHARED = "shared"


@dataclass(frozen=True)
class Decision:
    """The verdict on one recording: delete it, or keep it for ``reason``."""

    recording_id: str
    delete: bool
    reason: KeepReason | None = None


def validate_older_than_days(value: object) -> int:
    """Return ``older_than_days`` as a positive int, or raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PostHogConfigError(f"older_than_days must be a whole number of days, not {value!r}")
    try:
        days = int(value)
    except ValueError:
        raise PostHogConfigError(
            f"older_than_days must be a whole number of days, not {value!r}"
        ) from None
    if days <= 0:
        raise PostHogConfigError(
            f"older_than_days must be at least 1 (got {days}): 0 or less would delete "
            "recordings of today"
        )
    return days


def compute_cutoff(reference: datetime, older_than_days: int) -> datetime:
    """The instant before which recordings are old: ``reference - older_than_days``.

    ``reference`` is the run's ``data_interval_end`` (so reruns and backfills decide the same),
    taken as UTC when naive.
    """
    days = validate_older_than_days(older_than_days)
    return as_utc(reference) - timedelta(days=days)


@dataclass(frozen=True)
class RetentionPolicy:
    """A user's retention rule on top of PostHog's own.

    A recording is deleted only when all of these hold: it has a start time, it started
    strictly before ``cutoff``, it is not ongoing, it is not in ``protected_ids`` (recordings of
    protected playlists), and, with ``keep_shared``, it is not publicly shared.

    Attributes:
        cutoff: aware UTC instant; recordings starting at or after it are kept.
        protected_ids: ids in protected playlists.
        keep_shared: keep recordings whose public sharing is enabled.
    """

    cutoff: datetime
    protected_ids: frozenset[str] = frozenset()
    keep_shared: bool = False

    def __post_init__(self) -> None:
        if self.cutoff.tzinfo is None:
            raise PostHogConfigError("the cutoff must be timezone-aware")

    def decide(
        self, recording: Recording, *, shared: bool | None = None, protected: bool = False
    ) -> Decision:
        """Decide one recording.

        Args:
            recording: the recording as listed.
            shared: its sharing state, only consulted with ``keep_shared``; unknown (None)
                keeps it: when in doubt, nothing is deleted.
            protected: it is known to be in a protected playlist by other means.
        """
        rid = recording.id
        if recording.start_time is None:
            return Decision(rid, False, KeepReason.NO_START_TIME)
        if recording.start_time >= self.cutoff:
            return Decision(rid, False, KeepReason.NEWER_THAN_CUTOFF)
        if recording.ongoing:
            return Decision(rid, False, KeepReason.ONGOING)
        if protected or rid in self.protected_ids:
            return Decision(rid, False, KeepReason.PROTECTED_PLAYLIST)
        if self.keep_shared and shared is not False:
            return Decision(rid, False, KeepReason.SHARED)
        return Decision(rid, True)

    def needs_sharing_check(self, recording: Recording) -> bool:
        """True when the verdict depends on the recording's sharing state."""
        return self.keep_shared and self.decide(recording, shared=False).delete


@dataclass
class PlanCounts:
    """What the plan saw: listed, kept by reason, candidates."""

    listed: int = 0
    kept: Counter[str] = field(default_factory=Counter)
    candidates: int = 0

    def add(self, decision: Decision) -> None:
        """Count one decision."""
        self.listed += 1
        if decision.delete:
            self.candidates += 1
        elif decision.reason is not None:
            self.kept[decision.reason.value] += 1


# ---------------------------------------------------------------- settings


@dataclass
class PurgeSettings:
    """What to purge.

    Attributes:
        older_than_days: delete recordings that started more than this many days before
            ``reference``.
        reference: the run's logical end (``data_interval_end``), aware.
        report_only: decide and report, delete nothing.
        max_deletions: the typo guard: when more recordings match the policy than this,
            refuse before deleting anything (None: no cap).
        max_deletions_per_run: the per-run budget: delete at most this many, oldest first,
            and leave the rest (the ``backlog``) to later runs (None: all).
        keep_playlists: names or short ids of playlists whose recordings are kept.
        keep_pinned: also keep recordings of every pinned playlist.
        keep_shared: keep recordings whose public sharing is enabled (one extra request per
            candidate).
        query: extra filters that narrow what the policy looks at.
        manifest_ids: how many deleted ids the manifest lists at most.
        page_size: recordings per list request (default: the client's).
        record: where to write every deleted id (None: no durable record).
    """

    older_than_days: int
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

    def policy_description(self) -> dict[str, Any]:
        """The policy in a few JSON-able fields (for the durable record)."""
        return {
            "older_than_days": self.older_than_days,
            "keep_playlists": list(self.keep_playlists),
            "keep_pinned": self.keep_pinned,
            "keep_shared": self.keep_shared,
            "query": RecordingsQuery.parse(self.query).to_params(),
        }


def check_settings(settings: PurgeSettings, cutoff: datetime) -> None:
    """Refuse bad settings before any request is sent (numbers given as text are converted).

    Raises:
        PostHogConfigError: naming the setting.
    """
    for name in ("max_deletions", "max_deletions_per_run"):
        value = getattr(settings, name)
        if value is not None:
            setattr(settings, name, as_int(value, name))
    settings.manifest_ids = as_int(settings.manifest_ids, "manifest_ids")
    purge_query(settings, cutoff)


# ---------------------------------------------------------------- protection


@dataclass
class Protection:
    """The recordings that protected playlists hold.

    Attributes:
        ids: the items read.
        names: the protected playlists, for the manifest.
        unread: short id -> label of protected collections that could not be read whole:
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

    Raises:
        PostHogConfigError: a named playlist does not exist, or is a ``filters`` playlist
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

    Args:
        start: list from here instead of the window's start (a paused run resuming).
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


Candidate = tuple[str, str]
"""A recording to delete: its id and its start time (ISO)."""


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

    Args:
        client: the PostHog client (its ``max_budget_wait`` decides when to pause).
        settings: what to purge.
        state: the state of the paused leg before, to carry on from.

    Raises:
        PostHogConfigError: bad settings, an unknown protected playlist, or more candidates
            than ``max_deletions`` (in which case nothing was deleted).
    """
    state = dict(state or {})
    settings.reference = carried_reference(state, settings.reference)
    cutoff = compute_cutoff(settings.reference, settings.older_than_days)
    check_settings(settings, cutoff)
    leg = int(state.get("leg", 0)) + 1
    if settings.record is not None:
        settings.record.leg = leg

    def one_leg() -> JobOutcome:
        try:
            if "plan" in state:
                return _resume(client, settings, cutoff, state, leg)
            return _plan_and_delete(client, settings, cutoff, leg)
        except PostHogBudgetWait as wait:
            # While planning (nothing deleted in this leg): plan again after the wait.
            return JobOutcome({"paused": True}, wait.wait_seconds, {"leg": leg})

    outcome, requests = run_leg(client, state, one_leg)
    if outcome.state is None:
        outcome.manifest["requests"] = requests
    else:
        outcome.state["reference"] = as_utc(settings.reference).isoformat()
    return outcome


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


def _plan_and_delete(
    client: PostHogClient,
    settings: PurgeSettings,
    cutoff: datetime,
    leg: int,
) -> JobOutcome:
    max_deletions = settings.max_deletions
    log.info(
        "Retention purge: recordings that started before %s (%d days before %s)%s",
        cutoff.isoformat(),
        settings.older_than_days,
        settings.reference.isoformat(),
        " [report-only run]" if settings.report_only else "",
    )
    counts = PlanCounts()
    spill = _Spill()
    try:
        lister = _Lister(client, settings, cutoff)
        with _patient(client):
            for candidate in lister.candidates(counts):
                spill.add(candidate)
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
        plan = {
            "exceeds_max_deletions": over_cap,
            "report_only": settings.report_only,
            "cutoff": cutoff.isoformat(),
            "older_than_days": settings.older_than_days,
            "listed": counts.listed,
            "kept": dict(counts.kept),
            "kept_total": sum(counts.kept.values()),
            "protected_playlists": lister.protection.names,
            "candidates": counts.candidates,
            "planned": planned,
        }
        if settings.report_only:
            sample = [
                rid for rid, _ in itertools.islice(spill, min(planned, settings.manifest_ids))
            ]
            manifest = {
                **plan,
                "backlog": counts.candidates - planned,
                "deleted": 0,
                "already_gone": 0,
                "failed": 0,
                "would_delete_ids": sample,
                "ids_truncated": planned > len(sample),
                "legs": leg,
            }
            return JobOutcome(manifest)
        ledger = DeletionLedger(manifest_ids=settings.manifest_ids)
        source = itertools.islice(iter(spill), planned)
        return _delete(client, settings, cutoff, plan, ledger, source, leg)
    finally:
        spill.close()


@contextmanager
def _patient(client: PostHogClient) -> Iterator[None]:
    """While planning, sleep through waits for the minute budget instead of pausing.

    A plan that paused would start again from its first page: one that needs more than a
    minute's budget would never finish. Waits for the hour still pause it.
    """
    before = client.max_budget_wait
    if before is not None:
        client.max_budget_wait = max(before, PLANNING_MAX_WAIT)
    try:
        yield
    finally:
        client.max_budget_wait = before


def _resume(
    client: PostHogClient,
    settings: PurgeSettings,
    cutoff: datetime,
    state: dict[str, Any],
    leg: int,
) -> JobOutcome:
    plan: dict[str, Any] = state["plan"]
    ledger = DeletionLedger.from_state(state["ledger"])
    pending: list[Candidate] = [(rid, start) for rid, start in state.get("pending", [])]
    # Deleted and already-gone recordings are not listed again; failed ones and the pending
    # ones (deleted below, before the listing resumes) are skipped.
    skip = {rid for rid, _ in pending} | set(ledger.failed_ids)
    resume_from = state.get("resume_from")
    remaining = plan["planned"] - ledger.settled
    log.info(
        "Resuming the purge (leg %d): %d of %d planned deletions settled, %d to go",
        leg,
        ledger.settled,
        plan["planned"],
        remaining,
    )

    def more() -> Iterator[Candidate]:
        if resume_from is None:
            return
        lister = _Lister(client, settings, cutoff)
        start = datetime.fromisoformat(resume_from)
        for candidate in lister.candidates(None, start):
            if candidate[0] not in skip:
                yield candidate

    source = itertools.islice(itertools.chain(pending, more()), max(0, remaining))
    return _delete(
        client,
        settings,
        cutoff,
        plan,
        ledger,
        source,
        leg,
        resume_from,
    )


def _delete(
    client: PostHogClient,
    settings: PurgeSettings,
    cutoff: datetime,
    plan: dict[str, Any],
    ledger: DeletionLedger,
    source: Iterator[Candidate],
    leg: int,
    resume_from: str | None = None,
) -> JobOutcome:
    window_start = purge_query(settings, cutoff).date_from
    progress = Progress(plan["planned"], ledger.settled)
    while True:
        group, listing_wait = _next_group(source)
        if group:
            resume_from = group[-1][1]
            result = delete_group(
                client,
                [rid for rid, _ in group],
                ledger=ledger,
                record=settings.record,
                date_from=window_start,
            )
            progress.update(ledger)
            unsent = result.unsent
            wait = result.wait_seconds
        else:
            unsent, wait = [], None
        if unsent or listing_wait is not None:
            wait = max(wait or 0.0, listing_wait or 0.0)
            state = _pause_state(
                plan,
                ledger,
                group,
                unsent,
                source,
                leg,
                None if listing_wait is None else resume_from,
            )
            return JobOutcome(
                {"paused": True}, wait, state, settled=ledger.settled, planned=plan["planned"]
            )
        if len(group) < GROUP_SIZE:
            break
    manifest = {
        **plan,
        **ledger.summary(),
        "backlog": plan["candidates"] - plan["planned"],
        "legs": leg,
    }
    return JobOutcome(manifest)


def _next_group(source: Iterator[Candidate]) -> tuple[list[Candidate], float | None]:
    """Up to GROUP_SIZE candidates, and the wait when listing more had to stop for the budget."""
    group: list[Candidate] = []
    try:
        for candidate in source:
            group.append(candidate)
            if len(group) >= GROUP_SIZE:
                break
    except PostHogBudgetWait as wait:
        return group, wait.wait_seconds
    return group, None


def _pause_state(
    plan: dict[str, Any],
    ledger: DeletionLedger,
    group: list[Candidate],
    unsent: Iterable[str],
    source: Iterator[Candidate],
    leg: int,
    listing_stopped_at: str | None,
) -> dict[str, Any]:
    """The state to carry on from: the next ids to delete, and where listing resumes.

    ``listing_stopped_at`` is the start time of the last candidate seen when the listing
    itself stopped for the budget: the listing then resumes there.
    """
    unsent_set = set(unsent)
    pending = [candidate for candidate in group if candidate[0] in unsent_set]
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
