"""Sessions side by side and after a crash: concurrent sessions both pass, and ``cleanup`` after
``kill -9`` removes what the killed session made, and nothing of the user's or of live sessions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from airflow_e2e_harness.docker.containers import SESSION_LABEL
from airflow_e2e_harness.environment import KindEnvironment
from airflow_e2e_harness.housekeeping.session_records import records_dir
from airflow_e2e_harness.kubernetes.cluster_state import KIND_CLUSTER_LABEL, ClusterState
from tests.e2e.expected import PROBE_DS, SCENARIOS, XCOMS_DAGS
from tests.e2e.inner_session import start_inner, stop_inner, wait_for_session, wait_until

pytestmark = [pytest.mark.e2e]
XCOMS_IMAGES = SCENARIOS / "xcoms" / "images"

FIXTURES = textwrap.dedent(
    """
    import pytest

    from airflow_e2e_harness.environment import Service

    DAGS, IMAGES = {dags!r}, {images!r}


    @pytest.fixture(scope="session")
    def k8s(airflow_e2e):
        with airflow_e2e.kind(dags=DAGS, images=IMAGES, namespace="xcoms",
                              env={{"XCOMS_NAMESPACE": "${{namespace}}"}}) as env:
            yield env


    @pytest.fixture(scope="session")
    def dock(airflow_e2e):
        service = Service("xcom-probe:e2e", name="svc", command=["wait"], ready_log="waiting")
        with airflow_e2e.docker(dags=DAGS, images=IMAGES, network="side", services=[service]) as env:
            yield env
    """
).format(dags=str(XCOMS_DAGS), images=str(XCOMS_IMAGES))

BOTH_PASS = FIXTURES + textwrap.dedent(
    """

    def test_docker(dock):
        dock.run("docker_xcoms", {ds!r}).raise_for_failures()


    def test_k8s(airflow_e2e, k8s):
        print("CLUSTER", airflow_e2e.cluster.name, airflow_e2e.cluster.data_dir, flush=True)
        k8s.run("k8s_xcoms", {ds!r}).raise_for_failures()
    """
).format(ds=PROBE_DS)

KILLED = FIXTURES + textwrap.dedent(
    """

    def test_killed(airflow_e2e, k8s, dock):
        print("SESSION", airflow_e2e.id, airflow_e2e.cluster.name, airflow_e2e.scratch, flush=True)
        dock.run("docker_long_task", {ds!r})
    """
).format(ds=PROBE_DS)


def node_containers(client: docker.DockerClient, cluster: str) -> list[Container]:
    return client.containers.list(all=True, filters={"label": f"{KIND_CLUSTER_LABEL}={cluster}"})


def test_two_concurrent_sessions_both_pass(xcoms_k8s: KindEnvironment, tmp_path: Path) -> None:
    """Each gets a cluster of its own, the same namespace in each, its own data folder; the shared
    daemon stays up for this (third) session."""
    client = xcoms_k8s.session.docker_client
    procs = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        procs.append(start_inner(tmp_path / name, BOTH_PASS))
    try:
        outputs = [proc.communicate(timeout=900)[0] for proc in procs]
    finally:
        for proc in procs:
            stop_inner(proc)
    for proc, text in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, text
    lines = [line for text in outputs for line in text.splitlines()]
    clusters = [line.split()[1:] for line in lines if line.startswith("CLUSTER ")]
    assert len(clusters) == 2 and clusters[0] != clusters[1], clusters
    assert clusters[0][1] != clusters[1][1], "data folders are per session"
    for name, _ in clusters:
        assert node_containers(client, name) == [], f"{name}: deleted by its only user"
        assert not ClusterState(name).recorded()
    assert client.ping() and xcoms_k8s.cluster.exists()


def create_users_own_cluster(
    env: KindEnvironment, name: str, kubeconfig: Path,
) -> subprocess.CompletedProcess[str]:
    """A kind cluster the user made with kind itself: the harness has no record of it."""
    assets = env.session.kind_assets
    return subprocess.run(
        [str(assets.kind), "create", "cluster", "--name", name, "--image", assets.node_image,
         "--kubeconfig", str(kubeconfig)],
        env=dict(os.environ) | env.session.daemon.env(), capture_output=True, text=True, timeout=300,
    )


def test_cleanup_after_kill_9_leaves_nothing_and_spares_the_users_cluster(
    xcoms_k8s: KindEnvironment, tmp_path: Path,
) -> None:
    outer = xcoms_k8s.session
    client = outer.docker_client
    users = f"users-own-{os.getpid()}"
    made: list[subprocess.CompletedProcess[str]] = []
    maker = threading.Thread(target=lambda: made.append(
        create_users_own_cluster(xcoms_k8s, users, tmp_path / "users-kubeconfig")))
    maker.start()
    proc = start_inner(tmp_path, KILLED)
    output: list[str] = []
    try:
        wait_for_session(proc, output, timeout=600)
        session, cluster, scratch = output[-1].split()[1:4]
        label = f"{SESSION_LABEL}={session}"
        wait_until(lambda: len(client.containers.list(filters={"label": label})) >= 2,
                   "the service and the task container to run")
        os.killpg(proc.pid, 9)
        proc.wait()
        maker.join(timeout=300)
        assert made and made[0].returncode == 0, made

        # What kill -9 leaves behind:
        assert node_containers(client, cluster) and ClusterState(cluster).recorded()
        assert client.containers.list(all=True, filters={"label": label})
        assert client.networks.list(filters={"label": label})
        assert Path(scratch).is_dir() and (records_dir() / f"{session}.json").exists()

        cleanup = subprocess.run(
            [sys.executable, "-m", "airflow_e2e_harness", "cleanup"], capture_output=True, text=True,
            env=dict(os.environ) | outer.daemon.env(), timeout=120,
        )
        assert cleanup.returncode == 0, cleanup.stderr
        print(cleanup.stdout)

        assert node_containers(client, cluster) == [], cleanup.stdout
        assert not ClusterState(cluster).recorded()
        assert client.containers.list(all=True, filters={"label": label}) == []
        assert client.networks.list(filters={"label": label}) == []
        assert not Path(scratch).exists() and not (records_dir() / f"{session}.json").exists()
        # Untouched: the user's own cluster, this live session's cluster and daemon.
        assert [c.status for c in node_containers(client, users)] == ["running"]
        assert xcoms_k8s.cluster.exists() and client.ping()
    finally:
        stop_inner(proc)
        maker.join(timeout=300)
        subprocess.run([str(outer.kind_assets.kind), "delete", "cluster", "--name", users],
                       env=dict(os.environ) | outer.daemon.env(), capture_output=True)
