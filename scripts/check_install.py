"""Check an installed (not editable) build of the provider, as Airflow sees it.

Run by ``make check-wheel`` with a virtualenv's Python, from outside the source tree, after
the built wheel was installed there. It checks that:
- the package is imported from where the wheel was installed (site-packages or a
  ``pip install --target`` folder), not from the source tree or an editable install;
- the hook imports and builds its Airflow 2 form when Airflow 2's form classes are there;
- Airflow's ProvidersManager lists the provider, the ``posthog`` connection type with the
  hook, every connection extra as a form field, and the field behaviour;
- the installed dependencies meet what the package declares;
- the provider's distribution holds no emulator and no schema data, and the emulator's
  (``posthog-recordings-emulator``, the extra ``[testing]``) is installed from its wheel too,
  with its schema data, imports nothing from the provider, and serves a listing.

Prints one summary line; exits non-zero with the reason on any failure.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
from pathlib import Path

DIST = "airflow-provider-posthog-recordings"
EMULATOR_DIST = "posthog-recordings-emulator"
ROOT = Path(__file__).resolve().parents[1]
SOURCE_TREE = ROOT / "airflow_provider_posthog_recordings"
EMULATOR_SOURCE_TREE = ROOT / "emulator" / "posthog_recordings_emulator"


def _installed_from_wheel(dist_name: str, module_file: Path, source_tree: Path) -> Path:
    """Check ``module_file`` comes from the installed (not editable) ``dist_name``.

    :param dist_name: the distribution's name.
    :param module_file: the file of a module the distribution provides, as imported.
    :param source_tree: the package's folder in the repository, which must not be used.
    :return: where the distribution is installed.
    """
    module_file = module_file.resolve()
    assert not module_file.is_relative_to(source_tree), f"{dist_name} from {module_file}"
    dist = metadata.distribution(dist_name)
    installed_in = Path(str(dist.locate_file(""))).resolve()
    assert module_file.is_relative_to(installed_in), f"{module_file} is not {installed_in}"
    assert '"editable": true' not in (dist.read_text("direct_url.json") or ""), "editable"
    return installed_in


def check_no_emulator_in_provider() -> int:
    """The provider's installed files: no emulator, no schema data; returns their count."""
    files = [str(file) for file in metadata.distribution(DIST).files or []]
    files = [file for file in files if ".dist-info/" not in file]  # metadata (direct_url.json)
    assert files, "the provider's distribution lists no files"
    shipped = [f for f in files if "/testing/" in f or "posthog_schema" in f or f.endswith(".json")]
    assert not shipped, f"the provider's wheel ships emulator files: {shipped[:5]}"
    return len(files)


def check_emulator() -> str:
    """The emulator's wheel: its schema data, no provider import, a listing served."""
    import posthog_recordings_emulator
    import requests
    from posthog_recordings_emulator.schema_check import SCHEMA_DIR, definitions

    module_file = Path(posthog_recordings_emulator.__file__ or "")
    _installed_from_wheel(EMULATOR_DIST, module_file, EMULATOR_SOURCE_TREE)
    schema_files = sorted(path.name for path in SCHEMA_DIR.iterdir())
    assert "request_bodies.json" in schema_files and "README.md" in schema_files, schema_files
    assert definitions("newer"), "no schema definitions"
    with posthog_recordings_emulator.PostHogEmulator() as posthog:
        posthog.seed_recordings(3)
        answer = requests.get(
            f"{posthog.url}/api/environments/1/session_recordings",
            params={"date_from": "-100d"},
            headers={"Authorization": "Bearer phx_emulator_test_key"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["results"]) == 3, answer.text
    loaded = sorted(m for m in sys.modules if m.startswith("airflow_provider_posthog_recordings"))
    assert not loaded, f"the emulator imported the provider: {loaded}"
    version = metadata.version(EMULATOR_DIST)
    return f"{EMULATOR_DIST} {version} ({len(schema_files)} schema files)"


def main() -> None:
    """Run the checks (AssertionError on the first failure)."""
    # First, before anything imports the provider.
    emulator = check_emulator()

    import airflow
    from airflow.providers_manager import ProvidersManager
    from packaging.requirements import Requirement

    from airflow_provider_posthog_recordings.hooks.connection_form import EXTRA_FIELDS
    from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook

    module_file = Path(sys.modules[PostHogHook.__module__].__file__ or "").resolve()
    _installed_from_wheel(DIST, module_file, SOURCE_TREE)
    files = check_no_emulator_in_provider()
    dist = metadata.distribution(DIST)
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra, such as dev
        installed = metadata.version(requirement.name)
        assert requirement.specifier.contains(installed), f"{requirement}: {installed}"
        print(f"  {requirement.name} {installed} (declared {requirement.specifier})")

    manager = ProvidersManager()
    assert DIST in manager.providers, "the provider is not listed"
    hooks = manager.hooks
    assert "posthog" in hooks, "no posthog connection type"
    hook_info = hooks["posthog"]
    assert hook_info is not None and hook_info.hook_class_name.endswith(".PostHogHook")
    widgets = manager.connection_form_widgets
    missing = [f.name for f in EXTRA_FIELDS if f"extra__posthog__{f.name}" not in widgets]
    assert not missing, f"extras missing from the form: {missing}"
    behaviour = manager.field_behaviours.get("posthog") or {}
    assert "extra" in behaviour.get("hidden_fields", []), behaviour
    print(
        f"ok: Airflow {airflow.__version__}, {DIST} {dist.version} from {module_file.parent}, "
        f"connection type posthog -> {hook_info.hook_class_name}, "
        f"{len(EXTRA_FIELDS)} extras in the form; {files} files, no emulator; {emulator}"
    )


if __name__ == "__main__":
    main()
