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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def share_url(self) -> str | None:
        """Public link ``{host}/shared/{access_token}``, or None when sharing is off."""
        if not (self.enabled and self.access_token and self.public_host):
            return None
        return f"{self.public_host}/shared/{self.access_token}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def embed_url(self) -> str | None:
        """Embeddable link ``{host}/embedded/{access_token}``, or None when sharing is off."""
        if not (self.enabled and self.access_token and self.public_host):
            return None
        return f"{self.public_host}/embedded/{self.access_token}"


class DeleteResult(BaseModel):
    """What a deletion of several recordings did.

    ``deleted``: ids this run deleted. ``already_gone``: ids that did not exist any more (deleted
    earlier, by a retried request, or by someone else), which counts as done. ``failed``: ids
    PostHog refused, with the reason.
    """

    deleted: list[str] = Field(default_factory=list)
    already_gone: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)

    @property
    def done_count(self) -> int:
        """Recordings that no longer exist: deleted now or already gone."""
        return len(self.deleted) + len(self.already_gone)

    def absorb(self, other: DeleteResult) -> None:
        """Add ``other``'s ids to this result (in place)."""
        self.deleted.extend(other.deleted)
        self.already_gone.extend(other.already_gone)
        self.failed.update(other.failed)


class PlaylistChangeResult(BaseModel):
    """What adding to or removing from a playlist did."""

    changed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
