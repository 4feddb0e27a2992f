"""Fail pods fast when their image cannot be had, and say which image.

With ``imagePullPolicy: IfNotPresent`` and an image the node lacks, the
kubelet retries the pull and KubernetesPodOperator waits out its whole
``startup_timeout_seconds``. While a DAG runs, this watchdog looks at the
pods of the scenario's namespaces; a container stuck on an image error gets
its pod deleted, which ends the task at once, and the finding (pod, image,
reason) is reported with the run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from kubernetes import client as k8s

from airflow_e2e_harness.lifecycle import Lifecycle

IMAGE_ERRORS = {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}


@dataclass(frozen=True)
class ImageFailure:
    namespace: str
    pod: str
    container: str
    image: str
    reason: str
    message: str

    def __str__(self) -> str:
        return (
            f"pod {self.namespace}/{self.pod}: container {self.container!r} cannot start, image "
            f"{self.image!r} is not on the node and cannot be pulled ({self.reason}: {self.message}). "
            "List it in the environment's images= (it is then built and loaded) or fix the tag."
        )


class ImagePullWatchdog(Lifecycle):
    """A background poller active for the duration of one DAG run."""

    def __init__(self, api_client: k8s.ApiClient, namespaces: list[str], interval: float = 1.0) -> None:
        self.core = k8s.CoreV1Api(api_client)
        self.namespaces = namespaces
        self.interval = interval
        self.findings: list[ImageFailure] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.findings = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="image-pull-watchdog", daemon=True)
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
            statuses = (pod.status.container_statuses or []) + (pod.status.init_container_statuses or [])
            for status in statuses:
                waiting = status.state.waiting if status.state else None
                if waiting is None or waiting.reason not in IMAGE_ERRORS:
                    continue
                failure = ImageFailure(namespace, pod.metadata.name, status.name, status.image,
                                       waiting.reason, waiting.message or "")
                if failure not in self.findings:
                    self.findings.append(failure)
                try:
                    self.core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
                except k8s.ApiException:
                    pass
                break
