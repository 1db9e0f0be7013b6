"""The PostHog operators (import them from here or from their modules)."""

from airflow_provider_posthog_recordings.operators.deletion_operators import (
    PostHogDeleteRecordingsOperator,
    PostHogPurgeRecordingsOperator,
)
from airflow_provider_posthog_recordings.operators.playlist_operators import (
    PostHogCuratePlaylistOperator,
)
from airflow_provider_posthog_recordings.operators.recording_operators import (
    PostHogListRecordingsOperator,
    PostHogMarkRecordingsViewedOperator,
    PostHogShareRecordingsOperator,
)

__all__ = [
    "PostHogCuratePlaylistOperator",
    "PostHogDeleteRecordingsOperator",
    "PostHogListRecordingsOperator",
    "PostHogMarkRecordingsViewedOperator",
    "PostHogPurgeRecordingsOperator",
    "PostHogShareRecordingsOperator",
]
