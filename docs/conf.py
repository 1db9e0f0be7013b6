"""Sphinx configuration of the provider's documentation (``make docs``).

Built in nitpicky mode with warnings as errors (``sphinx-build -n -W``): every reference to
this package's own names must resolve. No network is used (no intersphinx), so references to
other projects' names (Airflow, requests, pydantic, the standard library) are not checked.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Importing the operators imports Airflow: keep its home (and any file it writes) in the build.
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / "docs" / "_build" / "airflow_home"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

project = "airflow-provider-posthog-recordings"
author = "airflow-provider-posthog-recordings maintainers"
copyright = "the airflow-provider-posthog-recordings maintainers"  # noqa: A001
release = "0.1.0"

extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build"]
html_theme = "alabaster"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

nitpicky = True
# Only this package's own names must resolve (there is no inventory of the others offline):
# a target that is neither this package's full name nor relative (``.x``) is another project's.
nitpick_ignore_regex = [(r"py:.*", r"(?!airflow_provider_posthog_recordings\.|\.).*")]
#: A private base shown by show-inheritance, and type variables (Sphinx documents no TypeVar).
nitpick_ignore = [
    ("py:class", "airflow_provider_posthog_recordings.client.models._APIModel"),
    ("py:class", "airflow_provider_posthog_recordings.client.http.batching.T"),
    ("py:class", "airflow_provider_posthog_recordings.client.http.batching.R"),
]
#: Relative references Sphinx cannot resolve, in modules being rewritten on other branches
#: (jobs/purge.py, jobs/purge_plan.py, jobs/deletion.py, operators/deletion_operators.py):
#: write them as full names there, then remove them here.
nitpick_ignore += [
    ("py:mod", ".recording_deletion"),
    ("py:meth", ".recording_deletion.RecordingDeletion.delete_recordings"),
    ("py:class", ".operators.deletion_operators.PostHogPurgeRecordingsOperator"),
    ("py:mod", ".jobs.purge"),
    ("py:mod", ".jobs.erasure"),
    ("py:mod", ".jobs.archive"),
    ("py:func", ".jobs.purge.carried_reference"),
]
