"""Check an installed (not editable) build of the provider, as Airflow sees it.

Run by ``make check-wheel`` with a virtualenv's Python, from outside the source tree, after
the built wheel was installed there. It checks that:
- the package is imported from where the wheel was installed (site-packages or a
  ``pip install --target`` folder), not from the source tree or an editable install;
- the hook imports and builds its Airflow 2 form when Airflow 2's form classes are there;
- Airflow's ProvidersManager lists the provider, the ``posthog`` connection type with the
  hook, every connection extra as a form field, and the field behaviour;
- the installed dependencies meet what the package declares.

Prints one summary line; exits non-zero with the reason on any failure.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
from pathlib import Path

DIST = "airflow-provider-posthog-recordings"
SOURCE_TREE = Path(__file__).resolve().parents[1] / "airflow_provider_posthog_recordings"


def main() -> None:
    """Run the checks (AssertionError on the first failure)."""
    import airflow
    from airflow.providers_manager import ProvidersManager
    from packaging.requirements import Requirement

    from airflow_provider_posthog_recordings.hooks.connection_form import EXTRA_FIELDS
    from airflow_provider_posthog_recordings.hooks.posthog import PostHogHook

    module_file = Path(sys.modules[PostHogHook.__module__].__file__ or "").resolve()
    assert not module_file.is_relative_to(SOURCE_TREE), f"hook imported from {module_file}"
    dist = metadata.distribution(DIST)
    installed_in = Path(str(dist.locate_file(""))).resolve()
    assert module_file.is_relative_to(installed_in), f"{module_file} is not {installed_in}"
    assert '"editable": true' not in (dist.read_text("direct_url.json") or ""), "editable"
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
        f"{len(EXTRA_FIELDS)} extras in the form"
    )


if __name__ == "__main__":
    main()
