"""Testing helpers: a PostHog session-recordings API emulator (standard library only).

Start one with ``PostHogEmulator().start()`` or ``with PostHogEmulator() as posthog:``,
or from a shell with ``python -m posthog_recordings_emulator``.
``PROFILES`` names the servers it can pretend to be (``profile="cloud"`` by default).
"""

from __future__ import annotations

from .core import RequestRecord
from .emulator import PostHogEmulator
from .faults import FAULT_KINDS
from .profiles import PROFILES
from .state import ALL_SCOPES

__all__ = ["ALL_SCOPES", "FAULT_KINDS", "PROFILES", "PostHogEmulator", "RequestRecord"]
