"""Packaging: declared dependencies and their lower bounds, license, and the sdist contents."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_provider_posthog_recordings"
PYPROJECT = (ROOT / "pyproject.toml").read_text()
sys.path.insert(0, str(ROOT / "scripts"))
from lower_bounds import lower_bounds  # noqa: E402


def _imported_names(module: str) -> set[str]:
    """Names the package imports from ``module`` (``from module import a, b``)."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == module:
                names.update(alias.name for alias in node.names)
    return names


def _top_level_imports() -> set[str]:
    """Top-level modules imported anywhere in the package (outside type-checking blocks)."""
    modules: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def test_every_dependency_has_a_lower_bound() -> None:
    assert lower_bounds(PYPROJECT) == [
        "apache-airflow==2.11.0",
        "apache-airflow-providers-common-compat==1.22.0",
        "requests==2.28.0",
        "pydantic==2.2.0",
    ]


def test_every_third_party_import_is_declared() -> None:
    third_party = _top_level_imports() - set(sys.stdlib_module_names)
    third_party -= {"airflow_provider_posthog_recordings"}
    # Airflow 2's form classes are imported only inside get_connection_form_widgets, which
    # only Airflow 2 calls, and Airflow 2 installs them.
    assert third_party == {"airflow", "requests", "pydantic"} | {
        "flask_appbuilder",
        "flask_babel",
        "wtforms",
    }


def test_the_installed_compat_sdk_has_every_name_used() -> None:
    """Run on the declared lower bound (.venv-airflow2), this checks the bound itself."""
    names = _imported_names("airflow.providers.common.compat.sdk")
    assert {"BaseHook", "mask_secret", "conf", "BaseOperator"} <= names
    sdk = importlib.import_module("airflow.providers.common.compat.sdk")
    missing = sorted(name for name in names if not hasattr(sdk, name))
    assert not missing, f"common-compat lacks {missing}"


def test_license_metadata() -> None:
    assert re.search(r'^license = "Apache-2.0"$', PYPROJECT, flags=re.MULTILINE)
    assert 'license-files = ["LICENSE"]' in PYPROJECT
    assert '"setuptools>=77"' in PYPROJECT
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_project_urls_point_at_the_project_only() -> None:
    urls = re.findall(r'^\w+ = "(https?://[^"]+)"$', PYPROJECT, flags=re.MULTILINE)
    assert urls
    project = "https://github.com/airflow-provider-posthog-recordings/"
    assert all(url.startswith(project) for url in urls), urls


def test_the_sdist_carries_what_the_readme_links_to() -> None:
    readme = (ROOT / "README.md").read_text()
    links = {
        link.split("#")[0].rstrip("/")
        for link in re.findall(r"\]\(([^)]+)\)", readme)
        if "://" not in link and not link.startswith("#")
    }
    assert "example_dags" in links
    manifest = (ROOT / "MANIFEST.in").read_text().split()
    for link in links | {"LICENSE"}:
        assert (ROOT / link).exists(), link
        first = Path(link).parts[0]
        assert first in manifest, f"{link} is not in MANIFEST.in"


def test_the_runtime_wheel_declares_no_emulator_data_and_offers_it_as_an_extra() -> None:
    section = r"^\[tool\.setuptools\.package-data\]\n(.*?)\n\n"
    package_data = re.search(section, PYPROJECT, re.S | re.M)
    assert package_data is not None
    assert package_data.group(1) == 'airflow_provider_posthog_recordings = ["py.typed"]'
    assert 'testing = ["posthog-recordings-emulator>=0.1.0"]' in PYPROJECT
    assert not [path for path in PACKAGE.rglob("*") if path.suffix == ".json"]
    emulator = (ROOT / "emulator" / "pyproject.toml").read_text()
    assert re.search(r'^version = "0\.1\.0"$', emulator, flags=re.MULTILINE)
