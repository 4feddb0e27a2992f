"""``python -m airflow_e2e_harness loop``: a team's project rerun in one process, edited between runs.

The project (written here, outside this repo's tests: a DockerOperator DAG, its image, a conftest
and a test) runs once; then its DAG and its test are edited together, Enter is pressed, and the
second run passes only if both were read anew (the old test module expects the old output, the
old DAG prints it). Airflow stays started between the runs: the second run's warm-up says so.
After ``q`` nothing of the loop's is left: its cluster folder, its session record and scratch
folder (the shared Airflow home).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.housekeeping.session_records import records_dir
from airflow_e2e_harness.loop import PROMPT
from tests.e2e.inner_session import stop_inner, wait_for_line

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

DAG = '''
import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.docker.operators.docker import DockerOperator

with DAG("echo", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    DockerOperator(task_id="say", image="loop-echo:e2e", command=["python3", "-c", "print({word!r})"],
                   auto_remove="success")
'''
CONFTEST = '''
import pytest


@pytest.fixture(scope="session")
def echo(airflow_e2e):
    with airflow_e2e.docker(dags="dags", images="images") as env:
        yield env
'''
TEST = '''
EXPECTED = {word!r}


def test_says_the_word(echo):
    result = echo.run("echo", "2026-01-05")
    assert result.ok, result.describe()
    assert result.xcoms["say"] == EXPECTED
'''
STARTED_EARLIER = "Airflow was started earlier in this process"


def write_project(root: Path, word: str) -> None:
    (root / "dags").mkdir(exist_ok=True)
    (root / "images" / "loop-echo").mkdir(parents=True, exist_ok=True)
    (root / "images" / "loop-echo" / "Dockerfile").write_text(
        "ARG PYTHON_BASE=python:3.12-slim\nFROM ${PYTHON_BASE}\n")  # the README's base (local here)
    (root / "dags" / "echo.py").write_text(textwrap.dedent(DAG).format(word=word))
    (root / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (root / "test_echo.py").write_text(textwrap.dedent(TEST).format(word=word))


def test_reruns_in_one_process_read_the_edits(tmp_path: Path) -> None:
    project = tmp_path / "team"
    project.mkdir()
    write_project(project, "one")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_e2e_harness", "loop", "--", "-q", "-p", "no:cacheprovider",
         "test_echo.py"],
        cwd=project, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    output: list[str] = []

    def until_prompt() -> str:
        return wait_for_line(proc, output, lambda line: PROMPT in line, f"no line with {PROMPT!r}", 300)

    try:
        first = until_prompt()
        assert "loop: run 1 took" in first and "(pytest exit 0)" in first, first
        assert STARTED_EARLIER not in first

        write_project(project, "two")  # the DAG and the test, edited together
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        second = until_prompt()
        assert "loop: run 2 took" in second and "(pytest exit 0)" in second, second
        assert STARTED_EARLIER in second
        # The loop's own session (it holds the shared Airflow home), while the loop waits.
        records = list(records_dir().glob(f"*-{proc.pid}-loop.json"))
        assert len(records) == 1, (proc.pid, sorted(p.name for p in records_dir().iterdir()))
        (record,) = records
        scratch = Path(json.loads(record.read_text())["scratch"])
        db = scratch / "airflow-home" / "airflow.db"
        with closing(sqlite3.connect(db)) as con:  # the reruns ran in the loop's own metadata DB
            (runs,) = con.execute("select count(*) from dag_run where dag_id = 'echo'").fetchone()
        assert runs >= 1, f"no run of echo in {db}: the reruns used an Airflow home of their own"

        proc.stdin.write("q\n")
        proc.stdin.flush()
        rest, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, "".join(output) + rest
    finally:
        stop_inner(proc)
    assert not (cache_dir() / "kind" / f"airflow-e2e-loop-{proc.pid}").exists(), "the loop's cluster folder"
    assert not record.exists() and not scratch.exists(), "the loop's session record and scratch folder"
