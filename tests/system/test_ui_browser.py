"""Airflow 3's web UI as a person sees it, in a real browser (marker ``browser``).

Playwright's sync API drives Debian's Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``),
headless, against the api-server of the session's deployment (:mod:`.deployment`; with
``simple_auth_manager_all_admins`` the UI needs no login). A screenshot of every page visited
goes to ``browser-artifacts/<test>/`` at the repository root; the folder is removed when the
test passes and kept (its path in the report) when it fails. Without Playwright or Chromium
the tier fails: it never skips in silence. Airflow 2's UI is another application: the tier
runs on Airflow 3 only.

Runs after :mod:`.test_deployment` and :mod:`.test_deployment_approval` (file order): the
runs it starts from the trigger forms do not overlap theirs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.system.conftest import (
    APPROVAL_DAG_ID,
    EXAMPLE_DAG_IDS,
    api_session,
    wait_for_approval_request,
)
from tests.system.deployment import (
    AIRFLOW_MAJOR,
    AIRFLOW_VERSION,
    REPO_ROOT,
    Deployment,
    EmulatorProcess,
    wait_until,
)

pytestmark = [
    pytest.mark.system,
    pytest.mark.browser,
    pytest.mark.skipif(
        AIRFLOW_MAJOR < 3,
        reason="the browser tier tests Airflow 3's UI (Airflow 2's is another application)",
    ),
]

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO_ROOT / "browser-artifacts"
#: How long a page may take to show what is waited for (the React app loads, then asks the
#: API), in milliseconds.
UI_TIMEOUT_MS = 20_000
CURATION_DAG_ID = "posthog_playlist_curation"
#: The runs started from the trigger forms, by DAG id (the later tests look at them).
FORM_RUNS: dict[str, str] = {}
#: The old recording planted for the plan of the approval DAG's run from its form.
OLD_RECORDING: list[str] = []


class Screens:
    """A page, and a numbered screenshot of every step in the test's artifact folder."""

    def __init__(self, page: Any, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0

    def shot(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)

    def goto(self, path: str, name: str) -> None:
        self.page.goto(path)
        self.page.wait_for_load_state("domcontentloaded")
        self.shot(name)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """The browser; fails (never skips) when Playwright or Chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(
            f"the browser tier needs Playwright ({exc}): `make install` puts it into .venv "
            '(pip install "playwright>=1.40"; Playwright\'s own browsers are not needed)',
            pytrace=False,
        )
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tier needs Chromium at {CHROMIUM} (Debian: apt-get install -y "
            "chromium; `make browser`, run by `make test`, does it as root; or set CHROMIUM=...)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def screens(
    chromium: Any, deployment: Deployment, request: pytest.FixtureRequest
) -> Iterator[Screens]:
    """A fresh browser context on the api-server; screenshots kept only when the test fails."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    request.node.browser_artifacts = folder  # the report names it (tests/system/conftest.py)
    context = chromium.new_context(
        base_url=deployment.api_url, viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    screens = Screens(page, folder)
    try:
        yield screens
    finally:
        report = getattr(request.node, "rep_call", None)
        failed = report is None or report.failed
        if failed:
            try:
                screens.shot("at-the-end")
            except Exception as exc:  # the page may be gone; the folder stays anyway
                print(f"no final screenshot: {exc}")
        context.close()
        if not failed:
            shutil.rmtree(folder, ignore_errors=True)
            with_files = ARTIFACTS.exists() and any(ARTIFACTS.iterdir())
            if not with_files:
                shutil.rmtree(ARTIFACTS, ignore_errors=True)


# ---------------------------------------------------------------- the connection form


def test_the_posthog_connection_form(screens: Screens, deployment: Deployment) -> None:
    """Admin -> Connections -> Add, type PostHog: relabelled fields, the key masked, every
    extra labelled, Project ID required (Save stays disabled without it), and a connection
    saved from the form is stored with its project id."""
    page = screens.page
    screens.goto("/connections", "connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox").fill("PostHog")
    page.keyboard.press("Enter")
    dialog.get_by_label("Personal API key").wait_for()
    screens.shot("posthog-standard-fields")

    assert dialog.get_by_label("PostHog host").get_attribute("placeholder", timeout=1000) == (
        "https://us.posthog.com (self-hosted without TLS: http://host:port, and allow plain http)"
    )
    key = dialog.get_by_label("Personal API key")
    assert key.get_attribute("type") == "password"
    assert key.get_attribute("placeholder") == "phx_..."
    for hidden in ("Login", "Port", "Schema"):
        assert dialog.get_by_label(hidden, exact=True).count() == 0, f"{hidden} is shown"
    # The port is shown for the Test button's sake (Airflow 3.3.2 answers Bad Request for a
    # connection stored without one), and says so.
    port = dialog.get_by_label("Port (443 for https; the Test button needs it)", exact=True)
    assert port.count() == 1 and port.get_attribute("placeholder") == "443"

    conn_id = f"posthog_browser_{int(time.time())}"
    dialog.get_by_label("Connection ID").fill(conn_id)
    dialog.get_by_label("PostHog host").fill("https://eu.posthog.com")
    key.fill("phx_browser_test_key")
    port.fill("443")
    save = dialog.get_by_role("button", name="Save")
    screens.shot("filled-without-project-id")
    assert save.is_disabled(), "Save is enabled without a project id"

    # Opening Extra Fields closes Standard Fields (one section at a time).
    dialog.get_by_text("Extra Fields", exact=True).click()
    project = dialog.get_by_label("Project ID")
    project.wait_for()
    screens.shot("posthog-extra-fields")
    labels = [
        "Allow plain http",
        "Requests per minute",
        "Requests per hour",
        "List requests per minute",
        "List requests per hour",
        "Snapshot requests per minute",
        "Snapshot requests per hour",
        "Page size",
        "Timeout (seconds)",
        "Max retries",
        "Concurrency",
    ]
    for label in labels:
        assert dialog.get_by_label(label, exact=True).count() == 1, f"no field {label!r}"
    # Required: the input, and the label's asterisk.
    assert project.get_attribute("required") is not None
    project_label = dialog.locator(f"label[for='{project.get_attribute('id')}']")
    assert project_label.get_attribute("data-required") is not None
    assert project_label.inner_text().strip().endswith("*")
    for label in ("Requests per minute", "Page size"):
        field = dialog.get_by_label(label, exact=True)
        assert field.get_attribute("required") is None, f"{label} is marked required"

    project.fill("4242")
    project.press("Tab")
    screens.shot("filled")
    wait_until(save.is_enabled, UI_TIMEOUT_MS / 1000, "Save enabled with a project id")
    save.click()
    page.get_by_text(conn_id).wait_for()
    screens.shot("saved")
    answer = api_session(deployment).get(
        f"{deployment.api_url}/api/v2/connections/{conn_id}", timeout=30
    )
    assert answer.ok, answer.text
    stored = answer.json()
    assert stored["conn_type"] == "posthog" and stored["host"] == "https://eu.posthog.com"
    assert stored["port"] == 443
    assert json.loads(stored["extra"])["project_id"] == 4242, stored["extra"]


def test_the_test_button_on_airflow_3_3_2(
    screens: Screens, deployment: Deployment, posthog_process: EmulatorProcess
) -> None:
    """README's note: on Airflow 3.3.2 the UI's Test button answers *Bad Request* for a
    connection stored without a port (the UI sends ``port: 0``; apache/airflow#73298), before
    any hook runs; with the port stored, as the form's Port label asks, it tests for real."""
    if AIRFLOW_VERSION != "3.3.2":
        pytest.skip(f"the note is about Airflow 3.3.2; this is {AIRFLOW_VERSION}: check it again")
    page = screens.page
    screens.goto("/connections", "connections")
    row = page.get_by_role("row").filter(has_text="posthog_default")
    row.get_by_role("button", name="Test Connection").click()
    page.get_by_text("Test Connection Failed").wait_for()
    screens.shot("test-button")
    assert page.get_by_text("Bad Request").count() >= 1

    conn_id = f"posthog_port_{int(time.time())}"
    body = {
        "connection_id": conn_id,
        "conn_type": "posthog",
        "host": posthog_process.url,
        "port": int(posthog_process.url.rsplit(":", 1)[1]),
        "password": posthog_process.api_key,
        "extra": json.dumps({"project_id": posthog_process.project_id}),
    }
    answer = api_session(deployment).post(
        f"{deployment.api_url}/api/v2/connections", json=body, timeout=30
    )
    assert answer.ok, answer.text
    screens.goto("/connections", "connections")
    row = page.get_by_role("row").filter(has_text=conn_id)
    row.get_by_role("button", name="Test Connection").click()
    page.get_by_text("Test Connection Successful").wait_for()
    screens.shot("test-button-with-port")


# ---------------------------------------------------------------- the trigger forms


def _trigger_from_the_form(screens: Screens, dag_id: str) -> str:
    """Open the DAG's Trigger form, check that Trigger is enabled with the defaults, press it;
    return the run id (the UI opens the new run's page)."""
    page = screens.page
    screens.goto(f"/dags/{dag_id}", f"{dag_id}")
    page.get_by_role("button", name="Trigger").click()  # the page's only one
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    dialog.get_by_text("Advanced Options").wait_for()  # the params' fields are above it
    screens.shot(f"{dag_id}-trigger-form")
    button = dialog.get_by_role("button", name="Trigger", exact=True)
    assert button.is_enabled(), f"{dag_id}: Trigger is disabled with the defaults"
    button.click()
    page.wait_for_url(re.compile(rf"/dags/{dag_id}/runs/[^/]+"))
    screens.shot(f"{dag_id}-run")
    return urllib.parse.unquote(page.url.split("/runs/", 1)[1].split("/")[0])


def test_every_example_dag_runs_from_its_trigger_form(
    screens: Screens, deployment: Deployment, posthog_process: EmulatorProcess
) -> None:
    """Every example DAG's Trigger form, with its defaults: Trigger is enabled, and the run
    it starts succeeds on the real scheduler (the approval DAG's waits for a person: it is
    approved from the UI in the last test)."""
    # The triage's sensor waits for a session with console errors not yet viewed, in the 24 h
    # before the run (earlier runs marked the older ones viewed).
    now = datetime.now(timezone.utc)
    posthog_process.add(
        {"start_time": (now - timedelta(minutes=2)).isoformat(), "console_error_count": 1}
    )
    # One old recording for the approval DAG's plan (the approval test before deleted the
    # older ones): approved in the last test, it must be gone.
    [old] = posthog_process.add(
        {"distinct_id": "browser-approval", "start_time": (now - timedelta(days=40)).isoformat()}
    )
    OLD_RECORDING.append(old["id"])
    for dag_id in sorted(EXAMPLE_DAG_IDS):
        FORM_RUNS[dag_id] = _trigger_from_the_form(screens, dag_id)
    for dag_id, run_id in FORM_RUNS.items():
        assert deployment.dag_run(dag_id, run_id) is not None, (dag_id, run_id)
    for dag_id, run_id in FORM_RUNS.items():
        if dag_id == APPROVAL_DAG_ID:
            wait_for_approval_request(deployment, dag_id, run_id)
            continue
        state = deployment.wait_for_run(dag_id, run_id, timeout=180)
        assert state == "success", (dag_id, run_id, deployment.task_states(dag_id, run_id))


def _form_run(dag_id: str) -> str:
    if dag_id not in FORM_RUNS:
        pytest.fail(f"needs the run of {dag_id} started from its form (the test before)")
    return FORM_RUNS[dag_id]


def test_a_finished_curation_task_has_its_playlist_link_under_details(
    screens: Screens, deployment: Deployment, posthog_process: EmulatorProcess
) -> None:
    """The "PostHog playlist" extra link: on Airflow 3 under the task instance's *Details*
    tab (*Extra Links*), pointing at the playlist the task curated."""
    run_id = _form_run(CURATION_DAG_ID)
    page = screens.page
    task_id = "curate_console_errors"
    screens.goto(f"/dags/{CURATION_DAG_ID}/runs/{run_id}/tasks/{task_id}", "curation-task")
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name="PostHog playlist")
    link.wait_for()
    screens.shot("curation-details")
    result = deployment.xcom(CURATION_DAG_ID, run_id, task_id)
    expected = (
        f"{posthog_process.url}/project/{posthog_process.project_id}/replay/playlists/"
        f"{result['short_id']}"
    )
    assert link.get_attribute("href") == expected
    assert page.get_by_text("Extra Links").count() == 1


def test_the_approval_page_shows_the_plan_and_approve_applies_it(
    screens: Screens, deployment: Deployment, posthog_process: EmulatorProcess
) -> None:
    """The approval DAG's run from its form waits; its *Required Action* tab shows the plan's
    subject and counts; *Approve* there lets ``apply_plan`` run, and the run succeeds."""
    run_id = _form_run(APPROVAL_DAG_ID)
    page = screens.page
    plan = deployment.xcom(APPROVAL_DAG_ID, run_id, "plan_purge")
    screens.goto(f"/dags/{APPROVAL_DAG_ID}/runs/{run_id}/tasks/approve_purge", "approval-task")
    page.get_by_role("link", name=re.compile(r"Required Action")).click()
    page.get_by_text(f"Delete {plan['candidates']} PostHog recordings?").wait_for()
    link = page.get_by_role("link", name="the XCom of plan_purge")
    assert link.count() == 1
    assert (link.get_attribute("href") or "").endswith("/tasks/plan_purge/xcom")
    assert page.get_by_text(re.compile(r"about [\d,]+ requests at")).count() >= 1
    assert page.get_by_text("{'").count() == 0  # no Python reprs
    screens.shot("required-action")
    page.get_by_role("button", name="Approve", exact=True).click()
    state = deployment.wait_for_run(APPROVAL_DAG_ID, run_id, timeout=180)
    screens.goto(f"/dags/{APPROVAL_DAG_ID}/runs/{run_id}", "approval-run")
    assert state == "success", deployment.task_states(APPROVAL_DAG_ID, run_id)
    applied = deployment.xcom(APPROVAL_DAG_ID, run_id, "apply_plan")
    assert 1 <= applied["deleted"] <= plan["candidates"], applied
    assert set(OLD_RECORDING) <= posthog_process.deleted_ids()
    [ti] = [
        row
        for row in deployment.query(
            "SELECT h.chosen_options FROM hitl_detail h JOIN task_instance t ON t.id = h.ti_id "
            "WHERE t.dag_id = ? AND t.run_id = ?",
            APPROVAL_DAG_ID,
            run_id,
        )
    ]
    assert "Approve" in str(ti["chosen_options"])
