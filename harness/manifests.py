"""Apply a scenario's Kubernetes manifests with the official client, and wait on them.

Server-side apply through the dynamic client makes a second run over a kept
cluster an update instead of a conflict. The waits are the ones a task needs
before it can run: the PVC Bound, each Deployment Available.
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.timing import Timer, default_timer

FIELD_MANAGER = "airflow-e2e-harness"

NUDGE_ANNOTATION = "airflow-e2e-harness/resync"

Connects = Callable[[str, int], bool]


class ManifestError(RuntimeError):
    """A manifest could not be applied, or what it declares never became ready."""


def load_documents(paths: Iterable[Path], variables: Mapping[str, str]) -> list[dict[str, Any]]:
    """YAML documents with ``${NAME}`` placeholders filled in; unknown names are an error."""
    docs: list[dict[str, Any]] = []
    for path in paths:
        text = Path(path).read_text()
        try:
            text = string.Template(text).substitute(variables)
        except KeyError as err:
            raise ManifestError(
                f"{path}: placeholder ${{{err.args[0]}}} has no value; known: {sorted(variables)}"
            ) from err
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def _label(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _rolled_out(deployment: k8s.V1Deployment) -> bool:
    """Like ``kubectl rollout status``: the Available condition alone is True too early."""
    status, wanted = deployment.status, deployment.spec.replicas or 0
    return (
        (status.observed_generation or 0) >= (deployment.metadata.generation or 0)
        and (status.updated_replicas or 0) == wanted
        and (status.available_replicas or 0) == wanted
    )


def _has_ready_endpoint(core: k8s.CoreV1Api, name: str, namespace: str) -> bool:
    """A Service with a selector is usable once one ready pod backs it."""
    try:
        endpoints = core.read_namespaced_endpoints(name, namespace)
    except k8s.ApiException:
        return False
    return any(subset.addresses for subset in (endpoints.subsets or []))


class Manifests(Lifecycle):
    """Applies documents on enter; deletes them (namespace last) on exit unless kept."""

    # What failed to become ready stays for the failure bundle to inspect.
    stop_on_failed_start = False

    def __init__(
        self,
        api_client: k8s.ApiClient,
        documents: list[dict[str, Any]],
        *,
        keep: bool = False,
        timeout: float = 180.0,
        timer: Timer | None = None,
        connects: Connects | None = None,
    ) -> None:
        """``connects(host, port)`` tries a TCP connection from inside the cluster
        (``Cluster.node_connects``); with it, a Service counts as ready only once
        its ClusterIP answers, not merely once an endpoint is ready."""
        self.api_client = api_client
        self.documents = documents
        self.keep = keep
        self.connects = connects
        self.ready_after: dict[str, float] = {}
        self.timeout = timeout
        self.timer = timer or default_timer()
        self.dynamic = DynamicClient(api_client)

    def start(self) -> None:
        with self.timer.phase("apply manifests") as phase:
            for doc in self.documents:
                self.apply(doc)
            self.wait_ready()
            labels = [_label(d) for d in self.documents]
            phase.note = ", ".join(
                f"{label} ({self.ready_after[label]:.1f}s)" if label in self.ready_after else label
                for label in labels
            )

    def stop(self) -> None:
        if not self.keep:
            self.delete()

    def _resource(self, doc: dict[str, Any]) -> Any:
        return self.dynamic.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])

    def apply(self, doc: dict[str, Any]) -> None:
        meta = doc["metadata"]
        if doc["kind"] == "Namespace":
            self._wait_terminated(meta["name"])
        resource = self._resource(doc)
        kwargs: dict[str, Any] = {"name": meta["name"]}
        if resource.namespaced:
            kwargs["namespace"] = meta.get("namespace", "default")
        try:
            resource.server_side_apply(
                body=doc, field_manager=FIELD_MANAGER, force_conflicts=True, **kwargs
            )
        except k8s.ApiException as err:
            raise ManifestError(
                f"applying {doc['kind']}/{meta['name']} failed: {err.status} {err.reason}\n{err.body}"
            ) from err

    def _wait_terminated(self, name: str, timeout: float = 120.0) -> None:
        """A namespace the previous session on a shared cluster deleted may still be going
        (Terminating); nothing can be created in it until it is gone."""
        core = k8s.CoreV1Api(self.api_client)
        deadline = time.monotonic() + timeout
        logged = False
        while time.monotonic() < deadline:
            try:
                phase = core.read_namespace(name).status.phase
            except k8s.ApiException as err:
                if err.status == 404:
                    return
                raise
            if phase != "Terminating":
                return
            if not logged:
                self.timer.log(f"namespace {name}: still terminating from an earlier session; waiting")
                logged = True
            time.sleep(0.5)
        raise ManifestError(f"namespace {name} was still Terminating after {timeout:.0f}s")

    def wait_ready(self) -> None:
        """Poll until PVCs are Bound, Deployments rolled out, Services answer.

        ``ready_after`` records how long each one took, for the progress line.
        """
        core, apps = k8s.CoreV1Api(self.api_client), k8s.AppsV1Api(self.api_client)
        start = time.monotonic()
        deadline = start + self.timeout
        # A Service without a selector has no pods behind it to wait for.
        pending = [
            d for d in self.documents
            if d["kind"] in ("PersistentVolumeClaim", "Deployment")
            or (d["kind"] == "Service" and d.get("spec", {}).get("selector"))
        ]
        reasons: dict[str, str] = {}
        while pending:
            still = []
            for doc in pending:
                name, ns = doc["metadata"]["name"], doc["metadata"].get("namespace", "default")
                if doc["kind"] == "PersistentVolumeClaim":
                    ready = self._claim_bound(core, name, ns, time.monotonic() - start)
                elif doc["kind"] == "Deployment":
                    ready = _rolled_out(apps.read_namespaced_deployment(name, ns))
                elif not _has_ready_endpoint(core, name, ns):
                    ready, reasons[_label(doc)] = False, "no ready pod behind it"
                else:
                    ready = self._routes(core, name, ns)
                    reasons[_label(doc)] = (
                        "a ready pod backs it, but its ClusterIP refuses connections from the node: "
                        "does targetPort match the port the container listens on?"
                    )
                if ready:
                    self.ready_after[_label(doc)] = time.monotonic() - start
                else:
                    still.append(doc)
            pending = still
            if pending and time.monotonic() > deadline:
                waiting = ", ".join(
                    f"{_label(d)} ({reasons[_label(d)]})" if _label(d) in reasons else _label(d)
                    for d in pending
                )
                raise ManifestError(
                    f"not ready after {self.timeout:.0f}s: {waiting}. {self._hints(core, pending)}"
                )
            if pending:
                time.sleep(0.5)

    def _claim_bound(self, core: k8s.CoreV1Api, name: str, namespace: str, waited: float) -> bool:
        """Bound; while it is not, and its volume exists, nudge the PV controller.

        A claim whose event the controller handled before seeing its volume, or
        whose binding hit a write conflict, is retried only at the controller's
        next resync, up to 15 s later. A no-op annotation update is an event
        that makes it bind (or finish binding) at once.
        """
        claim = core.read_namespaced_persistent_volume_claim(name, namespace)
        if claim.status.phase == "Bound":
            return True
        if waited < 1.0 or not claim.spec.volume_name:
            return False
        try:
            core.read_persistent_volume(claim.spec.volume_name)
        except k8s.ApiException:
            return False  # not created (yet): nothing to bind to
        core.patch_namespaced_persistent_volume_claim(
            name, namespace, {"metadata": {"annotations": {NUDGE_ANNOTATION: f"{time.time():.3f}"}}},
        )
        return False

    def _routes(self, core: k8s.CoreV1Api, name: str, namespace: str) -> bool:
        if self.connects is None:
            return True
        spec = core.read_namespaced_service(name, namespace).spec
        if not spec.cluster_ip or spec.cluster_ip == "None":
            return True  # headless: clients reach the pods directly
        tcp = [p.port for p in spec.ports or [] if (p.protocol or "TCP") == "TCP"]
        return all(self.connects(spec.cluster_ip, port) for port in tcp)

    def _hints(self, core: k8s.CoreV1Api, pending: list[dict[str, Any]]) -> str:
        """Recent warning events of the namespaces involved: usually the reason."""
        lines = []
        for ns in {d["metadata"].get("namespace", "default") for d in pending}:
            for event in core.list_namespaced_event(ns).items[-10:]:
                if event.type == "Warning":
                    lines.append(f"{event.involved_object.kind}/{event.involved_object.name}: "
                                 f"{event.reason}: {event.message}")
        return "Warnings: " + ("; ".join(lines) if lines else "none")

    def delete(self) -> None:
        # Namespaced objects go with their namespace; cluster-scoped ones (PVs) one by one.
        for doc in reversed(self.documents):
            resource = self._resource(doc)
            if resource.namespaced:
                continue
            try:
                resource.delete(name=doc["metadata"]["name"])
            except NotFoundError:
                pass
        for doc in self.documents:
            if doc["kind"] == "Namespace":
                try:
                    self._resource(doc).delete(name=doc["metadata"]["name"])
                except NotFoundError:
                    pass
