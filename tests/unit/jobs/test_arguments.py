"""The jobs' argument helpers: id lists and optional whole numbers (the scalar conversions
are tested in tests/unit/client/test_arguments.py)."""

from __future__ import annotations

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogConfigError
from airflow_provider_posthog_recordings.jobs import arguments
from airflow_provider_posthog_recordings.jobs.arguments import as_id_list, as_optional_int


def test_the_scalar_conversions_are_the_clients() -> None:
    from airflow_provider_posthog_recordings.client import arguments as scalar

    assert arguments.as_bool is scalar.as_bool
    assert arguments.as_int is scalar.as_int
    assert arguments.as_positive_number is scalar.as_positive_number


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
