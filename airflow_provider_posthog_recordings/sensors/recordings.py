"""Import path of version 0.1, kept so that existing DAGs still import: use the module below."""

from airflow_provider_posthog_recordings.sensors.recordings_sensor import PostHogRecordingsSensor

__all__ = ["PostHogRecordingsSensor"]
