"""Proof that the harness's kind cluster is usable: readiness, DNS, loaded images, volumes.

Everything talks to the API with the official ``kubernetes`` client. The
only image the pods run is the harness's XCom sidecar (busybox: sh, httpd,
wget, nslookup), loaded by the harness and run with imagePullPolicy Never,
so these tests pass with the stock node image and the local one alike.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from airflow_e2e_harness.kubernetes.cluster import Cluster
from airflow_e2e_harness.kubernetes.manifests import ManifestError, Manifests
from airflow_e2e_harness.kubernetes.pod_log import pod_log
from airflow_e2e_harness.session import E2ESession

pytestmark = [pytest.mark.e2e, pytest.mark.kind]

POD_TIMEOUT = 120.0
FATAL_WAITING = {"ErrImageNeverPull", "CreateContainerError", "InvalidImageName"}


@pytest.fixture(scope="module")
def cluster(airflow_e2e: E2ESession) -> Cluster:
    return airflow_e2e.start_cluster()  # type: ignore[return-value]


@pytest.fixture(scope="module")
def core(cluster: Cluster) -> k8s.CoreV1Api:
    return cluster.core


@pytest.fixture(scope="module")
def namespace(core: k8s.CoreV1Api) -> Iterator[str]:
    name = f"harness-e2e-{uuid.uuid4().hex[:6]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    # The namespace's default ServiceAccount appears asynchronously; pods need it.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            core.read_namespaced_service_account("default", name)
            break
        except ApiException:
            time.sleep(0.5)
    yield name
    core.delete_namespace(name)


@pytest.fixture(scope="module")
def sidecar(cluster: Cluster, airflow_e2e: E2ESession) -> str:
    """The sidecar image, loaded into the node (again: skipped when unchanged)."""
    image = airflow_e2e.kind_assets.sidecar_image
    if image is None:
        pytest.skip("stock node: the provider's own sidecar image is pulled by the node, not loaded")
    cluster.load_image(image)
    return image


def _pod(name: str, image: str, script: str, **spec: object) -> k8s.V1Pod:
    container = k8s.V1Container(
        name="main", image=image, image_pull_policy="Never", command=["sh", "-c", script],
        volume_mounts=spec.pop("volume_mounts", None),  # type: ignore[arg-type]
        readiness_probe=spec.pop("readiness_probe", None),  # type: ignore[arg-type]
    )
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, labels=spec.pop("labels", None)),  # type: ignore[arg-type]
        spec=k8s.V1PodSpec(containers=[container], restart_policy=str(spec.pop("restart", "Never")),
                           **spec),  # type: ignore[arg-type]
    )


def _wait_phase(core: k8s.CoreV1Api, ns: str, name: str, phases: set[str]) -> k8s.V1Pod:
    deadline = time.monotonic() + POD_TIMEOUT
    pod = core.read_namespaced_pod(name, ns)
    while time.monotonic() < deadline:
        pod = core.read_namespaced_pod(name, ns)
        if pod.status.phase in phases:
            return pod
        for status in pod.status.container_statuses or []:
            waiting = status.state.waiting
            if waiting and waiting.reason in FATAL_WAITING:
                pytest.fail(f"pod {ns}/{name}: {waiting.reason}: {waiting.message}")
        time.sleep(1)
    pytest.fail(f"pod {ns}/{name} still {pod.status.phase} after {POD_TIMEOUT:.0f}s: {pod.status}")


def _run(core: k8s.CoreV1Api, ns: str, pod: k8s.V1Pod) -> tuple[str, str]:
    """Run a pod to completion; returns its phase and log."""
    core.create_namespaced_pod(ns, pod)
    done = _wait_phase(core, ns, pod.metadata.name, {"Succeeded", "Failed"})
    return done.status.phase, pod_log(core, pod.metadata.name, ns)


def test_nodes_ready(core: k8s.CoreV1Api, airflow_e2e_kind_config: Path) -> None:
    """As many nodes as the kind config declares (the repo's: one), each Ready."""
    declared = yaml.safe_load(airflow_e2e_kind_config.read_text())["nodes"]
    nodes = core.list_node().items
    assert len(nodes) == len(declared)
    for node in nodes:
        ready = {c.type: c.status for c in node.status.conditions}
        assert ready.get("Ready") == "True", node.status.conditions


def test_kube_system_running_with_coredns(core: k8s.CoreV1Api) -> None:
    pods = core.list_namespaced_pod("kube-system").items
    not_running = {p.metadata.name: p.status.phase for p in pods if p.status.phase != "Running"}
    assert not not_running
    coredns = [p for p in pods if (p.metadata.labels or {}).get("k8s-app") == "kube-dns"
               and p.metadata.deletion_timestamp is None]  # a replaced pod on its way out is not serving
    assert coredns, [p.metadata.name for p in pods]
    assert all(all(s.ready for s in p.status.container_statuses) for p in coredns)
    names = {p.metadata.name.rsplit("-", 1)[0] for p in pods}
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert any(n.startswith(component) for n in names), names


def test_image_load_is_skipped_when_unchanged(cluster: Cluster, sidecar: str) -> None:
    assert cluster.node_image_id(sidecar) == cluster.docker.images.get(sidecar).id
    assert cluster.load_image(sidecar) is False


def test_pod_runs_loaded_image_with_pull_never(core: k8s.CoreV1Api, namespace: str, sidecar: str) -> None:
    phase, log = _run(core, namespace, _pod("never-pull", sidecar, "echo loaded-image-ran"))
    assert phase == "Succeeded", log
    assert "loaded-image-ran" in log


def test_pod_resolves_service_by_name(core: k8s.CoreV1Api, namespace: str, sidecar: str) -> None:
    server = _pod(
        "echo-server", sidecar,
        "mkdir -p /www && echo hello-from-echo > /www/index.html && exec httpd -f -p 8080 -h /www",
        labels={"app": "echo"}, restart="Always",
        readiness_probe=k8s.V1Probe(tcp_socket=k8s.V1TCPSocketAction(port=8080), period_seconds=1),
    )
    core.create_namespaced_pod(namespace, server)
    service = core.create_namespaced_service(namespace, k8s.V1Service(
        metadata=k8s.V1ObjectMeta(name="echo"),
        spec=k8s.V1ServiceSpec(selector={"app": "echo"},
                               ports=[k8s.V1ServicePort(port=80, target_port=8080)]),
    ))
    _wait_phase(core, namespace, "echo-server", {"Running"})
    # nslookup shows the name is resolved by cluster DNS; wget then fetches from the
    # address it got (Debian's busybox-static wget crashes with -T, so no timeout flag).
    name = f"echo.{namespace}.svc.cluster.local"
    script = (
        "for i in $(seq 1 30); do "
        f"  ip=$(nslookup {name} | awk '/^Address: /{{print $2}}' | tail -n 1); "
        '  echo "resolved: $ip"; '
        '  [ -n "$ip" ] && wget -q -O - "http://$ip/" && exit 0; '
        "  sleep 1; "
        "done; exit 1"
    )
    phase, log = _run(core, namespace, _pod("echo-client", sidecar, script))
    assert phase == "Succeeded", log
    assert f"resolved: {service.spec.cluster_ip}" in log, log
    assert "hello-from-echo" in log, log


def test_pod_writes_through_hostpath_pv_host_reads(
    cluster: Cluster, core: k8s.CoreV1Api, namespace: str, sidecar: str,
) -> None:
    sub = f"pv-{namespace}"
    pv_name = f"{namespace}-data"
    core.create_persistent_volume(k8s.V1PersistentVolume(
        metadata=k8s.V1ObjectMeta(name=pv_name),
        spec=k8s.V1PersistentVolumeSpec(
            capacity={"storage": "10Mi"}, access_modes=["ReadWriteOnce"],
            storage_class_name="harness-static", persistent_volume_reclaim_policy="Retain",
            host_path=k8s.V1HostPathVolumeSource(path=f"/data/{sub}", type="DirectoryOrCreate"),
        ),
    ))
    try:
        core.create_namespaced_persistent_volume_claim(namespace, k8s.V1PersistentVolumeClaim(
            metadata=k8s.V1ObjectMeta(name="data"),
            spec=k8s.V1PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"], storage_class_name="harness-static", volume_name=pv_name,
                resources=k8s.V1VolumeResourceRequirements(requests={"storage": "10Mi"}),
            ),
        ))
        writer = _pod(
            "writer", sidecar, "echo written-by-pod > /mnt/data/hello.txt",
            volume_mounts=[k8s.V1VolumeMount(name="data", mount_path="/mnt/data")],
            volumes=[k8s.V1Volume(
                name="data",
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="data"),
            )],
        )
        phase, log = _run(core, namespace, writer)
        assert phase == "Succeeded", log
        claim = core.read_namespaced_persistent_volume_claim("data", namespace)
        assert claim.status.phase == "Bound"
        assert (cluster.data_dir / sub / "hello.txt").read_text() == "written-by-pod\n"
    finally:
        core.delete_persistent_volume(pv_name)


def test_every_node_runs_loaded_images_and_shares_the_data_folder(
    cluster: Cluster, core: k8s.CoreV1Api, namespace: str, sidecar: str,
) -> None:
    """On a multi-node cluster (tox -e e2e-3nodes): a pod pinned to each node that takes pods
    runs the loaded image with pull policy Never and writes to /data, and the host reads it all."""
    nodes = [n for n in core.list_node().items
             if not any(t.effect == "NoSchedule" for t in n.spec.taints or [])]
    if len(nodes) < 2:
        pytest.skip(f"{len(nodes)} node(s) take pods: run with a multi-node --kind-config")
    sub = f"nodes-{namespace}"
    for node in nodes:
        name = node.metadata.name
        pod = _pod(
            f"on-{name}"[:63], sidecar, f"mkdir -p /data/{sub} && echo {name} > /data/{sub}/{name}.txt",
            volume_mounts=[k8s.V1VolumeMount(name="data", mount_path="/data")],
            volumes=[k8s.V1Volume(name="data", host_path=k8s.V1HostPathVolumeSource(path="/data"))],
            node_name=name,
        )
        phase, log = _run(core, namespace, pod)
        assert phase == "Succeeded", f"{name}: {log}"
    written = {p.name: p.read_text() for p in (cluster.data_dir / sub).iterdir()}
    assert written == {f"{n.metadata.name}.txt": f"{n.metadata.name}\n" for n in nodes}


SERVE_8080 = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"


def test_service_counts_ready_only_when_its_cluster_ip_answers(cluster: Cluster, sidecar: str) -> None:
    """Both Services have a ready pod behind them; only the one whose targetPort is right answers."""
    ns = f"harness-routes-{uuid.uuid4().hex[:6]}"
    labels = {"app": "web"}
    pod_spec = {
        "containers": [{
            "name": "web", "image": sidecar, "imagePullPolicy": "Never",
            "command": ["sh", "-c", SERVE_8080],
            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
        }],
    }

    def service(name: str, target_port: int) -> dict[str, object]:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": target_port}]}}

    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": pod_spec}}},
        service("right-port", 8080),
        service("wrong-port", 8081),
    ]
    manifests = Manifests(cluster.api, docs, timeout=15, connects=cluster.node_connects)
    try:
        with pytest.raises(ManifestError) as failure:
            manifests.start()
    finally:
        manifests.delete()

    message = str(failure.value)
    assert "Service/wrong-port (a ready pod backs it, but its ClusterIP refuses connections" in message
    assert "Service/right-port" not in message
    assert "Service/right-port" in manifests.ready_after
