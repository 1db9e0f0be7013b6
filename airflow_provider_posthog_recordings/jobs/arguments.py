"""Checks and conversions of user-given arguments, shared by the hook and the operators.

Values come from connection extras, DAG code and rendered templates, so they may be strings
("true", "100", "a,b"). Every helper names the argument in its error and raises
:class:`PostHogConfigError`. No Airflow import.
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
