"""The playlist curation operator, and its link to the playlist in PostHog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from airflow_provider_posthog_recordings.client.query import RecordingsQuery
from airflow_provider_posthog_recordings.jobs import curation
from airflow_provider_posthog_recordings.jobs.arguments import as_bool, as_int
from airflow_provider_posthog_recordings.operators.base import PostHogBaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey
    from airflow.sdk import Context

#: The XCom key under which the curated playlist's URL is kept (read by the extra link).
PLAYLIST_URL_KEY = "playlist_url"


class PostHogPlaylistLink(BaseOperatorLink):
    """The "PostHog playlist" button of a curation task: the playlist's page in PostHog."""

    name = "PostHog playlist"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        """The URL the task pushed, or "" before it ran."""
        return XCom.get_value(key=PLAYLIST_URL_KEY, ti_key=ti_key) or ""


class PostHogCuratePlaylistOperator(PostHogBaseOperator):
    """Keep a playlist named ``name`` in step with a recordings query, run after run.

    By default the playlist is a saved search (``playlist_type="filters"``): its filters are
    the query, in PostHog's own filter shape, and PostHog's UI shows the live matches. This
    works with a personal API key. A ``collection`` holds hand-picked recordings (the newest
    ``max_recordings`` matches), but PostHog Cloud refuses personal API keys every change to a
    collection's items: the operator checks that first, without changing anything, and fails
    with a message that names ``filters`` when the server refuses. See
    :mod:`airflow_provider_posthog_recordings.jobs.curation`.

    :param name: the playlist's exact name (templated).
    :param query: the recordings that belong in it (templated; give ``date_from``).
    :param playlist_type: ``filters`` (default) or ``collection`` (templated).
    :param max_recordings: collections: how many of the newest matches to hold (templated).
    :param remove_stale: collections: also remove items outside that target (templated).
    :param pinned: pin the playlist (templated).
    :param description: the playlist's description (templated; None leaves it as it is).
    :param posthog_conn_id: the PostHog connection.

    :return: ``{"short_id", "url", "playlist_type", "created", ...}`` (see the job).
    """

    template_fields: Sequence[str] = (
        "name",
        "query",
        "playlist_type",
        "max_recordings",
        "remove_stale",
        "pinned",
        "description",
        "posthog_conn_id",
    )
    template_fields_renderers = {"query": "json"}
    ui_color = "#1d4aff"
    operator_extra_links = (PostHogPlaylistLink(),)

    def __init__(
        self,
        *,
        name: str,
        query: RecordingsQuery | Mapping[str, Any] | str | None,
        playlist_type: str = "filters",
        max_recordings: int | str = 100,
        remove_stale: bool | str = False,
        pinned: bool | str = False,
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.query = query
        self.playlist_type = playlist_type
        self.max_recordings = max_recordings
        self.remove_stale = remove_stale
        self.pinned = pinned
        self.description = description

    def run_job(self, context: Context) -> dict[str, Any]:
        query = RecordingsQuery.parse(self.query)
        self.warn_if_no_window(query)
        settings = curation.CurationSettings(
            name=str(self.name or "").strip(),
            query=query,
            playlist_type=str(self.playlist_type).strip(),  # type: ignore[arg-type]
            max_recordings=as_int(self.max_recordings, "max_recordings"),
            remove_stale=as_bool(self.remove_stale, "remove_stale"),
            pinned=as_bool(self.pinned, "pinned"),
            description=self.description,
        )
        summary = curation.run(self.hook.get_client(), settings)
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key=PLAYLIST_URL_KEY, value=summary["url"])
        shown = {"url", "matching", "matching_at_least"}
        details = ", ".join(f"{k}={v}" for k, v in summary.items() if k not in shown)
        if summary["playlist_type"] == "filters":
            details = f"{curation.describe_matching(summary)}; {details}"
        # The URL stands alone at the end of its line, so Airflow's log view links it.
        self.log.info("Playlist %r: %s; open it at %s", settings.name, details, summary["url"])
        return summary
