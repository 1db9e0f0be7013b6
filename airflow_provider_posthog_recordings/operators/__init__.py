"""The PostHog operators (import them from here or from their modules)."""

from airflow_provider_posthog_recordings.operators.archive_operators import (
    PostHogArchiveRecordingsOperator,
)
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
    "PostHogArchiveRecordingsOperator",
    "PostHogCuratePlaylistOperator",
    "PostHogDeleteRecordingsOperator",
    "PostHogListRecordingsOperator",
    "PostHogMarkRecordingsViewedOperator",
    "PostHogPurgeRecordingsOperator",
    "PostHogShareRecordingsOperator",
]
