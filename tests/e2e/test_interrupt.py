"""Ctrl-C and SIGTERM stop a session within seconds, wherever they land, and leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from airflow_e2e_harness.containers import SESSION_LABEL
from airflow_e2e_harness.environment import DockerEnvironment, KindEnvironment
from tests.e2e.conftest import OUTER_CACHE
from tests.e2e.expected import SCENARIOS, XCOMS_DAGS

XCOMS_IMAGES = SCENARIOS / "xcoms" / "images"

pytestmark = [pytest.mark.e2e]

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


# -- signals inside a running task ------------------------------------------------------------
INNER_LONG_TASK = textwrap.dedent(
    """
    import pytest


    @pytest.fixture(scope="session")
    def env(airflow_e2e):
        with airflow_e2e.{kind}(dags={dags!r}, images={images!r}, {extra}) as env:
            yield env


    def test_long(airflow_e2e, env):
        print("SESSION", airflow_e2e.id, flush=True)
        env.run({dag!r}, "2026-01-05")
    """
)


def start_inner(tmp_path: Path, test_source: str, *extra_args: str) -> subprocess.Popen[str]:
    (tmp_path / "test_inner.py").write_text(test_source)
    args = ["-s", "-p", "no:cacheprovider", str(tmp_path / "test_inner.py"),
            f"--artifacts-dir={tmp_path / 'artifacts'}", *extra_args]
    return subprocess.Popen(
        [sys.executable, "-c", RESTORE_SIGINT_AND_RUN_PYTEST, *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, HARNESS_CACHE_DIR=str(OUTER_CACHE)), start_new_session=True,
    )


def wait_for_session(proc: subprocess.Popen[str], output: list[str], timeout: float = 240) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("SESSION "):
            return line.split()[1]
    raise AssertionError("the inner session never started its run:\n" + "".join(output))


def wait_until(check: Callable[[], object], what: str, timeout: float = 120) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def stop_inner(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_ctrl_c_inside_a_docker_task_stops_the_session(
    xcoms_docker: DockerEnvironment, tmp_path: Path,
) -> None:
    client = xcoms_docker.session.docker_client
    source = INNER_LONG_TASK.format(
        kind="docker", dags=str(XCOMS_DAGS), images=str(XCOMS_IMAGES), extra="", dag="docker_long_task",
    )
    proc = start_inner(tmp_path, source)
    output: list[str] = []
    try:
        session = wait_for_session(proc, output)
        label = f"{SESSION_LABEL}={session}"
        wait_until(lambda: client.containers.list(filters={"label": label, "status": "running"}),
                   "the task container to run")
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        stop_inner(proc)
    text = "".join(output) + rest
    print(f"Ctrl-C inside a Docker task: the session exited {took:.1f}s later")
    assert proc.returncode != 0, text
    assert took <= 10, text
    assert "interrupted by SIGINT" in text, text
    assert client.containers.list(all=True, filters={"label": label}) == [], text
    assert "task_id=after" not in text, "the task after the interrupted one must not start"


def test_sigterm_inside_a_pod_task_stops_the_session(xcoms_k8s: KindEnvironment, tmp_path: Path) -> None:
    core = xcoms_k8s.cluster.core
    namespace = "interrupt"
    source = INNER_LONG_TASK.format(
        kind="kind", dags=str(XCOMS_DAGS), images=str(XCOMS_IMAGES), dag="k8s_long_task",
        extra=f"namespace={namespace!r}, env={{'XCOMS_NAMESPACE': '${{namespace}}'}}",
    )
    proc = start_inner(tmp_path, source, f"--cluster-name={xcoms_k8s.cluster.name}")
    output: list[str] = []
    try:
        wait_for_session(proc, output)
        def running() -> list[object]:
            return [p for p in core.list_namespaced_pod(namespace).items if p.status.phase == "Running"]

        wait_until(running, "the task pod to run")
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        stop_inner(proc)
    text = "".join(output) + rest
    print(f"SIGTERM inside a pod task: the session exited {took:.1f}s later")
    assert proc.returncode != 0, text
    assert took <= 10, text
    assert "interrupted by SIGTERM" in text, text
    pods = [p for p in core.list_namespaced_pod(namespace).items if p.metadata.deletion_timestamp is None]
    assert pods == [], "the running pod is deleted (on_kill), and no later task made one"
    assert xcoms_k8s.cluster.exists(), "the shared cluster stays for its other user"
