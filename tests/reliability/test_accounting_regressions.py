"""Deterministic reproductions of accounting bugs the fault schedules found (fixed):
a single DELETE that gave up after an earlier attempt had acted was reported failed without
looking; after a refused bulk call, single DELETEs relied on an existence check made before
it."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("first_fault", ["drop_after", "truncated"])
def test_a_single_delete_that_gives_up_after_acting_is_settled_by_looking(
    emulator_factory: Any, client_for: Any, first_fault: str
) -> None:
    # Cloud: bulk_delete refused, one DELETE per recording. The first attempt deletes the
    # recording but its answer is lost; the retry meets a 502 and the client gives up.
    emulator = emulator_factory(profile="cloud")
    ids = emulator.seed_recordings(3, days=5, seed=31)
    target = ids[1]
    emulator.inject(first_fault, method="DELETE", path_contains=target)
    emulator.inject("502", method="DELETE", path_contains=target, times=5)
    client = client_for(emulator, max_retries=1)

    result = client.delete_recordings(ids)

    assert target in emulator.deleted_ids  # the first attempt did delete it
    # It is gone: it must not be reported as failed ("still there"), and the count is exact.
    assert target not in result.failed, result.failed
    assert result.deleted_count == len(emulator.deleted_ids) == 3


def test_offset_listing_with_a_repeated_page_skips_nothing(
    emulator_factory: Any, client_for: Any
) -> None:
    """Fault schedule seed 103: a page that repeated items of an earlier answer moved the
    offset by every row served, so as many recordings were skipped."""
    emulator = emulator_factory(profile="self_hosted_legacy")
    ids = set(emulator.seed_recordings(60, days=5, seed=32))
    client = client_for(emulator, page_size=20)
    first = {rec.id for rec in client.iter_recordings({"date_from": "-30d"})}
    assert first == ids
    # Listing again, the first page also carries items of the earlier listing's last page
    # (a repeated answer): more rows than the limit.
    emulator.inject("repeat_items", method="GET", path_contains="/session_recordings/")

    listed = [rec.id for rec in client.iter_recordings({"date_from": "-30d"})]

    assert emulator.faults_injected["repeat_items"] == 1
    assert set(listed) == ids, f"{len(ids - set(listed))} recordings skipped"
