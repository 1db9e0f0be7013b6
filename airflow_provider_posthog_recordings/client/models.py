"""Typed objects returned by the PostHog client (pydantic v2).

All models keep fields they do not know (``extra="allow"``): PostHog adds fields often and an
older or newer server must never break parsing. Datetimes are parsed as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field


def as_utc(value: datetime) -> datetime:
    """The same instant as a plain, aware ``datetime`` in UTC (naive input is taken as UTC).

    Plain, not a subclass: Airflow passes pendulum ``DateTime`` objects, which lose a stdlib
    ``timezone.utc`` in arithmetic (``reference - timedelta(days=30)`` came out naive).
    """
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    utc = aware.astimezone(timezone.utc)
    return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=timezone.utc)


UTCDateTime = Annotated[datetime, AfterValidator(as_utc)]
"""A datetime that is always aware and in UTC (naive input is taken as UTC)."""


class _APIModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Person(_APIModel):
    """The person a recording belongs to (as embedded in a recording)."""

    id: int | str | None = None
    uuid: str | None = None
    name: str | None = None
    distinct_ids: list[str] = Field(default_factory=list)
    properties: dict[str, Any] = Field(default_factory=dict)
    created_at: UTCDateTime | None = None


class Recording(_APIModel):
    """One session recording as the list and retrieve endpoints return it.

    ``id`` is PostHog's session id (a string, not a UUID). ``start_time`` may be missing on
    broken or very new recordings: code that acts on age must treat that as unknown.
    """

    id: str
    distinct_id: str | None = None
    viewed: bool = False
    viewers: list[str] = Field(default_factory=list)
    recording_duration: float | None = None
    active_seconds: float | None = None
    inactive_seconds: float | None = None
    start_time: UTCDateTime | None = None
    end_time: UTCDateTime | None = None
    click_count: int | None = None
    keypress_count: int | None = None
    mouse_activity_count: int | None = None
    console_log_count: int | None = None
    console_warn_count: int | None = None
    console_error_count: int | None = None
    start_url: str | None = None
    person: Person | None = None
    retention_period_days: int | None = None
    expiry_time: UTCDateTime | None = None
    recording_ttl: int | None = None
    snapshot_source: str | None = None
    ongoing: bool | None = None
    activity_score: float | None = None
    storage: str | None = None


class Playlist(_APIModel):
    """A saved playlist: a ``collection`` of hand-picked recordings or a ``filters`` search."""

    id: int | None = None
    short_id: str
    name: str | None = None
    derived_name: str | None = None
    description: str | None = None
    pinned: bool = False
    deleted: bool = False
    filters: dict[str, Any] | None = None
    type: str | None = None
    created_at: UTCDateTime | None = None
    created_by: dict[str, Any] | None = None
    last_modified_at: UTCDateTime | None = None
    last_modified_by: dict[str, Any] | None = None
    recordings_counts: dict[str, Any] | None = None
    is_synthetic: bool = False

    @property
    def collection_count(self) -> int | None:
        """How many items PostHog says the collection holds (None when it does not say)."""
        counts = self.recordings_counts or {}
        collection = counts.get("collection") if isinstance(counts, dict) else None
        count = collection.get("count") if isinstance(collection, dict) else None
        return count if isinstance(count, int) and not isinstance(count, bool) else None

    @property
    def synthetic(self) -> bool:
        """True for PostHog's system playlists, which cannot be changed."""
        return self.is_synthetic or self.short_id.startswith("synthetic-")

    @property
    def is_collection(self) -> bool:
        """True when the playlist holds hand-picked recordings.

        Older servers have no ``type``: a playlist without non-empty filters is a collection.
        """
        if self.type is not None:
            return self.type == "collection"
        return not self.filters


class SharingConfiguration(_APIModel):
    """The public-sharing state of one recording.

    ``share_url`` and ``embed_url`` are only set when sharing is enabled: an unsaved
    configuration carries an ``access_token`` that changes on every read and is not a link.
    """

    enabled: bool = False
    access_token: str | None = None
    created_at: UTCDateTime | None = None
    settings: dict[str, Any] | None = None
    password_required: bool | None = None
    public_host: str | None = Field(default=None, exclude=True)

    def _link(self, kind: str) -> str | None:
        if not (self.enabled and self.access_token and self.public_host):
            return None
        return f"{self.public_host}/{kind}/{self.access_token}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def share_url(self) -> str | None:
        """Public link ``{host}/shared/{access_token}``, or None when sharing is off."""
        return self._link("shared")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def embed_url(self) -> str | None:
        """Embeddable link ``{host}/embedded/{access_token}``, or None when sharing is off."""
        return self._link("embedded")


class DeleteResult(BaseModel):
    """What a deletion of several recordings did, settled id by id.

    ``deleted``: ids this run deleted (they existed just before and are gone now).
    ``already_gone``: ids that did not exist when this run came to them (deleted earlier, or by
    someone else), which counts as done. ``failed``: ids still there, with the reason.
    ``unattributed``: ids that are gone but of which PostHog deleted only
    ``unattributed_deleted`` (someone else deleted the others in the same instant): the counts
    stay exact, the ids cannot be told apart. ``unsent``: ids not tried because the key's
    budget would only allow them after ``wait_seconds`` (longer than the caller accepts).
    ``kept``: ids not sent because the caller's ``keep`` check, given their current fields just
    before deletion, named a reason to keep them (id -> reason).
    """

    deleted: list[str] = Field(default_factory=list)
    already_gone: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    unattributed: list[str] = Field(default_factory=list)
    unattributed_deleted: int = 0
    unsent: list[str] = Field(default_factory=list)
    wait_seconds: float | None = None
    kept: dict[str, str] = Field(default_factory=dict)

    @property
    def deleted_count(self) -> int:
        """How many recordings this run deleted."""
        return len(self.deleted) + self.unattributed_deleted

    @property
    def already_gone_count(self) -> int:
        """How many recordings were gone before this run came to them."""
        return len(self.already_gone) + len(self.unattributed) - self.unattributed_deleted

    def absorb(self, other: DeleteResult) -> None:
        """Add ``other``'s ids to this result (in place)."""
        self.deleted.extend(other.deleted)
        self.already_gone.extend(other.already_gone)
        self.failed.update(other.failed)
        self.unattributed.extend(other.unattributed)
        self.unattributed_deleted += other.unattributed_deleted
        self.unsent.extend(other.unsent)
        self.kept.update(other.kept)
        if other.wait_seconds is not None:
            self.wait_seconds = max(self.wait_seconds or 0.0, other.wait_seconds)
