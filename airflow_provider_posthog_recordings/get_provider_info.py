"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_posthog_recordings import __version__
from airflow_provider_posthog_recordings.hooks.connection_form import (
    provider_conn_fields,
    provider_ui_field_behaviour,
)

PACKAGE = "airflow_provider_posthog_recordings"
INTEGRATION = "PostHog Session Recordings"


def get_provider_info() -> dict[str, Any]:
    """Describe the package, its connection type and its modules to Airflow."""
    return {
        "package-name": "airflow-provider-posthog-recordings",
        "name": "PostHog Session Recordings",
        "description": (
            "Manage PostHog session recordings from Airflow: list, mark viewed, share, "
            "curate playlists, purge by retention policy, erase a person's recordings."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://posthog.com/docs/session-replay",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {"integration-name": INTEGRATION, "python-modules": [f"{PACKAGE}.hooks.posthog"]}
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    f"{PACKAGE}.operators.recording_operators",
                    f"{PACKAGE}.operators.deletion_operators",
                    f"{PACKAGE}.operators.playlist_operators",
                    f"{PACKAGE}.operators.archive_operators",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [f"{PACKAGE}.sensors.recordings_sensor"],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    f"{PACKAGE}.triggers.recordings_trigger",
                    f"{PACKAGE}.triggers.budget_wait_trigger",
                ],
            }
        ],
        "extra-links": [f"{PACKAGE}.operators.playlist_operators.PostHogPlaylistLink"],
        "connection-types": [
            {
                "hook-class-name": f"{PACKAGE}.hooks.posthog.PostHogHook",
                "hook-name": "PostHog",
                "connection-type": "posthog",
                "conn-fields": provider_conn_fields(),
                "ui-field-behaviour": provider_ui_field_behaviour(),
            }
        ],
    }
