"""A team's own repository, outside this one, tested as the README tells it to.

The built wheel (not an editable install) goes into a fresh virtualenv that
also holds Airflow 3.1 (the oldest supported minor) and PyPI's ``fixtures``
package (a name this project must not shadow). The project's conftest and
test are the README's code blocks, as printed; its DAGs, image and manifest
are in ``tests/e2e/user_project/``. The inner session makes its own cluster
under its own name, as a user's would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from airflow_e2e_harness.session import E2ESession
from tests.e2e.html_elements import Elements

pytestmark = [pytest.mark.e2e, pytest.mark.kind]

REPO = Path(__file__).resolve().parents[2]
USER_PROJECT = Path(__file__).resolve().parent / "user_project"
CONSTRAINTS = REPO / "tests" / "constraints" / "airflow-3.1.txt"
AIRFLOW_VERSION = "3.1.8"


def readme_files() -> dict[str, str]:
    """The README's python blocks that start with a ``# tests/<file>.py`` line, by that path."""
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)
    files = {}
    for block in blocks:
        first = block.partition("\n")[0]
        if re.fullmatch(r"# tests/\w+\.py", first.strip()):
            files[first.strip()[2:]] = block
    return files


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(REPO), "-w", str(dist)])
    (built,) = dist.glob("airflow_e2e_harness-*.whl")
    return built


@pytest.fixture(scope="module")
def user_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv: the wheel, Airflow 3.1 with its providers, and PyPI's ``fixtures``."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PIP_CONSTRAINT"}  # tox sets the outer env's
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(CONSTRAINTS), str(wheel), "fixtures"], env=env)
    return python


def test_readme_example_in_a_user_project_on_airflow_31(
    user_venv: Path, airflow_e2e: E2ESession, tmp_path: Path,
) -> None:
    files = readme_files()
    assert set(files) == {"tests/conftest.py", "tests/test_etl.py"}, files.keys()
    conftest_lines = len(files["tests/conftest.py"].splitlines())
    assert conftest_lines <= 15, f"the README conftest is {conftest_lines} lines, not about a dozen"

    project = tmp_path / "etl-repo"
    shutil.copytree(USER_PROJECT, project)
    for rel, text in files.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)

    # What the user's environment holds: Airflow 3.1, PyPI's fixtures, our package (not editable).
    probe = run([str(user_venv), "-c", (
        "import airflow, fixtures, airflow_e2e_harness, importlib.metadata as m; "
        "print(airflow.__version__); print(fixtures.Fixture.__module__); "
        "print(airflow_e2e_harness.__file__); "
        "print(m.distribution('airflow-e2e-harness').read_text('direct_url.json') or 'none')"
    )], cwd=project).stdout.splitlines()
    assert probe[0] == AIRFLOW_VERSION, probe
    assert probe[1].startswith("fixtures"), probe
    assert "site-packages" in probe[2] and str(REPO) not in probe[2], probe
    assert '"editable": true' not in probe[3], probe

    env = dict(os.environ)
    env["DOCKER_HOST"] = airflow_e2e.start_daemon().url  # the session's daemon; HOME (so the cache) is shared
    html_report = tmp_path / "pytest-report.html"
    outcome = subprocess.run(
        [str(user_venv), "-m", "pytest", "-p", "no:cacheprovider", "-q", "--cluster-name=etl-user-project",
         f"--html={html_report}", "--self-contained-html"],
        cwd=project, env=env, capture_output=True, text=True, timeout=1200,
    )
    output = outcome.stdout + outcome.stderr
    assert outcome.returncode == 0, output
    assert re.search(r"\b2 passed\b", output), output
    assert "sent to the session's cluster" in output, output  # the DAG's cluster_context="prod-eu" was mapped

    # pytest-html's report embeds the session's run report: both runs, each with its tasks.
    frames = Elements()
    frames.feed(html_report.read_text(encoding="utf-8"))
    embedded = [attrs["srcdoc"] for tag, attrs in frames.found if tag == "iframe" and "srcdoc" in attrs]
    assert len(embedded) == 1, [tag for tag, _ in frames.found][:50]
    page = Elements()
    page.feed(embedded[0])
    runs = page.with_class("run")
    assert sorted((r["data-dag"], r["data-state"]) for r in runs) == [
        ("etl_daily", "success"), ("etl_daily_docker", "success"),
    ]
    assert {r["data-task"] for r in page.with_class("task")} == {"extract", "load"}
