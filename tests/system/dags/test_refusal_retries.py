"""Airflow itself does not retry a configuration refusal, and does retry a transient error.

Two tasks with ``retries=2`` run in one ``dag.test()`` against the emulator: a list with a
misspelt query key (refused before any request) and a list the server answers with 503s.
Airflow counts the tries (``try_number``). The DAG is written to its own DAGs folder:
``dag.test()`` runs only a DAG its bundle holds.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from posthog_recordings_emulator import PostHogEmulator

from tests.system.dags.conftest import give_to_airflow

LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
DAG_FILE = textwrap.dedent(
    """
    from datetime import datetime, timedelta, timezone

    from airflow.sdk import DAG

    from airflow_provider_posthog_recordings.operators import PostHogListRecordingsOperator

    RETRY = {"retries": 2, "retry_delay": timedelta(0)}
    with DAG(
        "refusal_retries",
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
    ):
        PostHogListRecordingsOperator(task_id="refused", query={"date_form": "-3d"}, **RETRY)
        PostHogListRecordingsOperator(task_id="transient", query={"date_from": "-3d"}, **RETRY)
    """
)


@pytest.mark.dagrun
def test_a_refusal_fails_at_once_and_a_server_error_is_retried(
    posthog_for_dags: PostHogEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow.models import DagBag

    (tmp_path / "refusal_retries.py").write_text(DAG_FILE)
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path))
    bundle = {
        "name": "refusal-retries",
        "classpath": LOCAL_BUNDLE,
        "kwargs": {"path": str(tmp_path)},
    }
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    give_to_airflow(posthog_for_dags, monkeypatch, max_retries=0)
    posthog_for_dags.inject("503", times=100, path_contains="session_recordings")
    dag = DagBag(dag_folder=str(tmp_path)).dags["refusal_retries"]

    run = dag.test()

    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert str(tis["refused"].state) == "failed"
    assert str(tis["transient"].state) == "failed"
    assert tis["refused"].try_number == 1  # no retry
    assert tis["transient"].try_number == 3  # the first try and its 2 retries
    listed = [r for r in posthog_for_dags.requests if "session_recordings" in r.path]
    assert len(listed) == 3  # one per try of "transient" (the client's own retries off)
