"""A cluster the harness did not create, pulling task images from a registry (``--kubeconfig``,
``--kube-context``, ``--image-registry``): the bundled MovieLens Kubernetes DAG runs there, and
so does a DAG reading inputs the test staged in ``env.data_dir``, as it does on kind.

Stands in for a team's CI cluster: a kind cluster this test makes with kind itself (the harness
has no record of it) whose containerd pulls ``localhost:<port>/...`` from a registry container of
the test's own, as kind's local-registry guide sets it up. The inner session must push the task
images there, run the unmodified DAGs in namespaces of its own, copy a test's inputs in before
each run and the outputs back after it (the same staging check also runs on the harness's own
kind cluster, where data_dir is the volume), name the cluster it used in
``RunResult.redirected``, remove its namespaces, and leave the cluster and everything else in it
as it was. A session killed with -9 leaves its namespace, which ``cleanup`` then removes, and
nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from airflow_e2e_harness.docker.containers import SESSION_LABEL
from airflow_e2e_harness.environment import KindEnvironment
from airflow_e2e_harness.session import E2ESession
from tests.e2e.claim_inputs.check import check_staged_inputs, words_environment
from tests.e2e.expected import (
    MOVIELENS,
    MOVIELENS_CONN,
    PROBE_DS,
    SEED,
    day_ratings,
    ranking,
    read_ranking_csv,
)
from tests.e2e.inner_session import start_inner, stop_inner, wait_for_session, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.kind]

REPO = Path(__file__).resolve().parents[2]
KUBERNETES_DEFAULT = "kubernetes_conn_id='kubernetes_default'"  # what the DAGs say: no cluster named

INNER = textwrap.dedent(
    """
    import json
    import sys

    import pytest

    sys.path.insert(0, {repo!r})  # the staging check is the one the outer kind test runs
    from tests.e2e.claim_inputs.check import check_staged_inputs, words_environment

    MOVIELENS = {movielens!r}


    @pytest.fixture(scope="session")
    def k8s(airflow_e2e):
        with airflow_e2e.kind(
            dags=MOVIELENS + "/dags", images=MOVIELENS + "/images",
            manifests=MOVIELENS + "/manifests/*.yaml", namespace="movielens",
            manifest_vars={{"MOVIELENS_SEED": "{seed}"}}, connections={{"movielens": {conn!r}}},
            env={{"MOVIELENS_NAMESPACE": "${{namespace}}"}},
        ) as env:
            yield env


    def test_on_the_existing_cluster(airflow_e2e, k8s):
        result = k8s.run("movielens_k8s", {ds!r})
        result.raise_for_failures()
        print("NAMESPACE", k8s.namespace, flush=True)
        print("RANKING", k8s.data_dir / "rankings" / "{ds}.csv", flush=True)
        print("CLUSTER", airflow_e2e.cluster.name, flush=True)


    @pytest.fixture(scope="session")
    def words(airflow_e2e):
        with words_environment(airflow_e2e) as env:
            yield env


    def test_staged_inputs_on_the_existing_cluster(words):
        results = check_staged_inputs(words)
        print("WORDS_NAMESPACE", words.namespace, flush=True)
        print("REDIRECTED", json.dumps(results[0].redirected), flush=True)
    """
).format(repo=str(REPO), movielens=str(MOVIELENS), seed=SEED, conn=MOVIELENS_CONN, ds=PROBE_DS)

# The same environment, killed with -9 once its namespace exists: only the sweep can remove it.
KILLED = INNER.split("def test_on_the_existing_cluster")[0] + textwrap.dedent(
    """
    def test_killed_on_the_existing_cluster(airflow_e2e, k8s):
        print("SESSION", airflow_e2e.id, k8s.namespace, flush=True)
        import time
        time.sleep(900)
    """
)

# kind's local-registry guide: containerd reads per-registry hosts.toml files from here.
KIND_CONFIG = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
"""


def _ready(core: k8s.CoreV1Api) -> bool:
    """Nodes Ready and cluster DNS serving, as a team's CI cluster is before a test session starts
    (pods of the DAG resolve their Service by name)."""
    try:
        nodes = core.list_node().items
        dns = core.list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items
    except (ApiException, OSError, Exception):  # noqa: BLE001 - still starting
        return False
    return bool(nodes) and all(
        any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []) for n in nodes
    ) and bool(dns) and all(
        any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or []) for p in dns
    )


def _namespaces(core: k8s.CoreV1Api) -> set[str]:
    return {n.metadata.name for n in core.list_namespace().items}


@pytest.fixture(scope="module")
def words_k8s(airflow_e2e: E2ESession) -> Iterator[KindEnvironment]:
    with words_environment(airflow_e2e) as env:
        yield env


def test_staged_inputs_reach_the_pods_on_kind(words_k8s: KindEnvironment, airflow_e2e: E2ESession) -> None:
    """The inner session's check, unchanged, on the harness's own cluster: data_dir is the volume."""
    results = check_staged_inputs(words_k8s)
    kind_cluster = f"kind cluster {airflow_e2e.cluster.name}"
    assert results[0].redirected == {"count_words": f"{KUBERNETES_DEFAULT} -> {kind_cluster}"}


def test_an_existing_cluster_runs_the_dag_through_a_registry(
    movielens_k8s: KindEnvironment, tmp_path: Path,
) -> None:
    outer = movielens_k8s.session
    client, assets = outer.docker_client, outer.kind_assets
    if assets.registry_image is None:
        pytest.skip("no registry image on this machine")
    pid = os.getpid()
    registry_name, cluster = f"users-registry-{pid}", f"users-existing-{pid}"
    kubeconfig = tmp_path / "users-kubeconfig"
    kind_env = dict(os.environ) | outer.daemon.env()
    registry = client.containers.run(  # the kind network exists: the outer session's cluster is on it
        assets.registry_image, name=registry_name, detach=True, network="kind",
        ports={"5000/tcp": ("127.0.0.1", None)}, environment={"OTEL_TRACES_EXPORTER": "none"},
    )
    proc = None
    try:
        registry.reload()
        port = int(registry.ports["5000/tcp"][0]["HostPort"])
        (tmp_path / "kind.yaml").write_text(KIND_CONFIG)
        made = subprocess.run(
            [str(assets.kind), "create", "cluster", "--name", cluster, "--image", assets.node_image,
             "--config", str(tmp_path / "kind.yaml"), "--kubeconfig", str(kubeconfig)],
            env=kind_env, capture_output=True, text=True, timeout=300,
        )
        assert made.returncode == 0, made.stderr
        for node in client.containers.list(filters={"label": f"io.x-k8s.kind.cluster={cluster}"}):
            hosts = f'[host."http://{registry_name}:5000"]\n'
            folder = f"/etc/containerd/certs.d/localhost:{port}"
            script = f"mkdir -p '{folder}' && printf '%s' '{hosts}' > '{folder}/hosts.toml'"
            done = node.exec_run(["sh", "-c", script])
            assert done.exit_code == 0, done.output
        core = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=str(kubeconfig)))
        wait_until(lambda: _ready(core), "the user's cluster to be Ready", timeout=180)
        # Something of the user's, which the session must leave alone.
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="users-own")))
        core.create_namespaced_config_map("users-own", k8s.V1ConfigMap(
            metadata=k8s.V1ObjectMeta(name="keep-me"), data={"owner": "the user"}))
        before = _namespaces(core)
        kubeconfig_text = kubeconfig.read_text()

        proc = start_inner(tmp_path, INNER, f"--kubeconfig={kubeconfig}", f"--kube-context=kind-{cluster}",
                           f"--image-registry=localhost:{port}")
        out, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, out
        said = dict(line.split(" ", 1) for line in out.splitlines()
                    if line.split(" ", 1)[0] in {"NAMESPACE", "RANKING", "CLUSTER", "WORDS_NAMESPACE",
                                                 "REDIRECTED"})

        # The DAG ran as written, in a namespace of the session's own, from the pushed images.
        namespace = said["NAMESPACE"]
        assert namespace.startswith("movielens-") and namespace not in before, said
        assert said["CLUSTER"] == f"kind-{cluster}"
        assert f"localhost:{port}/movielens-fetch:e2e" in out, "the pods ran the pushed image"
        expected = ranking(day_ratings(date.fromisoformat(PROBE_DS)))
        assert read_ranking_csv(Path(said["RANKING"])) == expected

        # The staged inputs went into the claim before each run (the check itself ran inside), and
        # the tasks are said to have gone to this cluster, not to a kind cluster of the harness's.
        words = said["WORDS_NAMESPACE"]
        assert words.startswith("words-") and words not in before, said
        assert f"stage claim {words}/words: done" in out
        existing = f"existing cluster (context kind-{cluster}, {kubeconfig})"
        assert json.loads(said["REDIRECTED"]) == {"count_words": f"{KUBERNETES_DEFAULT} -> {existing}"}

        # Left as it was: the cluster, the user's namespace and object, the user's kubeconfig.
        for made in (namespace, words):
            wait_until(lambda made=made: made not in _namespaces(core), f"namespace {made} to be removed")
        assert _namespaces(core) == before
        assert core.read_namespaced_config_map("keep-me", "users-own").data == {"owner": "the user"}
        assert kubeconfig.read_text() == kubeconfig_text
        names = [t for image in client.images.list() for t in image.tags]
        pushed = [t for t in names if t.startswith(f"localhost:{port}/")]
        assert pushed == [], "the push's extra image names are removed from the user's daemon"
        clusters = subprocess.run([str(assets.kind), "get", "clusters"], env=kind_env,
                                  capture_output=True, text=True, timeout=60).stdout.split()
        assert cluster in clusters
        strays = [c for c in clusters if c.startswith("airflow-e2e-") and c not in _recorded_clusters()]
        assert not strays, "the inner session made no kind cluster of its own"

        # kill -9 leaves the session's namespace; cleanup removes it (by its label) and nothing else.
        killed_dir = tmp_path / "killed"
        killed_dir.mkdir()
        proc = start_inner(killed_dir, KILLED, f"--kubeconfig={kubeconfig}", f"--kube-context=kind-{cluster}",
                           f"--image-registry=localhost:{port}")
        output: list[str] = []
        session = wait_for_session(proc, output, timeout=600)
        left = output[-1].split()[2]
        os.killpg(proc.pid, 9)
        proc.wait()
        assert core.read_namespace(left).metadata.labels[SESSION_LABEL] == session
        cleanup = subprocess.run([sys.executable, "-m", "airflow_e2e_harness", "cleanup"],
                                 capture_output=True, text=True, env=dict(os.environ) | outer.daemon.env(),
                                 timeout=120)
        assert cleanup.returncode == 0, cleanup.stderr
        assert f"removed: namespace {left} of dead session {session}" in cleanup.stdout, cleanup.stdout
        wait_until(lambda: left not in _namespaces(core), f"namespace {left} to be removed")
        assert _namespaces(core) == before
        assert core.read_namespaced_config_map("keep-me", "users-own").data == {"owner": "the user"}
        assert kubeconfig.read_text() == kubeconfig_text
    finally:
        if proc is not None:
            stop_inner(proc)
        subprocess.run([str(assets.kind), "delete", "cluster", "--name", cluster], env=kind_env,
                       capture_output=True, text=True, timeout=300)
        registry.remove(force=True)


def _recorded_clusters() -> set[str]:
    """Clusters the harness has a record of (this session's, pytest-xdist siblings')."""
    from airflow_e2e_harness.kubernetes.cluster_state import ClusterState

    return {state.name for state in ClusterState.folders() if state.recorded()}

