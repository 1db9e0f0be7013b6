"""scripts/rename_emulator_imports.py rewrites the emulator's old names, once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "rename_emulator_imports.py"

OLD = '''"""Uses ``testing/posthog_schema/``, airflow_provider_posthog_recordings/testing/x.py."""
import sys

from airflow_provider_posthog_recordings.client import PostHogClient
from airflow_provider_posthog_recordings.testing import PostHogEmulator
from airflow_provider_posthog_recordings.testing.schema_check import SCHEMA_DIR

CLI = [sys.executable, "-m", "airflow_provider_posthog_recordings.testing"]
KEEP = "tests/testing_helpers.py and airflow_provider_posthog_recordings.testing_other"
'''


def test_the_old_names_are_rewritten_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    sample = tmp_path / "test_old.py"
    sample.write_text(OLD)
    notes = tmp_path / "notes.md"
    notes.write_text("`python -m airflow_provider_posthog_recordings.testing --port 8010`\n")

    first = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=True
    )
    new = sample.read_text()

    assert sorted(first.stdout.split()) == sorted([str(notes), str(sample)])
    assert "from posthog_recordings_emulator import PostHogEmulator" in new
    assert "from posthog_recordings_emulator.schema_check import SCHEMA_DIR" in new
    assert '"-m", "posthog_recordings_emulator"]' in new
    assert "``emulator/posthog_recordings_emulator/posthog_schema/``" in new
    assert "emulator/posthog_recordings_emulator/x.py" in new
    # a longer name that only starts like the old one, and another folder, stay as they were
    assert "tests/testing_helpers.py and airflow_provider_posthog_recordings.testing_other" in new
    assert "airflow_provider_posthog_recordings.testing " not in new
    assert notes.read_text() == "`python -m posthog_recordings_emulator --port 8010`\n"

    check = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", str(tmp_path)], capture_output=True, text=True
    )
    assert check.returncode == 0 and check.stdout == ""
    assert sample.read_text() == new
