"""The PostHog connection form, described once (no Airflow import).

Airflow 3 reads the form from the provider info (``conn-fields`` and ``ui-field-behaviour``,
built by :func:`provider_conn_fields` and :func:`provider_ui_field_behaviour`); Airflow 2 asks
the hook (``get_connection_form_widgets`` and ``get_ui_field_behaviour``, built from the same
:data:`EXTRA_FIELDS`). The hook also reads the extras with these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from airflow_provider_posthog_recordings.client.config import DEFAULT_HOST

FieldKind = Literal["integer", "number", "boolean"]


@dataclass(frozen=True)
class ExtraField:
    """One connection extra shown as a form field.

    :ivar name: the key in the connection's extra.
    :ivar label: the form label.
    :ivar description: the help text under the field.
    :ivar kind: ``integer``, ``number`` or ``boolean`` (the JSON Schema type).
    :ivar minimum: the smallest value accepted (integers); a ``number`` without one must be
        more than 0.
    :ivar required: the connection does not work without it (the form marks it, and its
        schema type has no null, which is how Airflow 3's form knows).
    :ivar placeholder: shown in the empty field: the default the client uses, or an example.
    """

    name: str
    label: str
    description: str
    kind: FieldKind
    minimum: int | None = None
    required: bool = False
    placeholder: str | None = None

    def json_schema(self) -> dict[str, Any]:
        """The field's JSON Schema, as Airflow 3's ``conn-fields`` takes it."""
        schema: dict[str, Any] = {"type": self.kind if self.required else [self.kind, "null"]}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        elif self.kind == "number":
            schema["exclusiveMinimum"] = 0
        if self.kind == "boolean":
            schema["default"] = False
        return schema


#: Every extra the hook reads, in form order. Defaults are the client's, so they are only
#: described: an unset field is not sent to the client.
EXTRA_FIELDS: tuple[ExtraField, ...] = (
    ExtraField(
        "project_id",
        "Project ID",
        "Required. The number in https://us.posthog.com/project/<id>.",
        "integer",
        minimum=1,
        required=True,
        placeholder="12345",
    ),
    ExtraField(
        "allow_insecure_http",
        "Allow plain http",
        "Only for a self-hosted PostHog without TLS: plain http to a host that is not "
        "loopback is refused unless this is set.",
        "boolean",
    ),
    ExtraField(
        "requests_per_minute",
        "Requests per minute",
        "Client-side budget for this key. Default 240, PostHog's limit.",
        "integer",
        minimum=1,
        placeholder="240",
    ),
    ExtraField(
        "requests_per_hour",
        "Requests per hour",
        "Client-side hourly budget for this key. Default 1200, PostHog's limit.",
        "integer",
        minimum=1,
        placeholder="1200",
    ),
    ExtraField(
        "list_requests_per_minute",
        "List requests per minute",
        "Your plan's limit on listing recordings: free 12, paid 60, enterprise 100.",
        "integer",
        minimum=1,
        placeholder="12 (free plan)",
    ),
    ExtraField(
        "list_requests_per_hour",
        "List requests per hour",
        "Your plan's hourly limit on listing recordings: free 60, paid 300, enterprise 400.",
        "integer",
        minimum=1,
        placeholder="60 (free plan)",
    ),
    ExtraField(
        "snapshot_requests_per_minute",
        "Snapshot requests per minute",
        "Your plan's limit on reading recordings' snapshots (archiving): free 12, paid 60, "
        "enterprise 100.",
        "integer",
        minimum=1,
        placeholder="12 (free plan)",
    ),
    ExtraField(
        "snapshot_requests_per_hour",
        "Snapshot requests per hour",
        "Your plan's hourly limit on reading snapshots: free 60, paid 300, enterprise 400.",
        "integer",
        minimum=1,
        placeholder="60 (free plan)",
    ),
    ExtraField(
        "page_size",
        "Page size",
        "Recordings per list page. Default 500.",
        "integer",
        minimum=1,
        placeholder="500",
    ),
    ExtraField(
        "timeout",
        "Timeout (seconds)",
        "Seconds to wait for a connection and for an answer. Default 10 to connect, 60 to read.",
        "number",
        placeholder="60",
    ),
    ExtraField(
        "max_retries",
        "Max retries",
        "Retries after a server error, a dropped connection or a timeout. Default 5.",
        "integer",
        minimum=0,
        placeholder="5",
    ),
    ExtraField(
        "concurrency",
        "Concurrency",
        "Parallel requests when actions go one recording at a time. Default 4.",
        "integer",
        minimum=1,
        placeholder="4",
    ),
)

#: Standard fields the form does not show (every extra has its own field). The port is
#: shown: Airflow 3.3.2's Test button answers "Bad Request" for a connection stored without
#: one (it sends port 0; apache/airflow#73298), and a stored port (443) avoids that.
HIDDEN_FIELDS: tuple[str, ...] = ("schema", "login", "extra")
RELABELING: dict[str, str] = {
    "host": "PostHog host",
    "password": "Personal API key",
    "port": "Port (443 for https; the Test button needs it)",
}
PLACEHOLDERS: dict[str, str] = {
    "host": f"{DEFAULT_HOST} (self-hosted without TLS: http://host:port, and allow plain http)",
    "password": "phx_...",
    "port": "443",
    **{field.name: field.placeholder for field in EXTRA_FIELDS if field.placeholder},
}


def provider_conn_fields() -> dict[str, dict[str, Any]]:
    """``conn-fields`` for the provider info (Airflow 3)."""
    return {
        field.name: {
            "label": field.label,
            "description": field.description,
            "schema": field.json_schema(),
        }
        for field in EXTRA_FIELDS
    }


def provider_ui_field_behaviour() -> dict[str, Any]:
    """``ui-field-behaviour`` for the provider info (Airflow 3, kebab-case keys)."""
    return {
        "hidden-fields": list(HIDDEN_FIELDS),
        "relabeling": dict(RELABELING),
        "placeholders": dict(PLACEHOLDERS),
    }


def hook_ui_field_behaviour() -> dict[str, Any]:
    """The same behaviour as the hook returns it (Airflow 2, snake_case keys)."""
    return {
        "hidden_fields": list(HIDDEN_FIELDS),
        "relabeling": dict(RELABELING),
        "placeholders": dict(PLACEHOLDERS),
    }
