"""The archive benchmark at a small N: correctness facts only, never time targets."""

from __future__ import annotations

from benchmarks.archive import format_table, run_tier


def test_each_tier_archives_everything_with_no_request_beyond_the_bound() -> None:
    results = [run_tier(tier, 25, latency=0.2) for tier in ("free", "enterprise")]
    for result in results:
        assert result.archived == 25
        assert result.throttled == 0  # the client kept the plan's budget
        assert result.snapshot_requests == result.bound_snapshot_requests
        assert result.correct
    # Measured never beats the bound (the bound is a floor on time), whatever the figures.
    assert all(r.sim_seconds >= r.bound_seconds - 1e-6 for r in results)
    assert "bound rec/h" in format_table(results)
