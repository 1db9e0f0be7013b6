"""List, mark viewed, share and delete operators, run with execute() against the emulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.operators import (
    PostHogDeleteRecordingsOperator,
    PostHogListRecordingsOperator,
    PostHogMarkRecordingsViewedOperator,
    PostHogShareRecordingsOperator,
)


def test_list_returns_ids_only(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(30, days=5)
    op = PostHogListRecordingsOperator(task_id="list", query={"date_from": "-7d"})
    result = op.execute({})
    assert sorted(result) == sorted(ids) and all(isinstance(i, str) for i in result)


def test_list_with_fields_and_batches(posthog_conn: Any) -> None:
    posthog_conn.seed_recordings(25, days=5)
    op = PostHogListRecordingsOperator(
        task_id="list",
        query={"date_from": "-7d"},
        fields=["distinct_id", "start_time"],
        batch_size=10,
    )
    batches = op.execute({})
    assert [len(b) for b in batches] == [10, 10, 5]
    first = batches[0][0]
    assert set(first) == {"id", "distinct_id", "start_time"} and isinstance(
        first["start_time"], str
    )


def test_list_caps_results(posthog_conn: Any) -> None:
    posthog_conn.seed_recordings(40, days=5)
    op = PostHogListRecordingsOperator(task_id="l", query={"date_from": "-7d"}, max_results=15)
    assert len(op.execute({})) == 15


def test_list_refuses_a_bad_query_as_a_task_failure(posthog_conn: Any) -> None:
    op = PostHogListRecordingsOperator(task_id="l", query={"date_form": "-7d"})
    with pytest.raises(PostHogError, match="date_form"):
        op.execute({})
    assert posthog_conn.request_count == 0


def test_mark_viewed_by_ids_and_by_query(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(30, days=5)
    op = PostHogMarkRecordingsViewedOperator(task_id="v", recording_ids=ids[:5])
    assert op.execute({}) == 5
    op = PostHogMarkRecordingsViewedOperator(task_id="v2", query={"date_from": "-7d"})
    assert op.execute({}) == 30
    assert posthog_conn.viewed_ids() == set(ids)


def test_share_returns_links_and_revokes(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(3, days=5)
    links = PostHogShareRecordingsOperator(task_id="s", recording_ids=ids).execute({})
    assert set(links) == set(ids)
    assert all(link and link.startswith(f"{posthog_conn.url}/shared/") for link in links.values())
    assert posthog_conn.sharing_enabled_ids() == set(ids)
    revoked = PostHogShareRecordingsOperator(
        task_id="r", recording_ids=",".join(ids), enabled=False
    ).execute({})
    assert revoked == {rid: None for rid in ids}
    assert posthog_conn.sharing_enabled_ids() == set()


def test_delete_explicit_ids(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(10, days=5)
    posthog_conn.delete_recording(ids[0])
    manifest = PostHogDeleteRecordingsOperator(task_id="d", recording_ids=ids).execute({})
    assert manifest["deleted"] == 9 and manifest["already_gone"] == 1 and manifest["failed"] == 0
    assert posthog_conn.recording_ids() == set()


def test_erasure_deletes_every_recording_of_a_person_of_any_age(posthog_conn: Any) -> None:
    now = datetime.now(timezone.utc)
    ages = [1, 45, 400, 1500]
    theirs = [
        posthog_conn.add_recording(distinct_id="gdpr-user", start_time=now - timedelta(days=age))[
            "id"
        ]
        for age in ages
    ]
    others = posthog_conn.seed_recordings(20, days=30)
    op = PostHogDeleteRecordingsOperator(task_id="erase", distinct_ids=["gdpr-user"])
    manifest = op.execute({})
    assert manifest["deleted"] == 4 and manifest["remaining"] == 0
    assert posthog_conn.recording_ids() == set(others)
    assert not set(theirs) & posthog_conn.recording_ids()


def test_delete_report_only_and_cap(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(10, days=5)
    dry = PostHogDeleteRecordingsOperator(task_id="d", recording_ids=ids, report_only=True)
    assert dry.execute({})["would_delete_ids"] == ids
    capped = PostHogDeleteRecordingsOperator(task_id="d2", recording_ids=ids, max_deletions=5)
    with pytest.raises(PostHogError, match="max_deletions is 5"):
        capped.execute({})
    assert posthog_conn.recording_ids() == set(ids)


def test_bad_arguments_fail_before_any_request(posthog_conn: Any) -> None:
    for op in (
        PostHogDeleteRecordingsOperator(task_id="d"),
        PostHogDeleteRecordingsOperator(task_id="d", recording_ids=["a"], max_deletions=-1),
        PostHogMarkRecordingsViewedOperator(task_id="v"),
        PostHogListRecordingsOperator(task_id="l", query={"date_from": "-1d"}, batch_size=0),
    ):
        with pytest.raises(PostHogError):
            op.execute({})
    assert posthog_conn.request_count == 0


def test_share_refuses_ids_that_do_not_exist_before_sharing_anything(cloud_conn: Any) -> None:
    """PostHog's sharing endpoints answer 200 for any id: the operator checks first."""
    [real] = cloud_conn.seed_recordings(1, days=2)
    op = PostHogShareRecordingsOperator(task_id="share", recording_ids=[real, "no-such-id"])
    with pytest.raises(PostHogError, match="no-such-id"):
        op.execute({})
    assert not [r for r in cloud_conn.requests if "/sharing/" in r.path]
    links = PostHogShareRecordingsOperator(task_id="share", recording_ids=[real]).execute({})
    assert links[real] and links[real].startswith(f"{cloud_conn.url}/shared/")
