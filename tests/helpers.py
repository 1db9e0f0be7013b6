"""Helpers shared by the tests (fixtures are in tests/conftest.py)."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_posthog_recordings.testing import PostHogEmulator


def connection_json(emulator: PostHogEmulator, **extra: Any) -> str:
    """The AIRFLOW_CONN_... value for an emulator."""
    return json.dumps(
        {
            "conn_type": "posthog",
            "host": emulator.url,
            "password": emulator.api_key,
            "extra": {"project_id": emulator.project_id, **extra},
        }
    )
