"""Airflow hook for PostHog: reads the connection and builds a :class:`PostHogClient`.

The connection (conn_type ``posthog``):

* host: the API host (default ``https://us.posthog.com``; ``https://eu.posthog.com`` for the
  EU cloud, or a self-hosted domain);
* password: a personal API key (``phx_...``) with the ``session_recording`` scopes needed;
* extra: ``{"project_id": 12345}`` and optionally ``allow_insecure_http``,
  ``requests_per_minute``, ``list_requests_per_minute``, ``page_size``, ``timeout``,
  ``max_retries``, ``concurrency``.

Example, from the environment::

    AIRFLOW_CONN_POSTHOG_DEFAULT='{"conn_type": "posthog", "host": "https://eu.posthog.com",
        "password": "phx_...", "extra": {"project_id": 12345}}'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.config import DEFAULT_HOST
from airflow_provider_posthog_recordings.errors import PostHogConfigError, PostHogError
from airflow_provider_posthog_recordings.models import (
    DeleteResult,
    Playlist,
    Recording,
    SharingConfiguration,
)
from airflow_provider_posthog_recordings.query import RecordingsQuery

_TRUE = {"1", "true", "yes", "on"}
_INT_OPTIONS = (
    "requests_per_minute",
    "list_requests_per_minute",
    "page_size",
    "max_retries",
    "concurrency",
)


def _extra_value(extra: Mapping[str, Any], name: str) -> Any:
    """An extra field, also under Airflow 2's ``extra__posthog__<name>`` form-field name."""
    value = extra.get(name)
    if value in (None, ""):
        value = extra.get(f"extra__posthog__{name}")
    return None if value == "" else value


class PostHogHook(BaseHook):
    """Interact with PostHog session recordings through an Airflow connection.

    Args:
        posthog_conn_id: the connection id (conn_type ``posthog``).
        client_options: keyword arguments for :class:`PostHogClient` that override the
            connection's extras (e.g. ``{"page_size": 100}``).

    The hook exposes the client's methods (``iter_recordings``, ``delete_recordings``, ...);
    :meth:`get_client` returns the client itself.
    """

    conn_name_attr = "posthog_conn_id"
    default_conn_name = "posthog_default"
    conn_type = "posthog"
    hook_name = "PostHog"

    def __init__(
        self,
        posthog_conn_id: str = default_conn_name,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.posthog_conn_id = posthog_conn_id
        self.client_options = dict(client_options or {})
        self._client: PostHogClient | None = None

    # ----------------------------------------------------------- connection UI (Airflow 2)

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra form fields for Airflow 2.x (3.x reads ``conn-fields`` in provider info)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, StringField

        return {
            "project_id": StringField(lazy_gettext("Project ID"), widget=BS3TextFieldWidget()),
            "allow_insecure_http": BooleanField(lazy_gettext("Allow plain http")),
        }

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Field labels and hidden fields for Airflow 2.x."""
        return {
            "hidden_fields": ["schema", "port", "login", "extra"],
            "relabeling": {"host": "PostHog host", "password": "Personal API key"},
            "placeholders": {"host": DEFAULT_HOST, "password": "phx_..."},
        }

    # ---------------------------------------------------------------- the client

    def client_settings(self) -> dict[str, Any]:
        """The client's arguments read from the connection (the key masked in logs)."""
        conn = self.get_connection(self.posthog_conn_id)
        extra = conn.extra_dejson or {}
        api_key = conn.password or _extra_value(extra, "api_key")
        if api_key:
            mask_secret(api_key)
        else:
            raise PostHogConfigError(
                f"connection {self.posthog_conn_id!r} has no personal API key: put it in the "
                "password field"
            )
        host = (conn.host or "").strip() or DEFAULT_HOST
        if conn.schema and "://" not in host:
            host = f"{conn.schema}://{host}"
        if conn.port and "://" in host and host.count(":") == 1:
            host = f"{host}:{conn.port}"
        settings: dict[str, Any] = {
            "host": host,
            "api_key": api_key,
            "project_id": _extra_value(extra, "project_id"),
        }
        insecure = _extra_value(extra, "allow_insecure_http")
        settings["allow_insecure_http"] = insecure is True or str(insecure).lower() in _TRUE
        for name in _INT_OPTIONS:
            value = _extra_value(extra, name)
            if value is not None:
                try:
                    settings[name] = int(value)
                except (TypeError, ValueError):
                    raise PostHogConfigError(
                        f"connection {self.posthog_conn_id!r}: extra {name} must be a number"
                    ) from None
        timeout = _extra_value(extra, "timeout")
        if timeout is not None:
            settings["timeout"] = float(timeout)
        settings.update(self.client_options)
        return settings

    def get_client(self) -> PostHogClient:
        """The PostHog client for this connection (built once per hook)."""
        if self._client is None:
            self._client = PostHogClient(**self.client_settings())
        return self._client

    def get_conn(self) -> PostHogClient:
        """Same as :meth:`get_client` (Airflow's usual name)."""
        return self.get_client()

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated call; return (ok, message) for the UI."""
        try:
            return True, self.get_client().check_access()
        except PostHogError as exc:
            return False, str(exc)
        except Exception as exc:  # the UI shows the message; never a traceback
            return False, f"{type(exc).__name__}: {exc}"

    # ------------------------------------------------- the client's methods, for DAG code

    @property
    def request_count(self) -> int:
        """Requests sent by this hook's client."""
        return 0 if self._client is None else self._client.request_count

    def iter_recordings(
        self,
        query: RecordingsQuery | Mapping[str, Any] | None = None,
        page_size: int | None = None,
        max_results: int | None = None,
    ) -> Iterator[Recording]:
        """See :meth:`PostHogClient.iter_recordings`."""
        return self.get_client().iter_recordings(query, page_size, max_results)

    def get_recording(self, recording_id: str) -> Recording:
        """See :meth:`PostHogClient.get_recording`."""
        return self.get_client().get_recording(recording_id)

    def mark_viewed(self, recording_ids: Iterable[str]) -> int:
        """See :meth:`PostHogClient.mark_viewed`."""
        return self.get_client().mark_viewed(recording_ids)

    def delete_recordings(self, recording_ids: Iterable[str]) -> DeleteResult:
        """See :meth:`PostHogClient.delete_recordings`."""
        return self.get_client().delete_recordings(recording_ids)

    def get_sharing(self, recording_id: str) -> SharingConfiguration:
        """See :meth:`PostHogClient.get_sharing`."""
        return self.get_client().get_sharing(recording_id)

    def enable_sharing(self, recording_id: str) -> SharingConfiguration:
        """See :meth:`PostHogClient.enable_sharing`."""
        return self.get_client().enable_sharing(recording_id)

    def disable_sharing(self, recording_id: str) -> SharingConfiguration:
        """See :meth:`PostHogClient.disable_sharing`."""
        return self.get_client().disable_sharing(recording_id)

    def iter_playlists(self, **filters: Any) -> Iterator[Playlist]:
        """See :meth:`PostHogClient.iter_playlists`."""
        return self.get_client().iter_playlists(**filters)

    def get_playlist(self, short_id: str) -> Playlist:
        """See :meth:`PostHogClient.get_playlist`."""
        return self.get_client().get_playlist(short_id)

    def create_playlist(self, name: str, **fields: Any) -> Playlist:
        """See :meth:`PostHogClient.create_playlist`."""
        return self.get_client().create_playlist(name, **fields)

    def update_playlist(self, short_id: str, **fields: Any) -> Playlist:
        """See :meth:`PostHogClient.update_playlist`."""
        return self.get_client().update_playlist(short_id, **fields)

    def add_to_playlist(self, short_id: str, recording_ids: Iterable[str]) -> int:
        """See :meth:`PostHogClient.add_to_playlist`."""
        return self.get_client().add_to_playlist(short_id, recording_ids)

    def remove_from_playlist(self, short_id: str, recording_ids: Iterable[str]) -> int:
        """See :meth:`PostHogClient.remove_from_playlist`."""
        return self.get_client().remove_from_playlist(short_id, recording_ids)

    def iter_playlist_recordings(self, short_id: str) -> Iterator[Recording]:
        """See :meth:`PostHogClient.iter_playlist_recordings`."""
        return self.get_client().iter_playlist_recordings(short_id)
