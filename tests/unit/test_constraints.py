"""The committed constraints files: what `make test` installs, pinned as Airflow does.

``constraints/airflow3.txt`` and ``constraints/airflow2.txt`` hold the exact version of every
package of the two test environments (``scripts/freeze_constraints.py`` writes them from a
green install). These tests check the files themselves, and, run inside a test environment
that ``make`` installed from one (``POSTHOG_TEST_CONSTRAINTS`` names it), that the
environment holds exactly what the file pins.
"""

from __future__ import annotations

import os
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints"
sys.path.insert(0, str(ROOT / "scripts"))
from freeze_constraints import OWN, normalized, pins  # noqa: E402
from lower_bounds import lower_bounds  # noqa: E402


def _read_pins(path: Path) -> dict[str, str]:
    """``{normalized name: version}`` of a constraints file's ``name==version`` lines."""
    result: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            result[normalized(name)] = version
    return result


@pytest.mark.parametrize("name", ["airflow3.txt", "airflow2.txt"])
def test_every_line_is_an_exact_pin(name: str) -> None:
    lines = [
        line
        for line in (CONSTRAINTS / name).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) > 100
    bad = [line for line in lines if not re.fullmatch(r"[A-Za-z0-9_.\-]+==[^\s=<>~!]+", line)]
    assert not bad


def test_airflow2_pins_exactly_the_declared_lower_bounds() -> None:
    """.venv-airflow2 tests the lowest versions the package claims: the pins must agree."""
    pinned = _read_pins(CONSTRAINTS / "airflow2.txt")
    for bound in lower_bounds((ROOT / "pyproject.toml").read_text()):
        name, version = bound.split("==")
        assert pinned[normalized(name)] == version, bound


def test_airflow2_pins_a_cryptography_airflow_2_11_works_with() -> None:
    """cryptography 51 breaks Airflow 2.11.0's Fernet code (no connection can be stored)."""
    major = int(_read_pins(CONSTRAINTS / "airflow2.txt")["cryptography"].split(".")[0])
    assert major < 51
    assert "cryptography<51" in (CONSTRAINTS / "known-breaks-airflow2.txt").read_text()


def test_airflow3_pins_the_airflow_the_readme_names() -> None:
    pinned = _read_pins(CONSTRAINTS / "airflow3.txt")
    assert f"Airflow {pinned['apache-airflow']}" in (ROOT / "README.md").read_text()
    for own in OWN:
        assert own not in pinned


def test_freezing_drops_own_packages_and_refuses_what_cannot_be_pinned() -> None:
    frozen = "Requests==2.28.0\nairflow_provider_posthog_recordings==0.1.0\npip==26.3\n"
    assert pins(frozen) == ["pip==26.3", "Requests==2.28.0"]
    with pytest.raises(SystemExit, match="cannot pin"):
        pins("somepkg @ file:///tmp/somepkg\n")


def test_this_environment_is_exactly_its_constraints_file() -> None:
    """The environment `make` installed holds every pinned version and nothing unpinned."""
    name = os.environ.get("POSTHOG_TEST_CONSTRAINTS", "")
    if not name:
        pytest.skip("not run from make's pinned environments (make test-latest floats them)")
    pinned = _read_pins(ROOT / name)
    installed = {
        normalized(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions()
        if normalized(dist.metadata["Name"]) not in OWN
    }
    differ = {
        dist: (installed.get(dist), pinned.get(dist))
        for dist in installed.keys() | pinned.keys()
        if installed.get(dist) != pinned.get(dist)
    }
    assert not differ, f"installed vs {name}: {differ}"
