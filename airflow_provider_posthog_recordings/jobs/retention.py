"""The retention rule, pure: which recordings a purge deletes and why it keeps the others.

No I/O and no Airflow: :class:`RetentionPolicy` takes a listed recording (and what is known of
its playlists and sharing) and returns a :class:`Decision`. :mod:`.purge` lists, protects,
plans and deletes around it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.client.models import Recording, as_utc


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

    :param reference: the run's reference instant (see
        :func:`~airflow_provider_posthog_recordings.operators.base.run_reference_time`), taken
        as UTC when naive.
    :param older_than_days: days, as :func:`validate_older_than_days` returns them.
    """
    return as_utc(reference) - timedelta(days=older_than_days)


@dataclass(frozen=True)
class RetentionPolicy:
    """A user's retention rule on top of PostHog's own.

    A recording is deleted only when all of these hold: it has a start time, it started
    strictly before ``cutoff``, it is not ongoing, it is not in ``protected_ids`` (recordings of
    protected playlists), and, with ``keep_shared``, it is not publicly shared.

    :ivar cutoff: aware UTC instant; recordings starting at or after it are kept.
    :ivar protected_ids: ids in protected playlists.
    :ivar keep_shared: keep recordings whose public sharing is enabled.
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

        :param recording: the recording as listed.
        :param shared: its sharing state, only consulted with ``keep_shared``; unknown (None)
            keeps it: when in doubt, nothing is deleted.
        :param protected: it is known to be in a protected playlist by other means.
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
