"""`make mutation`'s parts: the [tool.mutmut] section names files that exist, and the score."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from mutation_score import main, report, tally  # noqa: E402


def _mutmut_list(name: str) -> list[str]:
    section = (ROOT / "pyproject.toml").read_text().split("[tool.mutmut]", 1)[1]
    block = re.search(rf"^{name} = \[(.*?)^\]", section, flags=re.MULTILINE | re.DOTALL)
    assert block is not None, name
    return re.findall(r'"([^"]+)"', block.group(1))


def test_the_mutated_modules_and_their_tests_exist() -> None:
    """A module or test moved without updating pyproject.toml would silently drop out."""
    modules = _mutmut_list("only_mutate")
    tests = _mutmut_list("pytest_add_cli_args_test_selection")
    assert len(modules) == 6 and len(tests) >= 6
    assert [path for path in modules + tests if not (ROOT / path).exists()] == []


LINES = """\
    airflow_provider_posthog_recordings.jobs.deletion.x_run_leg__mutmut_1: killed
    airflow_provider_posthog_recordings.jobs.deletion.xǁProgressǁupdate__mutmut_19: timeout
    airflow_provider_posthog_recordings.jobs.deletion.x_delete_group__mutmut_2: no tests
    airflow_provider_posthog_recordings.jobs.deletion.xǁDeletionLedgerǁadd__mutmut_9: survived
    airflow_provider_posthog_recordings.client.http.retry_policy.x_decide__mutmut_1: killed
a line that is not a mutant
"""


def test_timeouts_count_as_killed_and_untested_mutants_do_not() -> None:
    modules = tally(LINES.splitlines())
    table, percent = report(modules)
    assert table.splitlines() == [
        "client.http.retry_policy        1/1    100.0%",
        "jobs.deletion                   2/4     50.0%  1 no tests, 1 survived",
        "overall                         3/5     60.0%",
    ]
    assert percent == 60.0


def test_the_goal_fails_the_run_only_when_missed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(LINES))
    assert main(["--min", "90"]) == 1
    assert "below the goal of 90%" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(LINES))
    assert main(["--min", "60"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main([]) == 1
