"""Pure decisions: what a retention policy deletes, what a curated playlist should hold.

Nothing here does I/O: the operators feed recordings in and act on the decisions, and the
tests check every edge case without a server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from airflow_provider_posthog_recordings.errors import PostHogConfigError
from airflow_provider_posthog_recordings.models import Recording, as_utc

#: The longest retention PostHog offers (5 years), plus slack: a window that reaches back
#: this far sees every recording a project can still hold.
LONGEST_RETENTION_DAYS = 5 * 366 + 7


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

    def decide(self, recording: Recording, *, shared: bool | None = None) -> Decision:
        """Decide one recording. ``shared`` is only consulted with ``keep_shared``.

        With ``keep_shared`` and ``shared`` unknown (None), the recording is kept: when in
        doubt, nothing is deleted.
        """
        rid = recording.id
        if recording.start_time is None:
            return Decision(rid, False, KeepReason.NO_START_TIME)
        if recording.start_time >= self.cutoff:
            return Decision(rid, False, KeepReason.NEWER_THAN_CUTOFF)
        if recording.ongoing:
            return Decision(rid, False, KeepReason.ONGOING)
        if rid in self.protected_ids:
            return Decision(rid, False, KeepReason.PROTECTED_PLAYLIST)
        if self.keep_shared and shared is not False:
            return Decision(rid, False, KeepReason.SHARED)
        return Decision(rid, True)

    def needs_sharing_check(self, recording: Recording) -> bool:
        """True when the verdict depends on the recording's sharing state."""
        if not self.keep_shared:
            return False
        return self.decide(recording, shared=False).delete


@dataclass
class PurgeTally:
    """Running counts of a purge, small enough for an XCom."""

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


def check_deletion_cap(candidates: int, max_deletions: int | None) -> None:
    """Refuse to start when more recordings would go than the cap allows.

    Raises:
        PostHogConfigError: naming the counts and how to raise the cap.
    """
    if max_deletions is None:
        return
    if candidates > max_deletions:
        raise PostHogConfigError(
            f"{candidates} recordings match the retention policy but max_deletions is "
            f"{max_deletions}: nothing was deleted. Check the policy with dry_run=True, then "
            f"raise max_deletions (e.g. max_deletions={candidates}) or set it to None to lift "
            "the cap"
        )


def validate_max_deletions(value: object) -> int | None:
    """``max_deletions`` as a non-negative int, or None for no cap."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PostHogConfigError(f"max_deletions must be a whole number or None, not {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise PostHogConfigError(f"max_deletions must be a whole number, not {value!r}") from None
    if number < 0:
        raise PostHogConfigError(f"max_deletions must be 0 or more, not {number}")
    return number


# ------------------------------------------------------------------ playlist curation


@dataclass(frozen=True)
class CurationPlan:
    """What to change in a curated playlist: ids to add (newest first) and to remove."""

    add: list[str]
    remove: list[str]
    target: list[str]


def plan_curation(
    current_ids: Iterable[str],
    matching_ids: Sequence[str],
    *,
    max_recordings: int,
    remove_stale: bool,
) -> CurationPlan:
    """Plan one curation run.

    Args:
        current_ids: what the playlist holds now.
        matching_ids: recordings matching the query, newest first (duplicates ignored).
        max_recordings: the playlist's target is the newest this many matching recordings.
        remove_stale: also remove items outside the target (no longer matching, deleted, or
            pushed out by newer ones).

    Returns:
        The plan; adding what it says never adds an item twice.
    """
    if max_recordings < 0:
        raise PostHogConfigError("max_recordings must be 0 or more")
    current = list(dict.fromkeys(current_ids))
    current_set = set(current)
    target = list(dict.fromkeys(matching_ids))[:max_recordings]
    target_set = set(target)
    add = [rid for rid in target if rid not in current_set]
    remove = [rid for rid in current if rid not in target_set] if remove_stale else []
    return CurationPlan(add=add, remove=remove, target=target)
