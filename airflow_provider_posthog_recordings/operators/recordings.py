"""Import path of version 0.1, kept so that existing DAGs still import: use the modules below."""

from airflow_provider_posthog_recordings.operators.deletion_operators import (
    PostHogDeleteRecordingsOperator,
    PostHogPurgeRecordingsOperator,
)
from airflow_provider_posthog_recordings.operators.recording_operators import (
    PostHogListRecordingsOperator,
    PostHogMarkRecordingsViewedOperator,
    PostHogShareRecordingsOperator,
)

__all__ = [
    "PostHogDeleteRecordingsOperator",
    "PostHogListRecordingsOperator",
    "PostHogMarkRecordingsViewedOperator",
    "PostHogPurgeRecordingsOperator",
    "PostHogShareRecordingsOperator",
]
