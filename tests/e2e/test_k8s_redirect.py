"""Kubernetes tasks reach the harness's cluster and nothing else, whatever the DAG says.

A fake "prod" API server on a loopback port counts every connection. The
nested session runs with ``KUBECONFIG``, ``~/.kube/config``, a
``kubernetes_conn_id`` connection, ``config_file=`` and the in-cluster
variables all pointing at it; every task must still run on the harness
cluster (kind environment) or fail at once (Docker environment), and prod
must see no connection at all. A control run then shows the fake is what the
kubernetes client would have used.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.environment import KindEnvironment

pytestmark = [pytest.mark.e2e, pytest.mark.kind]

DAG = '''
import pendulum
from airflow.providers.cncf.kubernetes.operators.job import KubernetesJobOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow import DAG
try:
    from airflow.sdk import task
except ImportError:  # Airflow 2.11
    from airflow.decorators import task

PROD = {prod!r}

with DAG(dag_id="written_for_prod", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    common = dict(namespace="redirect", image="xcom-probe:e2e", image_pull_policy="Never",
                  arguments=["lines", "2"], retries=0, startup_timeout_seconds=60)
    KubernetesPodOperator(task_id="no_connection", name="a", **common)
    KubernetesPodOperator(task_id="custom_conn_id", name="b", kubernetes_conn_id="prod_k8s", **common)
    KubernetesPodOperator(task_id="docker_desktop", name="c", cluster_context="docker-desktop", **common)
    KubernetesPodOperator(task_id="in_cluster", name="d", in_cluster=True, **common)
    KubernetesPodOperator(task_id="config_file", name="e", config_file=PROD, **common)
    KubernetesPodOperator(task_id="deferrable", name="f", deferrable=True, poll_interval=1,
                          kubernetes_conn_id="prod_k8s", cluster_context="prod", **common)
    KubernetesJobOperator(task_id="job", name="g", wait_until_job_complete=True, job_poll_interval=1,
                          kubernetes_conn_id="prod_k8s", **common)
    pod = dict(namespace="redirect", image="xcom-probe:e2e", image_pull_policy="Never", retries=0)

    @task.kubernetes(task_id="taskflow", name="h", kubernetes_conn_id="prod_k8s", do_xcom_push=True, **pod)
    def taskflow():
        return {{"ran": "in a pod"}}

    @task.kubernetes_cmd(task_id="taskflow_cmd", name="i", cluster_context="docker-desktop", **pod)
    def taskflow_cmd():
        return ["probe", "lines", "1"]

    taskflow()
    taskflow_cmd()
'''

TASKS = {
    "no_connection", "custom_conn_id", "docker_desktop", "in_cluster", "config_file", "deferrable", "job",
    "taskflow", "taskflow_cmd",
}

TESTS = '''
import pytest

TASKS = {tasks!r}


@pytest.fixture(scope="session")
def on_kind(airflow_e2e):
    with airflow_e2e.kind(dags="dags", images={{}}, namespace="redirect") as env:
        yield env


@pytest.fixture(scope="session")
def on_docker(airflow_e2e):
    with airflow_e2e.docker(dags="dags") as env:
        yield env


def test_every_task_runs_on_the_harness_cluster(on_kind):
    run = on_kind.run("written_for_prod", "2026-01-05")
    run.raise_for_failures()
    assert set(run.redirected) == TASKS, run.redirected
    assert "cluster_context='docker-desktop'" in run.redirected["docker_desktop"]
    assert run.xcoms["taskflow"] == {{"ran": "in a pod"}}


def test_without_a_cluster_every_task_fails_at_once_saying_why(on_docker):
    run = on_docker.run("written_for_prod", "2026-01-05")
    assert run.states == {{task: "failed" for task in TASKS}}, run.describe()
    for task in TASKS:
        log = run.tasks[task].log
        assert "has no kind cluster" in log, log
        # "at once": refused before the operator ran, so nothing waited on a pod or a connection
        assert "NoClusterError" in log and "providers/cncf/kubernetes/" not in log, log
        assert run.tasks[task].try_number == 1, run.tasks[task]
'''


class CountingServer:
    """Accepts TCP connections on 127.0.0.1 and counts them; answers nothing."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def __enter__(self) -> CountingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def prod() -> Iterator[CountingServer]:
    with CountingServer() as server:
        yield server


def prod_kubeconfig(path: Path, port: int) -> Path:
    server = f"https://127.0.0.1:{port}"
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "prod", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "admin", "user": {"token": "prod-token"}}],
        "contexts": [{"name": n, "context": {"cluster": "prod", "user": "admin"}}
                     for n in ("prod", "docker-desktop")],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def test_no_task_reaches_a_prod_cluster(
    xcoms_k8s: KindEnvironment, prod: CountingServer, tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    config = prod_kubeconfig(home / ".kube" / "config", prod.port)
    project = tmp_path / "project"
    (project / "dags").mkdir(parents=True)
    (project / "dags" / "written_for_prod.py").write_text(DAG.format(prod=str(config)))
    (project / "test_redirect.py").write_text(textwrap.dedent(TESTS.format(tasks=TASKS)))
    env = dict(os.environ) | {
        "HOME": str(home), "HARNESS_CACHE_DIR": str(cache_dir()), "KUBECONFIG": str(config),
        "KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(prod.port),
        "AIRFLOW_CONN_PROD_K8S": json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config_path": str(config)}}
        ),
    }

    outcome = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", str(project),
         f"--cluster-name={xcoms_k8s.cluster.name}", "--keep-cluster", str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=900,
    )
    output = outcome.stdout + outcome.stderr
    assert outcome.returncode == 0, output
    assert "2 passed" in output, output
    assert prod.connections == 0, output

    # Control: in that same environment, the kubernetes client's own default is the fake prod.
    control = subprocess.run(
        [sys.executable, "-c", "from kubernetes import client, config; config.load_kube_config(); "
         "client.CoreV1Api().list_namespace(_request_timeout=3)"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert control.returncode != 0
    assert prod.connections > 0, control.stderr
