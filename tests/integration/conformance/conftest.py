"""Fixtures of the conformance suite: every scenario runs once per emulator profile."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from posthog_recordings_emulator import PROFILES, PostHogEmulator

from airflow_provider_posthog_recordings.client import PostHogClient
from tests.integration.conformance.helpers import SimClock, cloud_emulator, sim_client


@pytest.fixture(params=sorted(PROFILES))
def profile(request: pytest.FixtureRequest) -> str:
    """Each emulator profile in turn (cloud, cloud_bulk_delete, permissive, self_hosted_legacy)."""
    return str(request.param)


@pytest.fixture
def sim() -> SimClock:
    """A fresh simulated clock, shared by the emulator and the client of a scenario."""
    return SimClock()


@pytest.fixture
def server(sim: SimClock) -> Iterator[Callable[..., PostHogEmulator]]:
    """Start emulators of a profile on the simulated clock; all are stopped afterwards."""
    started: list[PostHogEmulator] = []

    def make(profile: str, **options: Any) -> PostHogEmulator:
        emulator = cloud_emulator(sim, profile, **options)
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def client_of(sim: SimClock) -> Iterator[Callable[..., PostHogClient]]:
    """Clients with PostHog's budgets on the simulated clock; all are closed afterwards."""
    clients: list[PostHogClient] = []

    def make(emulator: PostHogEmulator, **options: Any) -> PostHogClient:
        client = sim_client(emulator, sim, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
