"""The shared argument helpers: one reading of true/false, whole numbers and id lists."""

from __future__ import annotations

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.jobs.arguments import (
    as_bool,
    as_id_list,
    as_int,
    as_optional_int,
    as_positive_number,
)


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("a, b,,a", ["a", "b"]),
        (["b", " a ", "b", ""], ["b", "a"]),
        (("x",), ["x"]),
        ({"y"}, ["y"]),
    ],
)
def test_id_list(value: object, expected: list[str]) -> None:
    assert as_id_list(value, "recording_ids") == expected


def test_id_list_of_another_type() -> None:
    with pytest.raises(PostHogConfigError) as info:
        as_id_list(12, "recording_ids")
    assert str(info.value) == "recording_ids must be a list of ids, not int"


def validate_max_deletions(value: object) -> int | None:
    return as_optional_int(value, "max_deletions")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("None", None), ("", None), (0, 0), (500, 500), ("25", 25), (" 3 ", 3)],
)
def test_validate_max_deletions(value: object, expected: int | None) -> None:
    assert validate_max_deletions(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "max_deletions must be a whole number, not True"),
        (2.5, "max_deletions must be a whole number, not 2.5"),
        ([1], "max_deletions must be a whole number, not [1]"),
        ("many", "max_deletions must be a whole number, not 'many'"),
        (-1, "max_deletions must be 0 or more, not -1"),
        ("-5", "max_deletions must be 0 or more, not -5"),
    ],
)
def test_invalid_max_deletions(value: object, message: str) -> None:
    with pytest.raises(PostHogConfigError) as info:
        validate_max_deletions(value)
    assert str(info.value) == message
