"""Airflow hook for PostHog: reads the connection and builds a :class:`PostHogClient`.

The connection (conn_type ``posthog``):

* host: the API host (default ``https://us.posthog.com``; ``https://eu.posthog.com`` for the
  EU cloud, or a self-hosted domain). Without a scheme (the URI form cannot carry one) the
  connection's ``schema`` field gives it (``http`` or ``https``), else ``https``;
* password: a personal API key (``phx_...``) with the ``session_recording`` scopes needed;
* extra: ``{"project_id": 12345}`` and optionally the other fields of
  :data:`~airflow_provider_posthog_recordings.hooks.connection_form.EXTRA_FIELDS`.

Examples, from the environment::

    AIRFLOW_CONN_POSTHOG_DEFAULT='{"conn_type": "posthog", "host": "https://eu.posthog.com",
        "password": "phx_...", "extra": {"project_id": 12345}}'
    AIRFLOW_CONN_POSTHOG_DEFAULT='posthog://:phx_...@eu.posthog.com?project_id=12345'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.client.arguments import as_bool, as_int, as_positive_number
from airflow_provider_posthog_recordings.client.config import connection_host, validate_project_id
from airflow_provider_posthog_recordings.client.errors import PostHogConfigError, PostHogError
from airflow_provider_posthog_recordings.hooks.connection_form import (
    EXTRA_FIELDS,
    ExtraField,
    hook_ui_field_behaviour,
)


def _extra_value(extra: Mapping[str, Any], name: str) -> Any:
    """An extra field, also under Airflow 2's ``extra__posthog__<name>`` form-field name."""
    value = extra.get(name)
    if value in (None, ""):
        value = extra.get(f"extra__posthog__{name}")
    return None if value == "" else value


def _read_extra(field: ExtraField, value: Any, conn_id: str) -> Any:
    """Convert one extra by its kind; the error names the connection and the extra."""
    name = f"connection {conn_id!r}: extra {field.name}"
    if field.kind == "boolean":
        return as_bool(value, name)
    if field.kind == "number":
        return as_positive_number(value, name)
    return as_int(value, name, minimum=field.minimum or 0)


#: Seconds the connection test waits to connect and for the answer (one attempt).
TEST_CONNECTION_TIMEOUT = 4.0


class PostHogHook(BaseHook):
    """Interact with PostHog session recordings through an Airflow connection.

    :param posthog_conn_id: the connection id (conn_type ``posthog``).
    :param client_options: keyword arguments for :class:`PostHogClient` that override the
        connection's extras (e.g. ``{"page_size": 100}``).

    :meth:`get_client` (or :meth:`get_conn`) returns the client, whose methods do the work.
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
        """Extra form fields for Airflow 2.x, built from ``EXTRA_FIELDS``.

        Airflow 3 reads ``conn-fields`` in the provider info, built from the same fields.
        """
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, StringField
        from wtforms.validators import NumberRange, Optional

        widgets: dict[str, Any] = {}
        for field in EXTRA_FIELDS:
            label = lazy_gettext(field.label)
            if field.kind == "boolean":
                widgets[field.name] = BooleanField(label, description=field.description)
            elif field.kind == "integer":
                widgets[field.name] = IntegerField(
                    label,
                    description=field.description,
                    widget=BS3TextFieldWidget(),
                    validators=[Optional(), NumberRange(min=field.minimum)],
                )
            else:  # Airflow 2 forms have no float field: the hook checks the number
                widgets[field.name] = StringField(
                    label, description=field.description, widget=BS3TextFieldWidget()
                )
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Field labels, placeholders and hidden fields for Airflow 2.x."""
        return hook_ui_field_behaviour()

    # ---------------------------------------------------------------- the client

    def client_settings(self) -> dict[str, Any]:
        """The client's arguments read from the connection (the key masked in logs).

        An extra that is not set is left out, so the client's default applies.
        """
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
        settings: dict[str, Any] = {
            "host": connection_host(conn.host, conn.schema, conn.port),
            "api_key": api_key,
            "project_id": validate_project_id(_extra_value(extra, "project_id")),
        }
        for field in EXTRA_FIELDS:
            value = _extra_value(extra, field.name)
            if field.name != "project_id" and value is not None:
                settings[field.name] = _read_extra(field, value, self.posthog_conn_id)
        settings.update(self.client_options)
        return settings

    def get_client(self) -> PostHogClient:
        """The PostHog client for this connection (built once per hook)."""
        if self._client is None:
            self._client = PostHogClient(**self.client_settings())
        return self._client

    def close(self) -> None:
        """Close the client's HTTP session, if one was built (a later call builds a new one)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def get_conn(self) -> PostHogClient:
        """Same as :meth:`get_client` (Airflow's usual name)."""
        return self.get_client()

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated call, once, with a short timeout; return (ok, message).

        The UI's Test button waits for it: a wrong host answers within
        :data:`TEST_CONNECTION_TIMEOUT` seconds instead of after a task's retries.
        """
        try:
            settings = {
                **self.client_settings(),
                "timeout": TEST_CONNECTION_TIMEOUT,
                "max_retries": 0,
                "max_throttle_retries": 0,
            }
            with PostHogClient(**settings) as client:
                return True, client.check_access()
        except PostHogError as exc:
            return False, str(exc)
        except Exception as exc:  # the UI shows the message; never a traceback
            return False, f"{type(exc).__name__}: {exc}"
