"""Fixtures of the reliability suite (the emulator and client fixtures are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def no_sleep(mocker: Any) -> Any:
    """Operators build their own clients: make their retry waits instant.

    Only the package's own wait function is replaced; the emulator's delays stay real.
    """
    return mocker.patch("airflow_provider_posthog_recordings.client.http.backoff.sleep")
