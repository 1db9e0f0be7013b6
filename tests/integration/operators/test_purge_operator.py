"""The retention purge against the emulator: exact deletions, protections, caps, manifest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_posthog_recordings.client.errors import PostHogError
from airflow_provider_posthog_recordings.operators import (
    PostHogPurgeRecordingsOperator,
)

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _context(end: datetime = NOW) -> dict[str, Any]:
    return {"data_interval_end": end}


def _older_than(emulator: Any, cutoff: datetime) -> set[str]:
    return {
        rid
        for rid in emulator.recording_ids()
        if (start := emulator.recording(rid)["start_time"]) is not None
        and datetime.fromisoformat(start.replace("Z", "+00:00")) < cutoff
    }


def test_800_over_60_days_report_only_then_real_run(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(800, days=60, seed=21, end=NOW)
    cutoff = NOW - timedelta(days=30)
    old = _older_than(posthog_conn, cutoff)
    assert 300 < len(old) < 500

    dry = PostHogPurgeRecordingsOperator(task_id="p", older_than_days=30, report_only=True)
    manifest = dry.execute(_context())
    assert posthog_conn.recording_ids() == set(ids)
    assert manifest["candidates"] == len(old) and manifest["deleted"] == 0
    assert set(manifest["would_delete_ids"]) == old

    real = PostHogPurgeRecordingsOperator(task_id="p", older_than_days=30, max_deletions=1000)
    manifest = real.execute(_context())
    assert posthog_conn.recording_ids() == set(ids) - old
    assert posthog_conn.deleted_ids == old
    assert manifest["deleted"] == len(old) and manifest["failed"] == 0
    assert manifest["listed"] == len(old)  # the window ends at the cutoff
    assert manifest["listed"] == manifest["candidates"] + manifest["kept_total"]
    assert manifest["cutoff"] == cutoff.isoformat()
    list_calls = [r for r in posthog_conn.requests if r.path.endswith("/session_recordings/")]
    listings = [r for r in list_calls if "session_ids" not in r.query]  # not existence checks
    assert listings and all("date_from" in r.query and "date_to" in r.query for r in listings)
    assert all("date_from" in r.query for r in list_calls)


def test_rerun_is_idempotent(posthog_conn: Any) -> None:
    posthog_conn.seed_recordings(100, days=60, seed=22, end=NOW)
    op = PostHogPurgeRecordingsOperator(task_id="p", older_than_days=30)
    first = op.execute(_context())
    second = op.execute(_context())
    assert first["deleted"] > 0 and second["candidates"] == 0 and second["deleted"] == 0


def test_protected_playlists_pinned_and_named(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(60, days=60, seed=23, end=NOW)
    old = sorted(_older_than(posthog_conn, NOW - timedelta(days=30)))
    posthog_conn.create_playlist("Pinned", pinned=True, recording_ids=old[:3])
    posthog_conn.create_playlist("Legal hold", recording_ids=old[3:5])
    posthog_conn.create_playlist("Unprotected", recording_ids=old[5:7])
    op = PostHogPurgeRecordingsOperator(
        task_id="p", older_than_days=30, keep_playlists=["Legal hold"]
    )
    manifest = op.execute(_context())
    assert manifest["kept"] == {"protected_playlist": 5}
    assert posthog_conn.recording_ids() == (set(ids) - set(old)) | set(old[:5])


def test_unknown_protected_playlist_fails_before_deleting(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(20, days=60, end=NOW)
    op = PostHogPurgeRecordingsOperator(task_id="p", older_than_days=30, keep_playlists=["Typo"])
    with pytest.raises(PostHogError, match="Typo"):
        op.execute(_context())
    assert posthog_conn.recording_ids() == set(ids)


def test_shared_recordings_kept_when_asked(posthog_conn: Any) -> None:
    posthog_conn.seed_recordings(40, days=60, seed=24, end=NOW)
    old = sorted(_older_than(posthog_conn, NOW - timedelta(days=30)))
    posthog_conn.set_sharing(old[0], True)
    op = PostHogPurgeRecordingsOperator(task_id="p", older_than_days=30, keep_shared=True)
    manifest = op.execute(_context())
    assert manifest["kept"] == {"shared": 1}
    assert old[0] in posthog_conn.recording_ids()


def test_over_the_cap_fails_before_deleting_anything(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(100, days=60, seed=25, end=NOW)
    op = PostHogPurgeRecordingsOperator(task_id="p", older_than_days=30, max_deletions=10)
    with pytest.raises(PostHogError, match=r"max_deletions is 10.*raise max_deletions"):
        op.execute(_context())
    assert posthog_conn.recording_ids() == set(ids)
    assert not [r for r in posthog_conn.requests if r.method in ("DELETE", "POST")]


def test_cutoff_follows_the_data_interval_not_the_clock(posthog_conn: Any) -> None:
    posthog_conn.seed_recordings(100, days=60, seed=26, end=NOW)
    backfill_end = NOW - timedelta(days=20)
    op = PostHogPurgeRecordingsOperator(task_id="p", older_than_days=30, report_only=True)
    manifest = op.execute(_context(backfill_end))
    expected = _older_than(posthog_conn, backfill_end - timedelta(days=30))
    assert set(manifest["would_delete_ids"]) == expected


def test_recording_without_start_time_is_never_deleted(posthog_conn: Any) -> None:
    broken = posthog_conn.add_recording(start_time=None)["id"]
    op = PostHogPurgeRecordingsOperator(task_id="p", older_than_days=1)
    op.execute(_context())
    assert broken in posthog_conn.recording_ids()


def test_manifest_ids_are_capped_with_a_note(posthog_conn: Any) -> None:
    posthog_conn.seed_recordings(60, days=60, seed=27, end=NOW)
    op = PostHogPurgeRecordingsOperator(task_id="p", older_than_days=30, manifest_ids=5)
    manifest = op.execute(_context())
    assert len(manifest["deleted_ids"]) == 5 and manifest["ids_truncated"] is True


def test_templated_arguments_are_validated_at_run_time(posthog_conn: Any) -> None:
    op = PostHogPurgeRecordingsOperator(task_id="p", older_than_days="{{ params.days }}")
    op.older_than_days = "0"  # what a bad param renders to
    with pytest.raises(PostHogError, match="at least 1"):
        op.execute(_context())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"older_than_days": 0}, "at least 1"),
        ({"older_than_days": -5}, "at least 1"),
        ({"older_than_days": 30, "max_deletions": -1}, "0 or more"),
        ({"older_than_days": 30, "query": {"date_from": object()}}, "date_from"),
        ({"older_than_days": 30, "query": {"nonsense": 1}}, "nonsense"),
    ],
)
def test_bad_input_fails_before_any_request(
    posthog_conn: Any, kwargs: dict[str, Any], match: str
) -> None:
    op = PostHogPurgeRecordingsOperator(task_id="p", **kwargs)  # __init__ only stores
    with pytest.raises(PostHogError, match=match):
        op.execute({})
    assert posthog_conn.request_count == 0


def test_template_fields_cover_the_policy() -> None:
    fields = set(PostHogPurgeRecordingsOperator.template_fields)
    assert {"older_than_days", "report_only", "max_deletions", "keep_playlists", "query"} <= fields


def test_templated_query_is_validated_when_rendered(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(40, days=60, seed=28, end=NOW)
    op = PostHogPurgeRecordingsOperator(
        task_id="p", older_than_days=30, report_only=True, query={"date_from": "{{ ds }}"}
    )
    op.query = {"date_from": (NOW - timedelta(days=45)).isoformat()}  # as rendered
    manifest = op.execute(_context())
    assert posthog_conn.recording_ids() == set(ids)
    expected = {
        rid
        for rid in _older_than(posthog_conn, NOW - timedelta(days=30))
        if rid not in _older_than(posthog_conn, NOW - timedelta(days=45))
    }
    assert set(manifest["would_delete_ids"]) == expected


def test_report_only_over_the_cap_reports_instead_of_failing(posthog_conn: Any) -> None:
    ids = posthog_conn.seed_recordings(100, days=60, seed=29, end=NOW)
    old = _older_than(posthog_conn, NOW - timedelta(days=30))
    op = PostHogPurgeRecordingsOperator(
        task_id="p", older_than_days=30, max_deletions=10, report_only=True
    )
    manifest = op.execute(_context())
    assert manifest["exceeds_max_deletions"] is True and manifest["candidates"] == len(old)
    assert set(manifest["would_delete_ids"]) == old
    assert posthog_conn.recording_ids() == set(ids)
