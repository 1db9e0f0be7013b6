"""Checks and conversions of user-given arguments, shared by the operators and the jobs.

Values come from DAG code and rendered templates, so they may be strings ("true", "100",
"a,b"). Every helper names the argument in its error and raises :class:`PostHogConfigError`.
The scalar conversions live in :mod:`airflow_provider_posthog_recordings.client.arguments`
(the hook uses them too) and are importable from here as well. No Airflow import.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_posthog_recordings.client.arguments import (
    FALSE_WORDS,
    TRUE_WORDS,
    as_bool,
    as_int,
    as_positive_number,
)
from airflow_provider_posthog_recordings.client.errors import PostHogConfigError

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "as_bool",
    "as_id_list",
    "as_int",
    "as_optional_int",
    "as_positive_number",
]


def as_id_list(value: Any, name: str) -> list[str]:
    """Read ids: a list (tuple, set) of ids, a comma-separated string, or None (no ids).

    :return: The ids stripped, without empty ones and duplicates, in their first order.

    :raises PostHogConfigError: for any other type.
    """
    if value is None:
        return []
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple | set | frozenset):
        items = [str(part).strip() for part in value]
    else:
        raise PostHogConfigError(f"{name} must be a list of ids, not {type(value).__name__}")
    return [item for item in dict.fromkeys(items) if item]


def as_optional_int(value: Any, name: str, *, minimum: int = 0) -> int | None:
    """Like :func:`as_int`, but None (or the text "none" or "", as a template renders it)
    means "no limit" and gives None."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    return as_int(value, name, minimum=minimum)
