"""The File playback document: how it is built from snapshot lines, and the load checks."""

from __future__ import annotations

import copy
import gzip
import json
from typing import Any

import pytest

from airflow_provider_posthog_recordings.jobs.playback import (
    build_playback,
    is_mobile,
    load_problems,
)


def _gz(value: Any) -> str:
    return gzip.compress(json.dumps(value).encode(), mtime=0).decode("latin-1")


NODE = {"type": 0, "childNodes": [], "id": 1}
LINES = [
    json.dumps(["uuid-b", {"type": 4, "data": {"width": 10, "height": 5}, "timestamp": 100}]),
    json.dumps(
        ["uuid-b", {"type": 2, "data": _gz({"node": NODE}), "cv": "2024-10", "timestamp": 100}]
    ),
    json.dumps(
        [
            "uuid-b",
            {
                "type": 3,
                "data": {
                    "source": 0,
                    "adds": _gz([{"id": 2}]),
                    "removes": _gz([]),
                    "texts": [],
                    "attributes": [],
                },
                "cv": "2024-10",
                "timestamp": 400,
            },
        ]
    ),  # noqa: E501
    json.dumps(["uuid-a", {"type": 4, "data": {"width": 10, "height": 5}, "timestamp": 200}]),
    json.dumps(["uuid-a", {"type": 2, "data": {"node": NODE}, "timestamp": 201}]),
    json.dumps(["uuid-a", {"type": 3, "data": {"source": 1, "positions": []}, "timestamp": 300}]),
]


def test_windows_are_numbered_in_order_of_first_appearance_decoded_and_sorted() -> None:
    document = build_playback("rec-1", {"id": 7}, LINES)
    assert document["version"] == "2023-04-28"
    assert document["data"]["id"] == "rec-1" and document["data"]["person"] == {"id": 7}
    snapshots = document["data"]["snapshots"]
    assert [(s["windowId"], s["timestamp"]) for s in snapshots] == [
        (1, 100),
        (1, 100),
        (2, 200),
        (2, 201),
        (2, 300),
        (1, 400),
    ]
    assert [s["type"] for s in snapshots[:2]] == [4, 2]  # stable: Meta stays first on a tie
    assert snapshots[1]["data"] == {"node": NODE} and "cv" not in snapshots[1]
    assert snapshots[5]["data"]["adds"] == [{"id": 2}] and snapshots[5]["data"]["removes"] == []
    assert load_problems(document, len(LINES)) == []
    assert not is_mobile(LINES)


def _broken(change: str) -> tuple[dict[str, Any], int]:
    document = build_playback("rec-1", None, LINES)
    snapshots = document["data"]["snapshots"]
    count = len(LINES)
    if change == "empty":
        document["data"]["snapshots"] = []
    elif change == "version":
        document["version"] = "2022-12-02"
    elif change == "unsorted":
        snapshots[0], snapshots[-1] = snapshots[-1], snapshots[0]
    elif change == "window_uuid":
        snapshots[2]["windowId"] = "uuid-a"
    elif change == "type_text":
        snapshots[3]["type"] = "2"
    elif change == "timestamp_text":
        snapshots[4]["timestamp"] = "300"
    elif change == "compressed_full":
        snapshots[1]["data"] = _gz({"node": NODE})
    elif change == "compressed_mutation":
        snapshots[5]["data"]["adds"] = _gz([])
    elif change == "no_meta":
        del snapshots[2]
        count -= 1
    elif change == "count":
        count += 1
    return document, count


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("empty", "missing or empty"),
        ("version", "version"),
        ("unsorted", "not sorted"),
        ("window_uuid", "integer windowId"),
        ("type_text", "integer type"),
        ("timestamp_text", "numeric timestamp"),
        ("compressed_full", "without a decoded node"),
        ("compressed_mutation", "compressed field 'adds'"),
        ("no_meta", "no Meta before it"),
        ("count", "7 raw lines"),
    ],
)
def test_each_load_check_refuses_its_defect(change: str, problem: str) -> None:
    document, count = _broken(change)
    problems = load_problems(copy.deepcopy(document), count)
    assert any(problem in text for text in problems), problems


def test_mobile_recordings_are_recognised() -> None:
    mobile = [json.dumps(["w", {"type": 2, "data": {"wireframes": []}, "timestamp": 1}])]
    assert is_mobile(mobile)
