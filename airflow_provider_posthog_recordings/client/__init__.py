"""The PostHog client: plain Python, no Airflow import (a test enforces it).

* :mod:`.posthog_client`: :class:`PostHogClient`, the front, composed of its resources;
* :mod:`.resources`: PostHog's resources and their quirks (recordings, deletion with exact
  accounting, playlists, sharing, bulk endpoints);
* :mod:`.http`: HTTP mechanics (transport and its one retry loop, the pure retry decision,
  waits, the key's budget, the one pagination loop, batching, paths);
* :mod:`.models`, :mod:`.query`, :mod:`.errors`, :mod:`.config`: typed objects, the
  recordings query with PostHog's traps, errors, connection values.
"""

from airflow_provider_posthog_recordings.client.posthog_client import PostHogClient

__all__ = ["PostHogClient"]
