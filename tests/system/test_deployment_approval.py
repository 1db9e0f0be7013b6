"""The approval example DAG on the real deployment (Airflow 3.1+ only): plan, review, apply.

Runs after :mod:`.test_deployment` (file order): its purge deletes every recording of the
emulator older than 30 days, so nothing else may be purging then. A person's part is played
through Airflow's REST API, as the UI's *Required actions* page does it: read what the approver
is shown, then answer *Approve*.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.system.conftest import APPROVAL_DAG_ID, api_session, wait_for_approval_request
from tests.system.deployment import AIRFLOW_MAJOR, Deployment, EmulatorProcess

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(
        AIRFLOW_MAJOR < 3,
        reason="the approval DAG needs Airflow 3.1's human-in-the-loop operators: on Airflow 2 "
        "its file defines no DAG",
    ),
]


def read_candidates(plan_location: str) -> list[str]:
    lines = (Path(plan_location) / "candidates.jsonl").read_text().splitlines()
    return [json.loads(line)["recording_id"] for line in lines if line.strip()]


def test_the_approval_dag_plans_waits_then_applies(
    deployment: Deployment, posthog_process: EmulatorProcess, system_root: Path
) -> None:
    """Old recordings are planted; the run plans and waits; what the approver sees names the
    plan's counts and folder; a recording planted while the plan waits is not in it; after
    *Approve* exactly the plan's ids are deleted and the late one is kept."""
    now = datetime.now(timezone.utc)
    planted = [
        r["id"]
        for r in posthog_process.add(
            *(
                {"distinct_id": "approval", "start_time": (now - timedelta(days=d)).isoformat()}
                for d in (35, 40, 45, 50)
            )
        )
    ]
    deleted_before = posthog_process.deleted_ids()
    plan_path = system_root / "approval-plans"
    run_id = deployment.trigger(APPROVAL_DAG_ID, {"plan_path": str(plan_path)})
    wait_for_approval_request(deployment, APPROVAL_DAG_ID, run_id)

    manifest = deployment.xcom(APPROVAL_DAG_ID, run_id, "plan_purge")
    location = manifest["plan_location"]
    assert location.startswith(str(plan_path)), location
    candidates = read_candidates(location)
    assert set(planted) <= set(candidates)
    assert len(candidates) == manifest["candidates"] == len(set(candidates))
    # Appears after the plan was written: old enough, but not in the plan.
    [late] = posthog_process.add(
        {"distinct_id": "approval", "start_time": (now - timedelta(days=41)).isoformat()}
    )

    api = api_session(deployment)
    base = f"{deployment.api_url}/api/v2/dags/{APPROVAL_DAG_ID}/dagRuns/{run_id}"
    detail = api.get(f"{base}/taskInstances/approve_purge/-1/hitlDetails", timeout=30)
    assert detail.ok, detail.text
    shown = detail.json()
    assert shown["subject"] == f"Delete {len(candidates)} PostHog recordings?"
    assert f"**{len(candidates)}** recordings would be deleted" in shown["body"]
    assert location in shown["body"]
    assert "{'" not in shown["body"]  # words, not Python reprs
    assert re.search(r"about [\d,]+ requests at .*/hour: about", shown["body"]), shown["body"]
    assert shown["options"] == ["Approve", "Reject"]
    assert shown["response_received"] is False
    waiting = api.get(f"{base}/hitlDetails", timeout=30)
    assert waiting.ok, waiting.text
    assert [d["task_instance"]["task_id"] for d in waiting.json()["hitl_details"]] == [
        "approve_purge"
    ]
    assert posthog_process.deleted_ids() == deleted_before  # nothing before the answer

    answer = api.patch(
        f"{base}/taskInstances/approve_purge/-1/hitlDetails",
        json={"chosen_options": ["Approve"], "params_input": {}},
        timeout=30,
    )
    assert answer.ok, answer.text
    assert answer.json()["chosen_options"] == ["Approve"]

    state = deployment.wait_for_run(APPROVAL_DAG_ID, run_id, timeout=240)
    states = deployment.task_states(APPROVAL_DAG_ID, run_id)
    assert state == "success", (states, deployment.task_log(APPROVAL_DAG_ID, run_id, "apply_plan"))
    assert states == {
        "plan_purge": "success",
        "summarize_plan": "success",
        "approve_purge": "success",
        "apply_plan": "success",
    }
    deleted = posthog_process.deleted_ids() - deleted_before
    assert deleted == set(candidates)
    assert late["id"] in posthog_process.recordings()
    applied: dict[str, Any] = deployment.xcom(APPROVAL_DAG_ID, run_id, "apply_plan")
    assert applied["deleted"] == len(candidates), applied
