"""Shared fixtures: a real PostHog emulator on 127.0.0.1 and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from posthog_recordings_emulator import PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from tests.helpers import connection_json

EmulatorFactory = Callable[..., PostHogEmulator]


@pytest.fixture
def emulator_factory() -> Iterator[EmulatorFactory]:
    """Start emulators with any options; all are stopped after the test."""
    started: list[PostHogEmulator] = []

    def make(**options: Any) -> PostHogEmulator:
        # The client tests exercise mechanisms (bulk calls, item changes, paged items) that
        # need a server allowing them; a test of PostHog Cloud asks for profile="cloud", and
        # tests/integration/conformance runs its scenarios on every profile.
        options.setdefault("profile", "permissive")
        options.setdefault("synthetic_playlists", False)
        options.setdefault("playlist_items_paginated", True)
        emulator = PostHogEmulator(**options).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def posthog(emulator_factory: EmulatorFactory) -> PostHogEmulator:
    """A current-server emulator with no data."""
    return emulator_factory()


@pytest.fixture
def sleeps(mocker: Any) -> Any:
    """A fake sleep that records the waits (real waits would make tests slow)."""
    return mocker.Mock(name="sleep")


@pytest.fixture
def client_for(sleeps: Any) -> Iterator[Callable[..., PostHogClient]]:
    """Build a client for an emulator: fake sleeps, no client-side rate limit, short timeouts."""
    clients: list[PostHogClient] = []

    def make(emulator: PostHogEmulator, **options: Any) -> PostHogClient:
        settings: dict[str, Any] = {
            "sleep": sleeps,
            "requests_per_minute": None,
            "timeout": (2.0, 5.0),
        }
        settings.update(options)
        client = PostHogClient(emulator.url, emulator.api_key, emulator.project_id, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(posthog: PostHogEmulator, client_for: Callable[..., PostHogClient]) -> PostHogClient:
    """A client of the default emulator."""
    return client_for(posthog)


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
