"""The floors of the package: no module imports from a floor above its own.

client/ (no Airflow) < jobs/ (no Airflow) < hooks/ < triggers/, operators/, sensors/.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_posthog_recordings"
NAME = PACKAGE.name
#: For each floor, the floors it must not import from.
ABOVE = {
    "client": {"jobs", "hooks", "operators", "sensors", "triggers"},
    "jobs": {"hooks", "operators", "sensors", "triggers"},
    "hooks": {"jobs", "operators", "sensors", "triggers"},
}


def _imported_floors(path: Path) -> set[str]:
    """The package's floors ``path`` imports from (absolute imports; the package has no
    relative ones)."""
    floors: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            modules = [node.module or ""]
        for module in modules:
            parts = module.split(".")
            if parts[0] == NAME and len(parts) > 1:
                floors.add(parts[1])
    return floors


@pytest.mark.parametrize("floor", sorted(ABOVE))
def test_no_import_runs_up_a_floor(floor: str) -> None:
    files = sorted((PACKAGE / floor).rglob("*.py"))
    assert files
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in files
        for name in _imported_floors(path) & ABOVE[floor]
    }
    assert not offending
