"""A fake Kubernetes API for the manifests' wait and the workload watch (no cluster).

The objects are the client's real models, so attribute names are checked;
only the API calls are fakes: they serve what a test put in and record what
was asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from kubernetes import client as k8s

NS = "shop"
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def owner(kind: str, name: str, uid: str) -> k8s.V1OwnerReference:
    return k8s.V1OwnerReference(api_version="v1", kind=kind, name=name, uid=uid, controller=True)


def container_status(
    name: str = "api",
    *,
    waiting: str | None = None,
    message: str = "",
    running: bool = False,
    exit_code: int | None = None,
    last_exit: int | None = None,
    restarts: int = 0,
) -> k8s.V1ContainerStatus:
    """One container: waiting for a reason, running, or terminated with ``exit_code``;
    ``last_exit`` is the code of the run before its restart."""
    state = k8s.V1ContainerState(
        waiting=k8s.V1ContainerStateWaiting(reason=waiting, message=message) if waiting else None,
        running=k8s.V1ContainerStateRunning(started_at=T0) if running else None,
        terminated=k8s.V1ContainerStateTerminated(exit_code=exit_code, reason="Error" if exit_code else
                                                  "Completed") if exit_code is not None else None,
    )
    last = k8s.V1ContainerState(
        terminated=k8s.V1ContainerStateTerminated(exit_code=last_exit, reason="Error"),
    ) if last_exit is not None else k8s.V1ContainerState()
    return k8s.V1ContainerStatus(
        name=name, image=f"{name}:e2e", image_id="", ready=running and not last_exit,
        restart_count=restarts, state=state, last_state=last,
    )


def pod(
    name: str,
    *statuses: k8s.V1ContainerStatus,
    owners: list[k8s.V1OwnerReference] | None = None,
    restart_policy: str = "Always",
    init: list[k8s.V1ContainerStatus] | None = None,
    conditions: list[k8s.V1PodCondition] | None = None,
    created: datetime = T0,
    deleting: bool = False,
) -> k8s.V1Pod:
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(
            name=name, namespace=NS, uid=f"uid-{name}", owner_references=owners,
            creation_timestamp=created, deletion_timestamp=T0 if deleting else None,
        ),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="api")], restart_policy=restart_policy),
        status=k8s.V1PodStatus(
            container_statuses=list(statuses), init_container_statuses=init, conditions=conditions,
        ),
    )


def unschedulable_condition(message: str) -> k8s.V1PodCondition:
    return k8s.V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable", message=message)


def deployment(
    name: str, uid: str, *, revision: str | None = "1", generation: int = 1, observed: int = 1,
    ready: bool = False,
) -> k8s.V1Deployment:
    annotations = {"deployment.kubernetes.io/revision": revision} if revision else None
    count = 1 if ready else 0
    return k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name=name, namespace=NS, uid=uid, generation=generation,
                                  annotations=annotations),
        spec=k8s.V1DeploymentSpec(replicas=1, selector=k8s.V1LabelSelector(match_labels={"app": name}),
                                  template=k8s.V1PodTemplateSpec()),
        status=k8s.V1DeploymentStatus(observed_generation=observed, updated_replicas=count,
                                      available_replicas=count),
    )


def replica_set(name: str, uid: str, deployment_uid: str, revision: str) -> k8s.V1ReplicaSet:
    return k8s.V1ReplicaSet(metadata=k8s.V1ObjectMeta(
        name=name, namespace=NS, uid=uid, annotations={"deployment.kubernetes.io/revision": revision},
        owner_references=[owner("Deployment", name.rsplit("-", 1)[0], deployment_uid)],
    ))


def job(name: str, uid: str, *, failed: str | None = None) -> k8s.V1Job:
    limit = "Job has reached the specified backoff limit"
    conditions = [k8s.V1JobCondition(type="Failed", status="True", reason=failed, message=limit)] \
        if failed else None
    return k8s.V1Job(metadata=k8s.V1ObjectMeta(name=name, namespace=NS, uid=uid),
                     status=k8s.V1JobStatus(conditions=conditions))


def event(kind: str, name: str, reason: str, message: str, *, seconds: int, count: int = 1,
          type_: str = "Warning") -> k8s.CoreV1Event:
    return k8s.CoreV1Event(
        metadata=k8s.V1ObjectMeta(name=f"{name}.{seconds}", namespace=NS),
        involved_object=k8s.V1ObjectReference(kind=kind, name=name, namespace=NS),
        reason=reason, message=message, type=type_, count=count,
        last_timestamp=T0 + timedelta(seconds=seconds),
    )


@dataclass
class FakeKubeApi:
    """Stands in for CoreV1Api, AppsV1Api and BatchV1Api at once (one object serves all three)."""

    pods: list[k8s.V1Pod] = field(default_factory=list)
    deployments: dict[str, k8s.V1Deployment] = field(default_factory=dict)
    replica_sets: list[k8s.V1ReplicaSet] = field(default_factory=list)
    stateful_sets: dict[str, Any] = field(default_factory=dict)
    daemon_sets: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, k8s.V1Job] = field(default_factory=dict)
    events: list[k8s.CoreV1Event] = field(default_factory=list)
    logs: dict[tuple[str, str, bool], str] = field(default_factory=dict)  # (pod, container, previous)
    claims: dict[str, str] = field(default_factory=dict)  # name -> phase
    log_reads: list[dict[str, Any]] = field(default_factory=list)
    event_queries: list[str] = field(default_factory=list)

    # CoreV1Api
    def list_namespaced_pod(self, namespace: str) -> SimpleNamespace:
        return SimpleNamespace(items=[p for p in self.pods if p.metadata.namespace == namespace])

    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> SimpleNamespace:
        self.log_reads.append({"pod": name, **kwargs})
        key = (name, kwargs.get("container"), bool(kwargs.get("previous")))
        if key not in self.logs:
            raise k8s.ApiException(status=400, reason="previous terminated container not found")
        lines = self.logs[key].splitlines()[-kwargs.get("tail_lines", 10**6):]
        return SimpleNamespace(data="".join(f"{line}\n" for line in lines).encode())

    def list_namespaced_event(self, namespace: str, field_selector: str = "") -> SimpleNamespace:
        self.event_queries.append(field_selector)
        wanted = dict(part.split("=", 1) for part in field_selector.split(",") if part)
        return SimpleNamespace(items=[
            e for e in self.events
            if wanted.get("involvedObject.kind", e.involved_object.kind) == e.involved_object.kind
            and wanted.get("involvedObject.name", e.involved_object.name) == e.involved_object.name
        ])

    def read_namespaced_persistent_volume_claim(self, name: str, namespace: str) -> SimpleNamespace:
        return SimpleNamespace(status=SimpleNamespace(phase=self.claims[name]),
                               spec=SimpleNamespace(volume_name=None))

    # AppsV1Api
    def read_namespaced_deployment(self, name: str, namespace: str) -> k8s.V1Deployment:
        return self.deployments[name]

    def list_namespaced_replica_set(self, namespace: str) -> SimpleNamespace:
        return SimpleNamespace(items=self.replica_sets)

    def read_namespaced_stateful_set(self, name: str, namespace: str) -> Any:
        return self.stateful_sets[name]

    def read_namespaced_daemon_set(self, name: str, namespace: str) -> Any:
        return self.daemon_sets[name]

    # BatchV1Api
    def read_namespaced_job(self, name: str, namespace: str) -> k8s.V1Job:
        return self.jobs[name]


def crash_looping_api(api: FakeKubeApi) -> FakeKubeApi:
    """Deployment ``api``: revision 2 crash-loops (config missing); a pod of revision 1 lingers."""
    api.deployments["api"] = deployment("api", "uid-dep", revision="2", generation=2, observed=2)
    api.replica_sets = [replica_set("api-old", "uid-rs1", "uid-dep", "1"),
                        replica_set("api-new", "uid-rs2", "uid-dep", "2")]
    api.pods = [
        pod("api-old-x", container_status(waiting="ImagePullBackOff"), owners=[owner("ReplicaSet", "api-old",
                                                                                      "uid-rs1")]),
        pod("api-new-y", container_status(waiting="CrashLoopBackOff", message="back-off 10s restarting",
                                          last_exit=1, restarts=2),
            owners=[owner("ReplicaSet", "api-new", "uid-rs2")]),
    ]
    api.logs[("api-new-y", "api", True)] = "\n".join(
        [*(f"starting step {i}" for i in range(30)), "config missing: API_KEY"]
    )
    api.events = [
        event("Pod", "api-new-y", "BackOff", "Back-off restarting failed container api", seconds=9, count=3),
        event("Pod", "api-new-y", "Started", "Started container api", seconds=2, type_="Normal"),
        event("Deployment", "api", "ScalingReplicaSet", "Scaled up replica set api-new to 1", seconds=1,
              type_="Normal"),
        event("Pod", "other", "BackOff", "not ours", seconds=5),
    ]
    return api
