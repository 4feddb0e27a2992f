"""Ctrl-C and SIGTERM stop a session wherever they land (the task after never starts) and leave nothing
behind; how long the stop took is printed here and measured by `python -m bench.chaos`, not asserted."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest

from airflow_e2e_harness.docker.containers import SESSION_LABEL
from airflow_e2e_harness.environment import DockerEnvironment, KindEnvironment
from tests.e2e.expected import SCENARIOS, XCOMS_DAGS
from tests.e2e.inner_session import interrupt, start_inner, stop_inner, wait_for_session, wait_until

XCOMS_IMAGES = SCENARIOS / "xcoms" / "images"

pytestmark = [pytest.mark.e2e]

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
    client = movielens_docker.session.docker_client
    proc = start_inner(tmp_path, INNER_TEST.format(dags=str(movielens_docker.dags)))
    output: list[str] = []
    try:
        session = wait_for_session(proc, output, timeout=120)
        label = f"{SESSION_LABEL}={session}"
        assert client.containers.list(filters={"label": label}), "the service should be running before Ctrl-C"
        text, _ = interrupt(proc, signal.SIGINT, output)
    finally:
        stop_inner(proc)

    assert proc.returncode != 0, text
    assert client.containers.list(all=True, filters={"label": label}) == [], text
    assert client.networks.list(filters={"label": label}) == [], text


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
        text, took = interrupt(proc, signal.SIGINT, output)
    finally:
        stop_inner(proc)
    print(f"Ctrl-C inside a Docker task: the session exited {took:.1f}s later")
    assert proc.returncode != 0, text
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
        text, took = interrupt(proc, signal.SIGTERM, output)
    finally:
        stop_inner(proc)
    print(f"SIGTERM inside a pod task: the session exited {took:.1f}s later")
    assert proc.returncode != 0, text
    assert "interrupted by SIGTERM" in text, text
    pods = [p for p in core.list_namespaced_pod(namespace).items if p.metadata.deletion_timestamp is None]
    assert pods == [], "the running pod is deleted (on_kill), and no later task made one"
    assert xcoms_k8s.cluster.exists(), "the shared cluster stays for its other user"
