"""Conversions of user-given values: true/false, whole numbers, positive numbers (pure).

Values come from connection extras, DAG code and rendered templates, so they may be strings
("true", "100", "2.5"). Every helper names the argument in its error and raises
:class:`PostHogConfigError`. The hook reads connection extras with them and the jobs'
arguments build on them (:mod:`airflow_provider_posthog_recordings.jobs.arguments`); here,
at the client's floor, both can import them. No Airflow import.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError

#: Words read as true or false (compared lower-cased, stripped).
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "none", ""})


def as_bool(value: Any, name: str) -> bool:
    """Read a true/false argument: a bool, None (false), or one of the words above.

    :raises PostHogConfigError: for anything else (``"maybe"``, ``2``, a list, ...).
    """
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise PostHogConfigError(f"{name} must be true or false, not {value!r}")


def _number(value: Any, parse: Callable[[str], float]) -> float | None:
    """An int or float as is, a string through ``parse``; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return parse(value.strip())
        except ValueError:
            return None
    return None


def as_int(value: Any, name: str, *, minimum: int = 0) -> int:
    """Read a whole number of at least ``minimum`` (an int or a string of digits).

    :raises PostHogConfigError: not a whole number ("must be a whole number"), or below
        ``minimum`` ("must be 0 or more", "must be 1 or more", ...).
    """
    number = _number(value, int)
    if number is None or not float(number).is_integer():
        raise PostHogConfigError(f"{name} must be a whole number, not {value!r}")
    if number < minimum:
        raise PostHogConfigError(f"{name} must be {minimum} or more, not {int(number)}")
    return int(number)


def as_positive_number(value: Any, name: str) -> float:
    """Read a number greater than 0 (an int, a float or a numeric string), e.g. seconds.

    :raises PostHogConfigError: not a finite number, or 0 or less.
    """
    number = _number(value, float)
    if number is None or not math.isfinite(number):
        raise PostHogConfigError(f"{name} must be a number, not {value!r}")
    if number <= 0:
        raise PostHogConfigError(f"{name} must be more than 0, not {value!r}")
    return float(number)
