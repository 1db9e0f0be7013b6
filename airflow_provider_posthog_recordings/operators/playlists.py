"""Operator that keeps a collection playlist in step with a recordings query."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_posthog_recordings.curation import CurationSettings, curate_playlist
from airflow_provider_posthog_recordings.errors import PostHogConfigError
from airflow_provider_posthog_recordings.operators.base import PostHogBaseOperator
from airflow_provider_posthog_recordings.query import RecordingsQuery, query_as_dict

if TYPE_CHECKING:
    from airflow.sdk import Context


class PostHogCuratePlaylistOperator(PostHogBaseOperator):
    """Keep a collection playlist named ``name`` in step with a recordings query.

    Run after run, the playlist holds the newest ``max_recordings`` recordings matching
    ``query`` (for example "sessions with console errors this week"). The playlist is found
    by exact name (deleted and system playlists ignored) or created; two runs never create
    two playlists, and a run after a crash picks up where it stopped. Items are added 20 a
    request where the server allows bulk actions, one at a time otherwise, never twice.

    Args:
        name: the playlist's exact name (templated).
        query: the recordings that belong in it (templated; give ``date_from``).
        max_recordings: how many of the newest matching recordings to hold (default 100).
        remove_stale: also remove items outside that target (no longer matching, deleted,
            or pushed out by newer ones).
        pinned: pin the playlist (PostHog keeps a pinned playlist's recordings one year).
        description: the playlist's description (templated; None leaves it as it is).
        posthog_conn_id: the PostHog connection.

    Returns:
        ``{"short_id", "url", "added", "removed", "total"}``.

    Raises:
        AirflowException: the name belongs to a ``filters`` playlist or to several.
    """

    template_fields: Sequence[str] = ("name", "query", "description", "max_recordings")
    ui_color = "#1d4aff"

    def __init__(
        self,
        *,
        name: str,
        query: RecordingsQuery | Mapping[str, Any] | None,
        max_recordings: int | str = 100,
        remove_stale: bool = False,
        pinned: bool = False,
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not name or not str(name).strip():
            raise PostHogConfigError("name must not be empty")
        if isinstance(max_recordings, int) and max_recordings < 0:
            raise PostHogConfigError("max_recordings must be 0 or more")
        self.name = name
        self.query = query_as_dict(query)
        self.max_recordings = max_recordings
        self.remove_stale = remove_stale
        self.pinned = pinned
        self.description = description

    def run(self, context: Context) -> dict[str, Any]:
        settings = CurationSettings(
            name=str(self.name).strip(),
            query=self.query,
            max_recordings=int(self.max_recordings),
            remove_stale=self.remove_stale,
            pinned=self.pinned,
            description=self.description,
        )
        summary = curate_playlist(self.hook.get_client(), settings)
        self.log.info(
            "Playlist %r (%s): added %d, removed %d, now %d recordings: %s",
            settings.name,
            summary["short_id"],
            summary["added"],
            summary["removed"],
            summary["total"],
            summary["url"],
        )
        return summary
