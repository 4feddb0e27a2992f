"""Fail pods that cannot start within seconds, and say why.

KubernetesPodOperator waits out its whole ``startup_timeout_seconds`` (120 s
by default) for a pod whose image cannot be had, whose ConfigMap or Secret is
missing, that no node can take (a missing PVC, resources, a node selector,
taints) or whose container keeps crashing. While a DAG runs, this watchdog
looks at the pods of the environment's namespaces; such a pod is deleted,
which ends its task at once, and the finding (pod, container, cause) is
reported with the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from kubernetes import client as k8s

from airflow_e2e_harness.docker.image_names import full_name
from airflow_e2e_harness.lifecycle import Lifecycle

IMAGE_ERRORS = {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}
START_ERRORS = {"CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff", "RunContainerError"}
# A scheduler verdict can be transient (a claim binding right now); one that holds this long is not.
UNSCHEDULABLE_GRACE = 3.0

HINTS = {
    "image": "List it in the environment's images= (it is then built and loaded) or fix the tag.",
    "CreateContainerConfigError": "A ConfigMap or Secret the pod uses is missing: add it to the manifests.",
    "CreateContainerError": "The container could not be created: check its command and mounts.",
    "RunContainerError": "The container could not be started: check its command.",
    "CrashLoopBackOff": "The container keeps exiting: its log is in the failure bundle.",
    "Unschedulable": "No node can take the pod: check its PVCs (manifests), resources, node selector, "
                     "tolerations.",
}


def unschedulable(pod: k8s.V1Pod) -> str | None:
    """The scheduler's message while it finds no node for ``pod``."""
    for condition in pod.status.conditions or []:
        if condition.type == "PodScheduled" and condition.status == "False" \
                and condition.reason == "Unschedulable":
            return condition.message or ""
    return None


@dataclass(frozen=True)
class PodFailure:
    namespace: str
    pod: str
    container: str  # "" for a pod-level cause (unschedulable)
    image: str
    reason: str
    message: str
    built: bool = False  # the image is one the environment built and loaded into the nodes

    def __str__(self) -> str:
        if self.reason in IMAGE_ERRORS and self.built:
            return (
                f"pod {self.namespace}/{self.pod}: container {self.container!r} cannot start: image "
                f"{self.image!r} was built here and loaded into the node, yet the node did not use it "
                f"({self.reason}: {self.message}). Check the pod's imagePullPolicy and the image name."
            )
        if self.reason in IMAGE_ERRORS:
            return (
                f"pod {self.namespace}/{self.pod}: container {self.container!r} cannot start: image "
                f"{self.image!r} was not built by this environment (it is not in images=) and the cluster "
                f"cannot pull it ({self.reason}: {self.message}). " + HINTS["image"]
            )
        where = f"container {self.container!r}" if self.container else "the pod"
        return (
            f"pod {self.namespace}/{self.pod}: {where} cannot start ({self.reason}: {self.message}). "
            + HINTS.get(self.reason, "")
        ).rstrip()


class PodStartWatchdog(Lifecycle):
    """A background poller active for the duration of one DAG run."""

    def __init__(
        self, api_client: k8s.ApiClient, namespaces: list[str], interval: float = 1.0,
        built: Iterable[str] = (),
    ) -> None:
        self.core = k8s.CoreV1Api(api_client)
        self.namespaces = namespaces
        self.built = frozenset(full_name(image) for image in built)
        self.interval = interval
        self.findings: list[PodFailure] = []
        self._unschedulable_since: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.findings = []
        self._unschedulable_since = {}
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="pod-start-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def messages(self) -> list[str]:
        return [str(f) for f in self.findings]

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for namespace in self.namespaces:
                try:
                    self.check(namespace)
                except k8s.ApiException:
                    continue  # namespace not there yet, or API hiccup: try again next tick

    def check(self, namespace: str) -> None:
        for pod in self.core.list_namespaced_pod(namespace).items:
            failure = self._container_failure(namespace, pod) or self._unschedulable(namespace, pod)
            if failure is None:
                continue
            if failure not in self.findings:
                self.findings.append(failure)
            try:
                self.core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
            except k8s.ApiException:
                pass

    def _container_failure(self, namespace: str, pod: k8s.V1Pod) -> PodFailure | None:
        statuses = (pod.status.container_statuses or []) + (pod.status.init_container_statuses or [])
        for status in statuses:
            waiting = status.state.waiting if status.state else None
            if waiting is not None and waiting.reason in IMAGE_ERRORS | START_ERRORS:
                return PodFailure(namespace, pod.metadata.name, status.name, status.image,
                                  waiting.reason, waiting.message or "",
                                  full_name(status.image or "") in self.built)
        return None

    def _unschedulable(self, namespace: str, pod: k8s.V1Pod) -> PodFailure | None:
        message = unschedulable(pod)
        if message is None:
            return None
        since = self._unschedulable_since.setdefault(f"{namespace}/{pod.metadata.name}", time.monotonic())
        if time.monotonic() - since < UNSCHEDULABLE_GRACE:
            return None
        return PodFailure(namespace, pod.metadata.name, "", "", "Unschedulable", message)
