"""PostHog's own answers (``posthog_responses/``), parsed by the client's models.

These shapes come from PostHog's serializer tests and frontend mocks (each file names its
repository path and commit), not from this project's emulator: a model that drifts from
PostHog fails here even when the emulator drifted with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import (
    PostHogAuthError,
    PostHogRateLimitError,
    PostHogValidationError,
    api_error_from_response,
)
from airflow_provider_posthog_recordings.client.http.backoff import throttle_wait
from airflow_provider_posthog_recordings.client.http.pagination import PageRequest, next_page
from airflow_provider_posthog_recordings.client.models import (
    Playlist,
    Recording,
    SharingConfiguration,
)

HERE = Path(__file__).with_name("posthog_responses")


def load(name: str) -> dict[str, Any]:
    doc = json.loads((HERE / name).read_text(encoding="utf-8"))
    source = doc["source"]
    assert source["repo"] == "PostHog/posthog" and len(source["commit"]) == 40 and source["path"]
    return doc


def test_every_file_names_its_source() -> None:
    names = sorted(p.name for p in HERE.glob("*.json"))
    assert len(names) == 12
    for name in names:
        load(name)


@pytest.mark.parametrize(
    "name",
    [
        "recordings_list_server.json",
        "recordings_list_frontend_mock.json",
        "playlist_items_server.json",
    ],
)
def test_recordings_lists(name: str) -> None:
    body = load(name)["body"]
    recordings = [Recording.model_validate(item) for item in body["results"]]
    assert recordings and all(r.id for r in recordings)
    for recording, raw in zip(recordings, body["results"], strict=True):
        assert recording.id == raw["id"]
        assert recording.viewed is raw.get("viewed", False)
        if raw.get("start_time"):
            assert recording.start_time is not None and recording.start_time.tzinfo is not None
        # Unknown fields are kept (``email`` of the mock, ``matching_events``, ...).
        for key in raw.keys() - Recording.model_fields.keys():
            assert getattr(recording, key) == raw[key]
    # The last page of a list: the client stops.
    sent = PageRequest(params={"limit": "50"})
    assert next_page(body, sent, "https://us.posthog.com") is None


def test_server_recording_fields() -> None:
    recording = Recording.model_validate(load("recordings_list_server.json")["body"]["results"][0])
    assert recording.ongoing is True and recording.snapshot_source == "web"
    assert recording.person is not None and recording.person.distinct_ids == ["user"]
    assert recording.storage == "object_storage" and recording.viewers == []


@pytest.mark.parametrize("name", ["recording_server.json", "recording_legacy.json"])
def test_one_recording(name: str) -> None:
    raw = load(name)["body"]
    recording = Recording.model_validate(raw)
    assert recording.id == raw["id"]
    assert recording.recording_duration == float(raw["recording_duration"])
    assert recording.person is not None and recording.person.id == raw["person"]["id"]


def test_mock_recording_duration_as_number_and_person_id_as_text() -> None:
    first = load("recordings_list_frontend_mock.json")["body"]["results"][0]
    recording = Recording.model_validate(first)
    assert recording.recording_duration == pytest.approx(1172.675)
    assert recording.person is not None and recording.person.id == "12345"


@pytest.mark.parametrize(
    "name", ["playlists_list_server.json", "playlists_list_frontend_mock.json"]
)
def test_playlist_lists(name: str) -> None:
    body = load(name)["body"]
    playlists = [Playlist.model_validate(item) for item in body["results"]]
    assert {p.short_id for p in playlists} == {item["short_id"] for item in body["results"]}
    assert all(p.is_collection and not p.synthetic for p in playlists)
    # DRF pagination: no "next" URL, so the client stops.
    assert next_page(body, PageRequest(params={"limit": "100"}), "https://us.posthog.com") is None


def test_playlist_with_recordings_counts() -> None:
    playlist = Playlist.model_validate(load("playlist_server.json")["body"])
    assert playlist.recordings_counts is not None
    saved = playlist.recordings_counts["saved_filters"]
    assert saved["count"] == 2 and saved["watched_count"] == 1 and saved["has_more"] is False
    # A collection whose count PostHog has not computed: None, not 0.
    assert playlist.collection_count is None
    assert playlist.created_by is not None and playlist.created_by["hedgehog_config"] is None


def test_mock_playlist_counts() -> None:
    first = load("playlists_list_frontend_mock.json")["body"]["results"][0]
    assert Playlist.model_validate(first).collection_count == 10
    without = load("playlists_list_frontend_mock.json")["body"]["results"][2]
    assert Playlist.model_validate(without).collection_count is None


def test_unsaved_sharing_is_no_link() -> None:
    sharing = SharingConfiguration.model_validate(load("sharing_unsaved.json")["body"])
    assert sharing.enabled is False and sharing.created_at is None
    assert sharing.access_token and sharing.share_url is None and sharing.embed_url is None


@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [
        ("error_400_validation.json", PostHogValidationError, "invalid_input"),
        ("error_403_permission.json", PostHogAuthError, "permission_denied"),
        ("error_429_throttled.json", PostHogRateLimitError, "throttled"),
    ],
)
def test_errors(name: str, kind: type, code: str) -> None:
    doc = load(name)
    error = api_error_from_response(
        status=doc["status"], method="GET", path="/api/projects/1/x/", body=doc["body"]
    )
    assert type(error) is kind and error.code == code
    assert error.detail == doc["body"]["detail"] and doc["body"]["detail"] in str(error)


def test_429_wait_is_read_from_detail() -> None:
    doc = load("error_429_throttled.json")
    wait = throttle_wait(doc["headers"], doc["body"], attempt=1, cap=3600)
    assert 62 <= wait <= 63
