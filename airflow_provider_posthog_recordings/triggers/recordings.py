"""Import path of version 0.1, kept so that triggers stored under it by a running Airflow
still load: use the module below."""

from airflow_provider_posthog_recordings.triggers.recordings_trigger import (
    PostHogRecordingsTrigger,
)

__all__ = ["PostHogRecordingsTrigger"]
