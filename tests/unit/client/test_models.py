"""Models: realistic API objects parse, unknown fields are kept, datetimes are aware UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from airflow_provider_posthog_recordings.client.models import (
    DeleteResult,
    Person,
    Playlist,
    Recording,
    SharingConfiguration,
)

UTC = timezone.utc


def full_recording() -> dict[str, Any]:
    """A recording as the current list endpoint returns it (every documented field)."""
    return {
        "id": "0191c2b4-6d5e-7a3b-9c1f-2e4d6f8a0b1c",
        "distinct_id": "user-42",
        "viewed": True,
        "viewers": ["ana@example.com", "bo@example.com"],
        "recording_duration": 754,
        "active_seconds": 512.5,
        "inactive_seconds": 241.5,
        "start_time": "2024-05-01T10:00:00Z",
        "end_time": "2024-05-01T12:12:34.567+02:00",
        "click_count": 31,
        "keypress_count": 120,
        "mouse_activity_count": 404,
        "console_log_count": 12,
        "console_warn_count": 3,
        "console_error_count": 1,
        "start_url": "https://shop.example.com/checkout?step=2",
        "person": {
            "id": 987654,
            "uuid": "0189aa00-1111-2222-3333-444455556666",
            "name": "ana@example.com",
            "distinct_ids": ["user-42", "anon-7"],
            "properties": {"email": "ana@example.com", "$browser": "Firefox"},
            "created_at": "2023-11-20T08:15:00.000000Z",
        },
        "retention_period_days": 30,
        "expiry_time": "2024-05-31T10:00:00Z",
        "recording_ttl": 17,
        "snapshot_source": "web",
        "ongoing": False,
        "activity_score": 63.7,
        "has_summary": False,
        "matches_filters": {"events": []},
        "external_references": [{"integration": "linear", "id": "LIN-12"}],
        "storage": "object_storage",
    }


def test_full_recording() -> None:
    rec = Recording.model_validate(full_recording())
    assert rec.id == "0191c2b4-6d5e-7a3b-9c1f-2e4d6f8a0b1c"
    assert rec.distinct_id == "user-42"
    assert rec.viewed is True
    assert rec.viewers == ["ana@example.com", "bo@example.com"]
    assert rec.recording_duration == 754.0
    assert (rec.active_seconds, rec.inactive_seconds) == (512.5, 241.5)
    assert rec.start_time == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert rec.end_time == datetime(2024, 5, 1, 10, 12, 34, 567000, tzinfo=UTC)
    assert rec.end_time is not None and rec.end_time.utcoffset() == timedelta(0)
    assert (rec.click_count, rec.keypress_count, rec.mouse_activity_count) == (31, 120, 404)
    assert (rec.console_log_count, rec.console_warn_count, rec.console_error_count) == (12, 3, 1)
    assert rec.start_url == "https://shop.example.com/checkout?step=2"
    assert rec.retention_period_days == 30
    assert rec.expiry_time == datetime(2024, 5, 31, 10, tzinfo=UTC)
    assert rec.recording_ttl == 17
    assert rec.snapshot_source == "web"
    assert rec.ongoing is False
    assert rec.activity_score == 63.7
    assert rec.storage == "object_storage"
    person = rec.person
    assert isinstance(person, Person)
    assert person.id == 987654
    assert person.uuid == "0189aa00-1111-2222-3333-444455556666"
    assert person.name == "ana@example.com"
    assert person.distinct_ids == ["user-42", "anon-7"]
    assert person.properties == {"email": "ana@example.com", "$browser": "Firefox"}
    assert person.created_at == datetime(2023, 11, 20, 8, 15, tzinfo=UTC)


def test_unknown_fields_are_kept_and_dumped() -> None:
    rec = Recording.model_validate(full_recording())
    assert rec.model_extra == {
        "has_summary": False,
        "matches_filters": {"events": []},
        "external_references": [{"integration": "linear", "id": "LIN-12"}],
    }
    dumped = rec.model_dump(mode="json")
    assert dumped["has_summary"] is False
    assert dumped["external_references"] == [{"integration": "linear", "id": "LIN-12"}]
    assert dumped["start_time"] == "2024-05-01T10:00:00Z"
    assert dumped["end_time"] == "2024-05-01T10:12:34.567000Z"


def test_unknown_person_fields_are_kept() -> None:
    person = Person.model_validate({"uuid": "u", "is_identified": True})
    assert person.model_extra == {"is_identified": True}


def test_round_trip() -> None:
    rec = Recording.model_validate(full_recording())
    again = Recording.model_validate(rec.model_dump(mode="json"))
    assert again == rec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T05:30:00-04:30", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00.123456", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        (datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ],
)
def test_datetimes_are_aware_utc(text: object, expected: datetime) -> None:
    rec = Recording.model_validate({"id": "s", "start_time": text})
    assert rec.start_time == expected
    assert rec.start_time is not None
    assert rec.start_time.tzinfo is not None
    assert rec.start_time.utcoffset() == timedelta(0)


def test_nulls_are_accepted() -> None:
    nullable = [
        "distinct_id",
        "recording_duration",
        "active_seconds",
        "inactive_seconds",
        "start_time",
        "end_time",
        "click_count",
        "keypress_count",
        "mouse_activity_count",
        "console_log_count",
        "console_warn_count",
        "console_error_count",
        "start_url",
        "person",
        "retention_period_days",
        "expiry_time",
        "recording_ttl",
        "snapshot_source",
        "ongoing",
        "activity_score",
        "storage",
    ]
    rec = Recording.model_validate({"id": "s", **dict.fromkeys(nullable)})
    assert all(getattr(rec, name) is None for name in nullable)
    assert rec.viewed is False
    assert rec.viewers == []


def test_minimal_recording_defaults() -> None:
    rec = Recording.model_validate({"id": "s"})
    assert rec.start_time is None
    assert rec.person is None
    assert rec.viewed is False
    assert rec.viewers == []
    assert rec.model_extra == {}


def test_person_with_null_dates_and_string_id() -> None:
    person = Person.model_validate({"id": "abc", "created_at": None})
    assert person.id == "abc"
    assert person.created_at is None
    assert person.distinct_ids == []
    assert person.properties == {}


def test_recording_needs_an_id() -> None:
    with pytest.raises(ValidationError):
        Recording.model_validate({"distinct_id": "x"})


# ------------------------------------------------------------------ Playlist


def playlist(**fields: Any) -> Playlist:
    return Playlist.model_validate({"short_id": "abc123", **fields})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, False),
        ({"is_synthetic": True}, True),
        ({"short_id": "synthetic-watch_history"}, True),
        ({"short_id": "synthetic-x", "is_synthetic": False}, True),
        ({"short_id": "my-synthetic-list"}, False),
    ],
)
def test_synthetic(fields: dict[str, Any], expected: bool) -> None:
    assert playlist(**fields).synthetic is expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"type": "collection"}, True),
        ({"type": "collection", "filters": {"events": [1]}}, True),
        ({"type": "filters", "filters": {"events": [1]}}, False),
        ({"type": "filters", "filters": {}}, False),
        ({}, True),
        ({"filters": None}, True),
        ({"filters": {}}, True),
        ({"filters": {"date_from": "-7d"}}, False),
        ({"type": None, "filters": {"events": [1]}}, False),
    ],
)
def test_is_collection(fields: dict[str, Any], expected: bool) -> None:
    assert playlist(**fields).is_collection is expected


def test_full_playlist() -> None:
    data = {
        "id": 17,
        "short_id": "Ab3dE",
        "name": "Checkout bugs",
        "derived_name": None,
        "description": "kept for QA",
        "pinned": True,
        "deleted": False,
        "filters": {},
        "type": "collection",
        "created_at": "2024-01-02T03:04:05.678Z",
        "created_by": {"id": 1, "email": "ana@example.com"},
        "last_modified_at": "2024-01-03T03:04:05+01:00",
        "last_modified_by": None,
        "recordings_counts": {"collection": {"count": 4, "watched_count": 1}},
        "is_synthetic": False,
        "_create_in_folder": None,
    }
    pl = Playlist.model_validate(data)
    assert (pl.id, pl.short_id, pl.name, pl.pinned, pl.deleted) == (
        17,
        "Ab3dE",
        "Checkout bugs",
        True,
        False,
    )
    assert pl.created_at == datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert pl.last_modified_at == datetime(2024, 1, 3, 2, 4, 5, tzinfo=UTC)
    assert pl.recordings_counts == {"collection": {"count": 4, "watched_count": 1}}
    assert pl.model_extra == {"_create_in_folder": None}
    assert pl.is_collection is True
    assert pl.synthetic is False


# ------------------------------------------------------------------ SharingConfiguration

HOST = "https://us.posthog.com"


def test_share_urls_when_enabled() -> None:
    config = SharingConfiguration.model_validate(
        {
            "enabled": True,
            "access_token": "tok_ABC",
            "created_at": "2024-05-01T10:00:00Z",
            "settings": {"showInspector": False},
            "password_required": False,
            "public_host": HOST,
        }
    )
    assert config.share_url == "https://us.posthog.com/shared/tok_ABC"
    assert config.embed_url == "https://us.posthog.com/embedded/tok_ABC"
    dumped = config.model_dump()
    assert dumped["share_url"] == "https://us.posthog.com/shared/tok_ABC"
    assert dumped["embed_url"] == "https://us.posthog.com/embedded/tok_ABC"
    assert "public_host" not in dumped
    assert dumped["created_at"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert config.model_dump(mode="json")["share_url"] == "https://us.posthog.com/shared/tok_ABC"


@pytest.mark.parametrize(
    "fields",
    [
        {"enabled": False, "access_token": "tok_unsaved", "public_host": HOST},
        {"enabled": True, "access_token": None, "public_host": HOST},
        {"enabled": True, "access_token": "", "public_host": HOST},
        {"enabled": True, "access_token": "tok"},
        {},
    ],
)
def test_no_share_urls_unless_enabled_with_token_and_host(fields: dict[str, Any]) -> None:
    config = SharingConfiguration.model_validate(fields)
    assert config.share_url is None
    assert config.embed_url is None
    dumped = config.model_dump()
    assert dumped["share_url"] is None
    assert dumped["embed_url"] is None


def test_unsaved_sharing_config() -> None:
    config = SharingConfiguration.model_validate(
        {
            "enabled": False,
            "access_token": "tok_x",
            "created_at": None,
            "settings": None,
            "new_field": 1,
        }
    )
    assert config.created_at is None
    assert config.model_extra == {"new_field": 1}


def test_public_host_by_attribute() -> None:
    config = SharingConfiguration(enabled=True, access_token="t", public_host=HOST)
    assert config.share_url == f"{HOST}/shared/t"


# ------------------------------------------------------------------ DeleteResult


def test_delete_result_absorb_and_counts() -> None:
    total = DeleteResult(deleted=["a"], already_gone=["b"], failed={"c": "403 forbidden"})
    assert (total.deleted_count, total.already_gone_count) == (1, 1)
    total.absorb(DeleteResult(deleted=["d", "e"], already_gone=[], failed={"f": "500"}))
    total.absorb(DeleteResult(already_gone=["g"], failed={"c": "retried: 404"}))
    total.absorb(DeleteResult(unattributed=["h", "i", "j"], unattributed_deleted=2))
    total.absorb(DeleteResult(unsent=["k"], wait_seconds=30.0))
    total.absorb(DeleteResult(unsent=["l"], wait_seconds=10.0))
    assert total.deleted == ["a", "d", "e"]
    assert total.already_gone == ["b", "g"]
    assert total.failed == {"c": "retried: 404", "f": "500"}
    assert total.deleted_count == 5  # 3 attributed + 2 of the 3 unattributed
    assert total.already_gone_count == 3  # 2 + the third unattributed one
    assert total.unsent == ["k", "l"]
    assert total.wait_seconds == 30.0


def test_delete_result_defaults_are_not_shared() -> None:
    first, second = DeleteResult(), DeleteResult()
    first.deleted.append("x")
    assert second.deleted == []
    assert first.deleted_count == 1
    assert second.deleted_count == 0


def test_absorb_does_not_change_the_other() -> None:
    other = DeleteResult(deleted=["a"])
    total = DeleteResult()
    total.absorb(other)
    total.deleted.append("b")
    assert other.deleted == ["a"]


def test_collection_count() -> None:
    counts = {"collection": {"count": 120, "watched_count": 0, "has_more": False}}
    assert Playlist(short_id="p", recordings_counts=counts).collection_count == 120
    assert Playlist(short_id="p").collection_count is None
    assert Playlist(short_id="p", recordings_counts={"collection": {}}).collection_count is None
