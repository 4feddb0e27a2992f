"""When a new kind cluster counts as ready for the DAG's pods (Cluster._not_ready), on a fake API.

Static control-plane pods report Ready late: Running is enough for them; what they do is checked
instead (CoreDNS scheduled and Ready, the default ServiceAccount made). Other kube-system pods must
be Ready; pods being deleted do not count.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from airflow_e2e_harness.kubernetes.cluster import MIRROR_POD_ANNOTATION, Cluster


def pod(name: str, *, ready: bool = True, phase: str = "Running", static: bool = False,
        app: str | None = None, deleting: bool = False) -> Any:
    return SimpleNamespace(
        metadata=SimpleNamespace(
            name=name, labels={"k8s-app": app} if app else {},
            annotations={MIRROR_POD_ANNOTATION: "x"} if static else {},
            deletion_timestamp="2026-12-02T00:00:00Z" if deleting else None),
        status=SimpleNamespace(phase=phase, container_statuses=[SimpleNamespace(ready=ready)]),
    )


class FakeCore:
    def __init__(self, pods: list[Any], accounts: int = 1, node_ready: bool = True) -> None:
        self.pods, self.accounts, self.node_ready = pods, accounts, node_ready

    def list_node(self) -> Any:
        condition = SimpleNamespace(type="Ready", status="True" if self.node_ready else "False",
                                    message="container runtime network not ready")
        return SimpleNamespace(items=[SimpleNamespace(metadata=SimpleNamespace(name="node-1"),
                                                      status=SimpleNamespace(conditions=[condition]))])

    def list_namespaced_pod(self, namespace: str) -> Any:
        assert namespace == "kube-system"
        return SimpleNamespace(items=self.pods)

    def list_namespaced_service_account(self, namespace: str) -> Any:
        assert namespace == "default"
        return SimpleNamespace(items=[object()] * self.accounts)


class FakeApiCluster(Cluster):
    """A Cluster without kind: only its readiness rule, over a fake API."""

    def __init__(self, core: FakeCore, rollout: str = "") -> None:  # no super(): nothing of kind here
        self._fake, self._rollout = core, rollout

    def _coredns_rollout(self) -> str:
        return self._rollout

    @property
    def core(self) -> Any:  # type: ignore[override]
        return self._fake


def control_plane(*, ready: bool) -> list[Any]:
    return [pod(f"{name}-node-1", ready=ready, static=True)
            for name in ("etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager")]


def test_static_pods_that_are_running_but_not_yet_ready_do_not_hold_it_back() -> None:
    pods = [*control_plane(ready=False), pod("coredns-a", app="kube-dns"), pod("kube-proxy-x")]
    assert FakeApiCluster(FakeCore(pods))._not_ready() == ""


def test_coredns_not_ready_holds_it_back() -> None:
    pods = [*control_plane(ready=True), pod("coredns-a", app="kube-dns", ready=False), pod("kube-proxy-x")]
    assert FakeApiCluster(FakeCore(pods))._not_ready() == "pod kube-system/coredns-a is running, not ready"


def test_a_leaving_pod_does_not_count_but_a_pending_static_pod_does() -> None:
    leaving = pod("coredns-old", app="kube-dns", ready=False, deleting=True)
    pods = [*control_plane(ready=True), pod("coredns-new", app="kube-dns"), leaving]
    assert FakeApiCluster(FakeCore(pods))._not_ready() == ""
    pending = pod("etcd-node-1", phase="Pending", static=True, ready=False)
    assert FakeApiCluster(FakeCore([*pods, pending]))._not_ready() == (
        "pod kube-system/etcd-node-1 is Pending, not running")


def test_no_default_service_account_or_no_ready_node_holds_it_back() -> None:
    pods = [*control_plane(ready=True), pod("coredns-a", app="kube-dns")]
    assert "no default ServiceAccount" in FakeApiCluster(FakeCore(pods, accounts=0))._not_ready()
    assert FakeApiCluster(FakeCore(pods, node_ready=False))._not_ready().startswith("node node-1 not Ready")
    assert FakeApiCluster(FakeCore([]))._not_ready() == "no CoreDNS pod yet"


def test_a_coredns_rollout_under_way_holds_it_back() -> None:
    pods = [*control_plane(ready=True), pod("coredns-a", app="kube-dns")]
    rollout = "CoreDNS rolling out (1 of 2 ready, 2 updated)"
    assert FakeApiCluster(FakeCore(pods), rollout=rollout)._not_ready() == rollout
