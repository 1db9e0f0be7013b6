"""Apache Airflow provider for PostHog session recordings.

The Airflow-free parts (client, models, policies, emulator) import without Airflow; the hook,
operators, sensor and trigger live in their own subpackages.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("airflow-provider-posthog-recordings")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
