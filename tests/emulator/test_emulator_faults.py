"""The emulator's fault injection, throttling and rate limits over real HTTP."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import urllib3
from posthog_recordings_emulator import FAULT_KINDS, PostHogEmulator

LIST = "session_recordings/"


class Api:
    """A requests.Session bound to one emulator project and key."""

    def __init__(self, emulator: PostHogEmulator, key: str | None = None) -> None:
        self.base = f"{emulator.url}/api/projects/{emulator.project_id}/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key or emulator.api_key}"

    def get(self, path: str, timeout: float = 10, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=timeout)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.base + path, timeout=10)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=10)


@pytest.fixture
def emulator() -> Iterator[PostHogEmulator]:
    with PostHogEmulator() as emu:
        emu.seed_recordings(20, days=2)
        yield emu


@pytest.fixture
def api(emulator: PostHogEmulator) -> Api:
    return Api(emulator)


THROTTLED = {
    "type": "throttled_error",
    "code": "throttled",
    "detail": "Request was throttled. Expected available in 7 seconds.",
    "attr": None,
}


def test_429_with_detail_only(emulator: PostHogEmulator, api: Api) -> None:
    emulator.inject("429_detail", seconds=7)
    response = api.get(LIST)
    assert response.status_code == 429 and response.json() == THROTTLED
    assert "Retry-After" not in response.headers
    assert api.get(LIST).status_code == 200
    assert emulator.faults_injected == {"429_detail": 1}
    assert [r.fault for r in emulator.requests] == ["429_detail", None]


def test_429_with_retry_after(emulator: PostHogEmulator, api: Api) -> None:
    emulator.inject("429_retry_after", seconds=7)
    response = api.get(LIST)
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.json() == THROTTLED


def test_server_errors(emulator: PostHogEmulator, api: Api) -> None:
    emulator.inject("500")
    failed = api.get(LIST)
    assert failed.status_code == 500 and "error" in failed.json()
    for status in ("502", "503", "504"):
        emulator.inject(status)
        response = api.get(LIST)
        assert response.status_code == int(status)
        assert response.headers["Content-Type"].startswith("text/html")
        assert status in response.text
    assert api.get(LIST).status_code == 200


def test_drop_before_has_no_effect(emulator: PostHogEmulator, api: Api) -> None:
    rid = min(emulator.recording_ids())
    emulator.inject("drop_before", method="DELETE")
    with pytest.raises(requests.ConnectionError):
        api.delete(f"{LIST}{rid}/")
    assert rid in emulator.recording_ids()
    assert emulator.requests[-1].status is None
    assert api.delete(f"{LIST}{rid}/").status_code == 204


def test_drop_after_performs_the_effect(emulator: PostHogEmulator, api: Api) -> None:
    rid = min(emulator.recording_ids())
    emulator.inject("drop_after", method="DELETE")
    with pytest.raises(requests.ConnectionError):
        api.delete(f"{LIST}{rid}/")
    assert rid not in emulator.recording_ids() and rid in emulator.deleted_ids
    assert emulator.requests[-1].status is None
    assert api.delete(f"{LIST}{rid}/").status_code == 204  # a retry counts as done


def test_slow(emulator: PostHogEmulator, api: Api) -> None:
    emulator.inject("slow", seconds=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(LIST, timeout=0.15)
    started = time.monotonic()
    emulator.inject("slow", seconds=0.2)
    assert api.get(LIST).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_truncated(emulator: PostHogEmulator, api: Api) -> None:
    emulator.inject("truncated")
    if int(urllib3.__version__.split(".")[0]) >= 2:
        with pytest.raises(requests.exceptions.RequestException):
            api.get(LIST)
    else:  # urllib3 1.x (with requests 2.28) returns the short body without complaint
        short = api.get(LIST)
        assert len(short.content) < int(short.headers["Content-Length"])
    assert emulator.requests[-1].status == 200
    assert api.get(LIST).status_code == 200


def test_non_json(emulator: PostHogEmulator, api: Api) -> None:
    emulator.inject("non_json")
    response = api.get(LIST)
    assert response.status_code == 200 and response.text == "<html>oops</html>"
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_repeat_items(emulator: PostHogEmulator, api: Api) -> None:
    first = api.get(LIST, limit=5).json()
    emulator.inject("repeat_items")
    second = api.get(LIST, limit=5, after=first["next_cursor"]).json()
    first_ids = [r["id"] for r in first["results"]]
    second_ids = [r["id"] for r in second["results"]]
    assert second_ids[:2] == first_ids[:2] and len(second_ids) == 7
    emulator.inject("repeat_items")  # non-list requests do not consume it
    assert api.get(f"{LIST}{first_ids[0]}/").status_code == 200
    assert emulator.faults_injected["repeat_items"] == 1


def test_matching_times_and_skip(emulator: PostHogEmulator, api: Api) -> None:
    emulator.inject("503", times=2, skip=1, method="GET", path_contains="/sharing/")
    rid = min(emulator.recording_ids())
    assert api.get(LIST).status_code == 200  # not matching
    statuses = [api.get(f"{LIST}{rid}/sharing/").status_code for _ in range(4)]
    assert statuses == [200, 503, 503, 200]
    assert emulator.faults_injected == {"503": 2}
    with pytest.raises(ValueError):
        emulator.inject("teapot")


def test_every_kind_is_counted(emulator: PostHogEmulator, api: Api) -> None:
    for kind in sorted(FAULT_KINDS - {"recording_api_failure"}):
        emulator.inject(kind, seconds=0.01)
        with contextlib.suppress(requests.RequestException):
            api.get(LIST, limit=2)
    emulator.inject("recording_api_failure")
    api.get(LIST, limit=2)  # not a deletion: the fault waits for one
    api.delete("session_recordings/any-id/")
    assert emulator.faults_injected == {kind: 1 for kind in FAULT_KINDS}
    assert emulator.internal_errors == []


def test_throttle_every(emulator: PostHogEmulator, api: Api) -> None:
    emulator.throttle_every(3, seconds=2)
    statuses = [api.get(LIST).status_code for _ in range(7)]
    assert statuses == [200, 200, 429, 200, 200, 429, 200]
    emulator.throttle_every(0)
    assert all(api.get(LIST).status_code == 200 for _ in range(4))


def test_random_faults_are_reproducible() -> None:
    runs = []
    for _ in range(2):
        with PostHogEmulator() as emulator:
            emulator.random_faults(seed=42, rate=0.3, kinds=["500", "429_detail", "503"])
            api = Api(emulator)
            runs.append([api.get(LIST).status_code for _ in range(40)])
            emulator.random_faults(seed=0, rate=0, kinds=[])
            assert api.get(LIST).status_code == 200
    assert runs[0] == runs[1]
    assert 3 <= sum(status != 200 for status in runs[0]) <= 25


def test_rate_limit_per_key() -> None:
    with PostHogEmulator(rate_limit_per_minute=5) as emulator:
        emulator.add_api_key("phx_second")
        api = Api(emulator)
        assert [api.get(LIST).status_code for _ in range(5)] == [200] * 5
        throttled = api.get(f"{LIST}abc/")
        assert throttled.status_code == 429 and "Retry-After" not in throttled.headers
        detail = throttled.json()["detail"]
        wait = int(detail.removeprefix("Request was throttled. Expected available in ").split()[0])
        assert 1 <= wait <= 60 and detail.endswith(" seconds.")
        assert Api(emulator, "phx_second").get(LIST).status_code == 200
        assert emulator.faults_injected == {}


def test_list_rate_limit() -> None:
    with PostHogEmulator(list_rate_limit_per_minute=2, rate_limit_per_minute=4) as emulator:
        rid = emulator.add_recording()["id"]
        api = Api(emulator)
        assert [api.get(LIST).status_code for _ in range(3)] == [200, 200, 429]
        assert api.get(f"{LIST}{rid}/").status_code == 200  # other endpoints still allowed
        assert api.get(f"{LIST}{rid}/").status_code == 200
        assert api.get(f"{LIST}{rid}/").status_code == 429  # 4 allowed in total


def test_latency() -> None:
    with PostHogEmulator(latency=0.1) as emulator:
        started = time.monotonic()
        assert Api(emulator).get(LIST).status_code == 200
        assert time.monotonic() - started >= 0.1
