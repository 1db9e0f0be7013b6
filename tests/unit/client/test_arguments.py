"""The scalar conversions: one reading of true/false, whole numbers and positive numbers."""

from __future__ import annotations

import pytest

from airflow_provider_posthog_recordings.client.arguments import (
    as_bool,
    as_int,
    as_positive_number,
)
from airflow_provider_posthog_recordings.client.errors import PostHogConfigError


@pytest.mark.parametrize("value", [True, "true", "TRUE", " yes ", "on", "1", 1])
def test_true(value: object) -> None:
    assert as_bool(value, "flag") is True


@pytest.mark.parametrize("value", [False, None, "false", "No", "off", "0", 0, "", "none"])
def test_false(value: object) -> None:
    assert as_bool(value, "flag") is False


@pytest.mark.parametrize("value", ["maybe", 2, [True], "tru"])
def test_not_a_bool(value: object) -> None:
    with pytest.raises(PostHogConfigError) as info:
        as_bool(value, "report_only")
    assert str(info.value) == f"report_only must be true or false, not {value!r}"


@pytest.mark.parametrize(("value", "expected"), [(0, 0), ("12", 12), (" 7 ", 7), (3.0, 3)])
def test_int(value: object, expected: int) -> None:
    result = as_int(value, "n")
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", ["ten", "1.5", 1.5, None, True, [1], "{{ params.n }}"])
def test_not_a_whole_number(value: object) -> None:
    with pytest.raises(PostHogConfigError) as info:
        as_int(value, "max_deletions")
    assert str(info.value) == f"max_deletions must be a whole number, not {value!r}"


def test_int_below_the_minimum() -> None:
    with pytest.raises(PostHogConfigError) as info:
        as_int("-1", "max_deletions")
    assert str(info.value) == "max_deletions must be 0 or more, not -1"
    with pytest.raises(PostHogConfigError, match="page_size must be 1 or more, not 0"):
        as_int(0, "page_size", minimum=1)
    assert as_int(1, "page_size", minimum=1) == 1


@pytest.mark.parametrize(("value", "expected"), [(2, 2.0), ("2.5", 2.5), (0.1, 0.1)])
def test_positive_number(value: object, expected: float) -> None:
    assert as_positive_number(value, "timeout") == expected


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (0, "must be more than 0"),
        ("-1", "must be more than 0"),
        ("soon", "must be a number"),
        ("nan", "must be a number"),
        (True, "must be a number"),
        (None, "must be a number"),
    ],
)
def test_not_a_positive_number(value: object, match: str) -> None:
    with pytest.raises(PostHogConfigError, match=f"timeout {match}"):
        as_positive_number(value, "timeout")
