"""The emulator is its own distribution: it imports nothing from the provider, nor Airflow.

``posthog-recordings-emulator`` (``emulator/``) is installed beside the provider only for
testing (the extra ``[testing]``); the provider's runtime wheel carries none of it.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import posthog_recordings_emulator

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "emulator" / "posthog_recordings_emulator"
FORBIDDEN = ("airflow_provider_posthog_recordings", "airflow")


def _absolute_imports(path: Path) -> set[str]:
    """Every module imported by absolute name in ``path`` (any block, TYPE_CHECKING included)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_the_emulator_source_imports_neither_the_provider_nor_airflow() -> None:
    files = sorted(EMULATOR.rglob("*.py"))
    assert len(files) > 20, files
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in files
        for module in _absolute_imports(path)
        if module.split(".")[0] in FORBIDDEN
    }
    assert not offending


def test_the_emulator_needs_only_the_standard_library() -> None:
    third_party = {
        module.split(".")[0]
        for path in EMULATOR.rglob("*.py")
        for module in _absolute_imports(path)
    } - set(sys.stdlib_module_names)
    assert third_party == set()
    pyproject = (ROOT / "emulator" / "pyproject.toml").read_text()
    assert re.search(r'^name = "posthog-recordings-emulator"$', pyproject, flags=re.MULTILINE)
    assert re.search(r"^dependencies = \[\]$", pyproject, flags=re.MULTILINE)


def test_running_the_emulator_loads_no_provider_module(tmp_path: Path) -> None:
    """Imported and serving in a fresh interpreter, nothing of the provider or Airflow loads."""
    code = (
        "import sys, urllib.request\n"
        "from posthog_recordings_emulator import PostHogEmulator\n"
        "with PostHogEmulator() as posthog:\n"
        "    posthog.seed_recordings(2)\n"
        "    request = urllib.request.Request(\n"
        "        posthog.url + '/api/environments/1/session_recordings?date_from=-100d',\n"
        "        headers={'Authorization': 'Bearer phx_emulator_test_key'})\n"
        "    print(urllib.request.urlopen(request, timeout=10).status)\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('airflow', 'airflow_provider_posthog_recordings')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "[]"]


def test_the_provider_package_no_longer_holds_the_emulator() -> None:
    assert not (ROOT / "airflow_provider_posthog_recordings" / "testing").exists()
    assert Path(posthog_recordings_emulator.__file__).parent.name == "posthog_recordings_emulator"
