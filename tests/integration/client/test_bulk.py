"""Bulk endpoints, their caps, and the fallback when a server refuses them."""

from __future__ import annotations

import logging
from typing import Any

import pytest


def _posts(emulator: Any, suffix: str) -> list[Any]:
    return [r for r in emulator.requests if r.method == "POST" and r.path.endswith(suffix)]


def test_bulk_delete_sends_100_ids_a_request(posthog: Any, client: Any) -> None:
    ids = posthog.seed_recordings(250, days=5)
    result = client.delete_recordings(ids)
    assert sorted(result.deleted) == sorted(ids)
    sizes = sorted(len(r.body["session_recording_ids"]) for r in _posts(posthog, "bulk_delete/"))
    assert sizes == [50, 100, 100]
    assert posthog.recording_ids() == set()


def test_ids_already_gone_are_reported_not_failed(posthog: Any, client: Any) -> None:
    ids = posthog.seed_recordings(10, days=5)
    posthog.delete_recording(ids[0])
    result = client.delete_recordings(ids)
    assert result.already_gone == [ids[0]]
    assert sorted(result.deleted) == sorted(ids[1:])
    assert result.failed == {}


@pytest.mark.parametrize("bulk_mode", ["refuse", "missing"])
def test_refused_bulk_falls_back_to_single_deletes_for_the_rest_of_the_run(
    emulator_factory: Any, client_for: Any, bulk_mode: str
) -> None:
    server = emulator_factory(bulk_mode=bulk_mode)
    ids = server.seed_recordings(130, days=5)
    client = client_for(server)
    result = client.delete_recordings(ids)
    assert sorted(result.deleted) == sorted(ids)
    assert len(_posts(server, "bulk_delete/")) == 1
    singles = [r for r in server.requests if r.method == "DELETE"]
    assert len(singles) == 130
    assert server.recording_ids() == set()


def test_a_refused_bulk_action_is_the_expected_path_logged_at_info(
    emulator_factory: Any, client_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """PostHog Cloud refuses bulk actions to a personal API key: no yellow warning for it."""
    server = emulator_factory(profile="cloud")  # bulk actions refused to a personal key
    ids = server.seed_recordings(3, days=5)
    with caplog.at_level(logging.INFO, logger="airflow_provider_posthog_recordings"):
        client_for(server).delete_recordings(ids)
    bulk = [r for r in caplog.records if "Bulk action" in r.getMessage()]
    assert [r.levelno for r in bulk] == [logging.INFO]
    assert "as expected on PostHog Cloud" in bulk[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_old_server_without_failed_ids(emulator_factory: Any, client_for: Any) -> None:
    server = emulator_factory(bulk_delete_cap=100, legacy_bulk_response=True)
    ids = server.seed_recordings(20, days=5)
    server.delete_recording(ids[3])
    result = client_for(server).delete_recordings(ids)
    assert result.deleted_count == 19 and result.already_gone == [ids[3]] and result.failed == {}
    assert server.recording_ids() == set()


def test_mark_viewed_uses_bulk_viewed_20_at_a_time(posthog: Any, client: Any) -> None:
    ids = posthog.seed_recordings(45, days=5)
    assert client.mark_viewed(ids) == 45
    assert [len(r.body["session_recording_ids"]) for r in _posts(posthog, "bulk_viewed/")] == [
        20,
        20,
        5,
    ]
    assert posthog.viewed_ids() == set(ids)


def test_mark_viewed_falls_back_to_patch(emulator_factory: Any, client_for: Any) -> None:
    server = emulator_factory(bulk_mode="refuse")
    ids = server.seed_recordings(25, days=5)
    assert client_for(server).mark_viewed([*ids, "missing-id"]) == 25
    patches = [r for r in server.requests if r.method == "PATCH"]
    assert len(patches) == 26 and all(r.body == {"viewed": True} for r in patches)
    assert server.viewed_ids() == set(ids)


def test_acceptance_scenario_from_issue_2(emulator_factory: Any, client_for: Any) -> None:
    """1,200 recordings over a 90-day window, 150 deleted, 30 marked viewed, against a server
    that refuses bulk actions to personal keys and throttles every ninth answer."""
    server = emulator_factory(bulk_mode="refuse")
    ids = server.seed_recordings(1200, days=85, seed=11)
    server.throttle_every(9, seconds=2)
    client = client_for(server)
    listed = [r.id for r in client.iter_recordings({"date_from": "-90d"})]
    assert sorted(listed) == sorted(ids)
    result = client.delete_recordings(listed[:150])
    assert sorted(result.deleted) == sorted(listed[:150]) and not result.failed
    assert client.mark_viewed(listed[200:230]) == 30
    assert server.recording_ids() == set(ids) - set(listed[:150])
    assert server.viewed_ids() == set(listed[200:230])
    assert server.faults_injected["429_detail"] >= 20


# ------------------------------------------------------------------ PostHog Cloud's answers


def test_cloud_answers_204_to_any_delete_so_the_client_checks_first(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(profile="cloud")
    ids = server.seed_recordings(6, days=5)
    server.delete_recording(ids[0])
    result = client_for(server).delete_recordings([*ids, "never-existed"])
    assert sorted(result.deleted) == sorted(ids[1:])
    assert sorted(result.already_gone) == sorted([ids[0], "never-existed"])
    # The ones already gone were not even sent: PostHog would have said 204 to them too.
    sent = [r.path.rstrip("/").rsplit("/", 1)[1] for r in server.requests if r.method == "DELETE"]
    assert sorted(sent) == sorted(ids[1:])


def test_a_500_on_delete_is_settled_by_looking_not_retried(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(profile="cloud")
    ids = server.seed_recordings(3, days=5)
    server.inject("recording_api_failure", times=1, method="DELETE")
    result = client_for(server, concurrency=1).delete_recordings(ids)
    [failed] = result.failed
    assert "recording_api_failure" in result.failed[failed]
    assert sorted(result.deleted) == sorted(set(ids) - {failed})
    assert len([r for r in server.requests if r.method == "DELETE"]) == 3  # no retry
    assert failed in server.recording_ids()


def test_bulk_delete_skips_are_not_counted_as_deleted(
    emulator_factory: Any, client_for: Any
) -> None:
    """bulk_delete looks ids up from date_from on: one older than the window is skipped
    silently (in neither deleted_count nor failed_ids); the client finds it still there."""
    server = emulator_factory(profile="cloud_bulk_delete")
    ids = server.seed_recordings(5, days=5)
    old = server.add_recording(start_time="2025-01-01T00:00:00Z")["id"]
    client = client_for(server)
    result = client.delete_recordings([*ids, old], date_from="-30d")
    assert sorted(result.deleted) == sorted(ids) and result.deleted_count == 5
    assert list(result.failed) == [old] and "skipped" in result.failed[old]
    [bulk] = [r for r in server.requests if r.path.endswith("bulk_delete/")]
    assert bulk.body["date_from"] == "-30d"
    assert old in server.recording_ids()


def test_a_client_that_forgot_refusals_fails_instead_of_looping(
    emulator_factory: Any, client_for: Any, mocker: Any
) -> None:
    """The deletion loop has a bound: were the client to forget that bulk_delete is refused
    (a bug seen once), it must fail with a clear message, not retry bulk forever."""
    from airflow_provider_posthog_recordings.client.errors import PostHogError

    server = emulator_factory(profile="cloud")
    ids = server.seed_recordings(30, days=5)
    client = client_for(server)
    mocker.patch.object(client.bulk, "refused", return_value=False)
    with pytest.raises(PostHogError) as info:
        client.delete_recordings(ids)
    assert str(info.value) == (
        "deleting 30 recordings made no progress (a bug: please report it); the rest were not sent"
    )
    # The bound: one round per id and three more (learning refusals and caps).
    assert len(_posts(server, "bulk_delete/")) == len(ids) + 3
    assert server.recording_ids() == set(ids)  # nothing deleted on a guess


def test_requests_to_delete_before_bulk_is_known_count_one_delete_each_and_the_checks(
    posthog: Any, client: Any
) -> None:
    assert [client.requests_to_delete(n) for n in (-3, 0, 1, 499, 500, 501, 1000)] == [
        0,
        0,
        2,
        500,
        501,
        503,
        1002,
    ]


def test_requests_to_delete_once_bulk_is_accepted_count_one_call_per_100(
    posthog: Any, client: Any
) -> None:
    client.delete_recordings(posthog.seed_recordings(3, days=5))
    assert [client.requests_to_delete(n) for n in (0, 1, 100, 101, 250)] == [0, 1, 1, 2, 3]


def test_requests_to_delete_once_bulk_is_refused_count_one_delete_each(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(bulk_mode="refuse")
    client = client_for(server)
    client.delete_recordings(server.seed_recordings(3, days=5))
    assert [client.requests_to_delete(n) for n in (0, 1, 500, 501)] == [0, 2, 501, 503]


def test_requests_to_delete_on_an_older_server_count_one_call_per_20(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(bulk_delete_cap=20)
    client = client_for(server)
    client.delete_recordings(server.seed_recordings(30, days=5))
    assert server.recording_ids() == set()
    assert [client.requests_to_delete(n) for n in (20, 21, 100)] == [1, 2, 5]


def test_a_recording_protected_before_the_look_after_a_refused_bulk_is_kept(
    emulator_factory: Any, client_for: Any
) -> None:
    server = emulator_factory(bulk_mode="refuse")
    ids = server.seed_recordings(3, days=5)
    client = client_for(server)
    looks: dict[str, int] = {}

    def keep(recording: Any) -> str | None:
        # Protected between the first look and the one after the refused bulk delete.
        looks[recording.id] = looks.get(recording.id, 0) + 1
        return "now_protected" if recording.id == ids[0] and looks[recording.id] > 1 else None

    result = client.delete_recordings(ids, keep=keep)
    assert looks == {rid: 2 for rid in ids}
    assert result.kept == {ids[0]: "now_protected"}
    assert sorted(result.deleted) == sorted(ids[1:])
    assert server.recording_ids() == {ids[0]}
