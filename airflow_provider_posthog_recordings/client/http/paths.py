"""Ids that go into request paths."""

from __future__ import annotations

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError


def safe_id(value: str) -> str:
    """Refuse ids that would change the request path (``/``, ``..``, blanks, ``?``, ``#``)."""
    text = str(value).strip()
    if not text or "/" in text or text in (".", "..") or "?" in text or "#" in text:
        raise PostHogConfigError(f"invalid id {value!r}")
    return text
