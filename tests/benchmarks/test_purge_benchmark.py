"""The benchmark runs end to end at a tiny N (figures are printed, never asserted as times)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.purge import bound_requests, bound_seconds, main


def test_bound_formulas() -> None:
    assert bound_requests(1000, bulk_allowed=True) == 2 + 1 + 10 + 1
    assert bound_requests(1000, bulk_allowed=False) == 2 + 2 + 1000 + 1
    assert bound_seconds(10, 0.02, None) == 0.2
    assert bound_seconds(481, 0.0, 240) == 120.0


def test_benchmark_runs_at_tiny_n(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "bench.json"
    argv = ["--n", "120", "--naive-up-to", "120", "--rate-limit", "0", "--latency", "0"]
    assert main([*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "N=    120" in printed and "naive/ours" in printed
    [row] = json.loads(out.read_text())["rows"]
    assert row["left_after_ours"] == 0 and row["left_after_naive"] == 0
    assert row["requests_ours"] == row["requests_bound"] == 1 + 1 + 2 + 1
    assert row["requests_naive"] == 3 + 120
    assert row["peak_memory_ours_mib"] > 0
