"""Airflow-level fixtures: the emulator given to Airflow as the posthog_default connection."""

from __future__ import annotations

import json
from typing import Any

import pytest

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


@pytest.fixture
def no_sleep(mocker: Any) -> Any:
    """Operators build their own clients: make their retry waits instant (and recorded).

    Only the package's own wait function is replaced; the emulator's delays stay real.
    """
    return mocker.patch("airflow_provider_posthog_recordings.client.http.backoff.sleep")


@pytest.fixture
def posthog_conn(posthog: PostHogEmulator, monkeypatch: Any, no_sleep: Any) -> PostHogEmulator:
    """The default emulator, reachable as the ``posthog_default`` connection."""
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(posthog))
    return posthog


@pytest.fixture
def cloud_conn(emulator_factory: Any, monkeypatch: Any, no_sleep: Any) -> PostHogEmulator:
    """An emulator that behaves like PostHog Cloud for a personal API key (its default profile,
    with PostHog's budgets), reachable as the ``posthog_default`` connection."""
    server = emulator_factory(
        profile="cloud", synthetic_playlists=True, playlist_items_paginated=False
    )
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", connection_json(server))
    return server
