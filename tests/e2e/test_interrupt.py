"""Ctrl-C in the middle of a session leaves no containers or networks behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import docker
import pytest

from airflow_e2e_harness.containers import SESSION_LABEL
from airflow_e2e_harness.environment import DockerEnvironment

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

# A shell without job control (CI runners, `cmd &`) starts its children with
# SIGINT ignored, and Python then installs no KeyboardInterrupt handler: a
# Ctrl-C test has to put the default handler back itself.
RESTORE_SIGINT_AND_RUN_PYTEST = (
    "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.exit(pytest.main(sys.argv[1:]))"
)

INNER_TEST = textwrap.dedent(
    """
    import time

    import pytest

    from airflow_e2e_harness.environment import Service


    @pytest.fixture(scope="session")
    def api(airflow_e2e):
        service = Service("movielens-api:e2e", name="api", aliases=["movielens"], ready_log=r"serving")
        with airflow_e2e.docker(dags={dags!r}, network="interrupt", services=[service]) as env:
            yield env


    def test_interrupted(airflow_e2e, api):
        print("SESSION", airflow_e2e.id, flush=True)
        time.sleep(120)
    """
)


def test_ctrl_c_mid_run_cleans_up(movielens_docker: DockerEnvironment, tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER_TEST.format(dags=str(movielens_docker.dags)))
    args = ["-s", "-p", "no:cacheprovider", str(tmp_path / "test_inner.py"),
            f"--artifacts-dir={tmp_path / 'artifacts'}"]
    proc = subprocess.Popen(
        [sys.executable, "-c", RESTORE_SIGINT_AND_RUN_PYTEST, *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
        start_new_session=True,
    )
    try:
        _interrupt_and_check(proc, movielens_docker.session.docker_client)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _interrupt_and_check(proc: subprocess.Popen[str], client: docker.DockerClient) -> None:
    session = None
    output: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("SESSION "):
            session = line.split()[1]
            break
    assert session, "inner session never got its service up:\n" + "".join(output)
    label = f"{SESSION_LABEL}={session}"
    assert client.containers.list(filters={"label": label}), "the service should be running before Ctrl-C"

    os.killpg(proc.pid, signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)

    assert proc.returncode != 0, rest
    assert client.containers.list(all=True, filters={"label": label}) == [], rest
    assert client.networks.list(filters={"label": label}) == [], rest
