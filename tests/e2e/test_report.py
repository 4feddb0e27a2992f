"""The session's run report in a real browser: headless Chromium (Debian's package) loads the page
the session wrote; the DOM Chromium built is checked against the runs, and a screenshot is kept."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from airflow_e2e_harness.environment import DockerEnvironment
from airflow_e2e_harness.provision.engine import apt_install
from airflow_e2e_harness.session import E2ESession
from tests.e2e.expected import DAYS
from tests.e2e.html_elements import Elements

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium, installed as the harness installs its engine (root + apt) when missing."""
    found = shutil.which("chromium")
    if found is None:
        apt_install("chromium", ("chromium",))  # says what to install when it cannot
        found = shutil.which("chromium")
    assert found, "chromium is not on PATH after installing Debian's package"
    return found


def test_the_report_shows_every_run_as_a_timeline_in_chromium(
    movielens_docker: DockerEnvironment, airflow_e2e: E2ESession, chromium: str,
) -> None:
    result = movielens_docker.run("movielens_docker", DAYS[0])
    assert result.ok, result.describe()
    page = airflow_e2e.write_report()

    dom = subprocess.run([chromium, *HEADLESS, "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and "</html>" in dom.stdout, dom.stderr[-2000:]
    elements = Elements()
    elements.feed(dom.stdout)

    runs = elements.with_class("run")
    assert [(r["data-dag"], r["data-state"]) for r in runs] == [
        (run.dag_id, run.state) for run in airflow_e2e.runs
    ]
    rows = elements.with_class("task")
    assert len(rows) == sum(len(run.tasks) for run in airflow_e2e.runs)
    last = rows[-len(result.tasks):]  # this test's run is the last one on the page
    assert {r["data-task"]: r["data-state"] for r in last} == result.states
    bars = elements.with_class("bar")[-len(result.tasks):]
    widths = [float(b["style"].split("width:")[1].split("%")[0]) for b in bars]
    assert all(w > 0 for w in widths), widths
    assert len(elements.with_class("rendered")) >= len(result.tasks)  # each task's rendered fields

    shot = Path(airflow_e2e.artifacts_dir) / "report.png"
    subprocess.run([chromium, *HEADLESS, f"--screenshot={shot}", "--window-size=1280,1600", page.as_uri()],
                   capture_output=True, text=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
