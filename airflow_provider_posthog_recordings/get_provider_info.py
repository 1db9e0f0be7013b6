"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_posthog_recordings import __version__

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
                    f"{PACKAGE}.operators.recordings",
                    f"{PACKAGE}.operators.playlists",
                ],
            }
        ],
        "sensors": [
            {"integration-name": INTEGRATION, "python-modules": [f"{PACKAGE}.sensors.recordings"]}
        ],
        "triggers": [
            {"integration-name": INTEGRATION, "python-modules": [f"{PACKAGE}.triggers.recordings"]}
        ],
        "connection-types": [
            {
                "hook-class-name": f"{PACKAGE}.hooks.posthog.PostHogHook",
                "hook-name": "PostHog",
                "connection-type": "posthog",
                "conn-fields": {
                    "project_id": {
                        "label": "Project ID",
                        "description": "The number in https://us.posthog.com/project/<id>",
                        "schema": {"type": ["integer", "null"]},
                    },
                    "allow_insecure_http": {
                        "label": "Allow plain http",
                        "description": "Only for a self-hosted PostHog without TLS",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {"host": "PostHog host", "password": "Personal API key"},
                    "placeholders": {
                        "host": "https://us.posthog.com",
                        "password": "phx_...",
                    },
                },
            }
        ],
    }
