"""Apply a scenario's Kubernetes manifests with the official client, and wait on them.

Server-side apply through the dynamic client makes a second run over a kept
cluster an update instead of a conflict. The waits are the ones a task needs
before it can run: the PVC Bound, each Deployment Available. While they last,
the pods of the manifests' workloads are watched (workload_failures), so that a
container that crashes or cannot start fails the wait within seconds, with its
own last lines, instead of when the wait runs out.

Errors name the file (and line) a document came from: :func:`load_documents`
returns :class:`Document` dicts that remember it.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.kubernetes.workload_failures import SETTLE, WorkloadFailure, WorkloadWatch
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.timing import Timer, default_timer
from airflow_e2e_harness.waiting import WaitTimeout, wait_until

FIELD_MANAGER = "airflow-e2e-harness"

NUDGE_ANNOTATION = "airflow-e2e-harness/resync"

Connects = Callable[[str, int], bool]


class Document(dict[str, Any]):
    """A manifest document that remembers the file and line it was read from.

    A plain dict everywhere else (the API client serializes it as one); the
    environment edits documents in place, so the origin stays with them.
    """

    path: Path | None = None
    line: int | None = None


def origin(doc: Mapping[str, Any]) -> str:
    """``path:line`` of a loaded document; "" for one made in code."""
    path, line = getattr(doc, "path", None), getattr(doc, "line", None)
    if path is None:
        return ""
    return f"{path}:{line}" if line else str(path)


class ManifestError(HarnessError, RuntimeError):
    """A manifest could not be applied, or what it declares never became ready.

    The fields say what and why without parsing the message: ``path``/``line``
    (the manifest file, when known), ``obj`` ("Deployment/api"), ``namespace``,
    ``reason`` ("CrashLoopBackOff", "Unschedulable", ...), ``pod``/``container``,
    ``logs`` (the container's last lines, "" when it never ran) and ``events``
    (recent events of the object and its pod).
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        obj: str | None = None,
        namespace: str | None = None,
        reason: str | None = None,
        pod: str | None = None,
        container: str | None = None,
        logs: str = "",
        events: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.path, self.line, self.obj, self.namespace = path, line, obj, namespace
        self.reason, self.pod, self.container = reason, pod, container
        self.logs, self.events = logs, list(events)


def load_documents(paths: Iterable[Path], variables: Mapping[str, str]) -> list[dict[str, Any]]:
    """YAML documents with ``${NAME}`` placeholders filled in; unknown names are an error.

    Every error starts with ``path:line:``, the way compilers say it, so that an
    editor jumps there; yaml's own says ``in "<unicode string>", line 5``.
    """
    docs: list[dict[str, Any]] = []
    for path in paths:
        text = _substitute(Path(path), Path(path).read_text(), variables)
        for doc in _parse(Path(path), text):
            _check_shape(doc)
            docs.append(doc)
    return docs


def _substitute(path: Path, text: str, variables: Mapping[str, str]) -> str:
    try:
        return string.Template(text).substitute(variables)
    except KeyError as err:
        name = err.args[0]
        line = _line_of(text, re.compile(rf"\$(\{{{re.escape(name)}\}}|{re.escape(name)}\b)"))
        raise ManifestError(
            f"{_at(path, line)}: placeholder ${{{name}}} has no value; known: {sorted(variables)}",
            path=path, line=line,
        ) from err
    except ValueError as err:  # "Invalid placeholder in string: line 5, col 3"
        found = re.search(r"line (\d+)", str(err))
        line = int(found.group(1)) if found else None
        raise ManifestError(
            f"{_at(path, line)}: {err} (write $$ for a literal $)", path=path, line=line,
        ) from err


def _line_of(text: str, pattern: re.Pattern[str]) -> int | None:
    found = pattern.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else None


def _at(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


def _parse(path: Path, text: str) -> list[Document]:
    """Each non-empty document with the line it starts on."""
    docs: list[Document] = []
    try:
        loader = yaml.SafeLoader(text)  # checks for unprintable characters right here
        try:
            while loader.check_node():
                node = loader.get_node()
                data = loader.construct_document(node)
                if data is not None:
                    docs.append(_document(path, node.start_mark.line + 1, data))
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        raise _yaml_error(path, text, err) from err
    return docs


def _document(path: Path, line: int, data: object) -> Document:
    if not isinstance(data, dict):
        raise ManifestError(
            f"{path}:{line}: a document must be a mapping (apiVersion, kind, metadata, ...), "
            f"not {type(data).__name__}", path=path, line=line,
        )
    doc = Document(data)
    doc.path, doc.line = path, line
    return doc


def _yaml_error(path: Path, text: str, err: yaml.YAMLError) -> ManifestError:
    """``path:line: problem``, then yaml's context (where the construct began) and the snippet."""
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        message = f"{path}:{mark.line + 1}: {err.problem}"
        if err.context and err.context_mark is not None and err.context_mark.line != mark.line:
            message += f" ({err.context} at line {err.context_mark.line + 1})"
        snippet = mark.get_snippet() or ""
        if snippet.strip(" \n^"):  # at the end of the file it shows nothing
            message += f"\n{snippet}"
        return ManifestError(message, path=path, line=mark.line + 1)
    position = getattr(err, "position", None)  # ReaderError: a character yaml does not accept
    line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
    return ManifestError(f"{_at(path, line)}: {err}", path=path, line=line)


def _check_shape(doc: Document) -> None:
    """What applying needs; missing, it would fail later as a bare KeyError naming no file."""
    meta = doc.get("metadata")
    missing = [key for key in ("apiVersion", "kind") if not isinstance(doc.get(key), str)]
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        missing.append("metadata.name")
    if missing:
        what = f"{doc['kind']} document" if isinstance(doc.get("kind"), str) else "document"
        raise ManifestError(
            f"{origin(doc)}: {what} has no {', '.join(missing)}", path=doc.path, line=doc.line,
        )


def _label(doc: Mapping[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def _named(doc: Mapping[str, Any]) -> str:
    """``Kind/name``, and the file it came from when known."""
    where = origin(doc)
    return f"{_label(doc)} ({where})" if where else _label(doc)


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


def workload_error(failure: WorkloadFailure, waited: float) -> ManifestError:
    """The finding as a ManifestError: the file first, then what and why, log, events."""
    doc, problem = failure.doc, failure.problem
    where = origin(doc)
    return ManifestError(
        f"{where + ': ' if where else ''}{failure.describe()}\n(found {waited:.1f}s into the wait)",
        path=getattr(doc, "path", None), line=getattr(doc, "line", None), obj=failure.label,
        namespace=failure.namespace, reason=problem.reason, pod=problem.pod or None,
        container=problem.container or None, logs=failure.logs, events=failure.events,
    )


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
                f"applying {_named(doc)} failed: {err.status} {err.reason}\n{err.body}",
                path=getattr(doc, "path", None), line=getattr(doc, "line", None), obj=_label(doc),
                namespace=kwargs.get("namespace"), reason=str(err.reason),
            ) from err

    def _wait_terminated(self, name: str, timeout: float = 120.0) -> None:
        """A namespace the previous session on a shared cluster deleted may still be going
        (Terminating); nothing can be created in it until it is gone."""
        core = k8s.CoreV1Api(self.api_client)
        logged = []

        def gone() -> str | None:
            try:
                phase = core.read_namespace(name).status.phase
            except k8s.ApiException as err:
                if err.status == 404:
                    return None
                raise
            if phase != "Terminating":
                return None
            if not logged:
                self.timer.log(f"namespace {name}: still terminating from an earlier session; waiting")
                logged.append(name)
            return "Terminating"

        try:
            wait_until(gone, what=f"namespace {name}", timeout=timeout, interval=0.5)
        except WaitTimeout as err:
            raise ManifestError(str(err), obj=f"Namespace/{name}", reason="Terminating") from err

    def wait_ready(self) -> None:
        """Poll until PVCs are Bound, Deployments rolled out, Services answer.

        ``ready_after`` records how long each one took, for the progress line.
        Each poll also looks at the workloads' pods: one that will never become
        ready ends the wait at once (:meth:`_fail_fast`), with its reason and log.
        Once all is ready, the polls go on for up to ``SETTLE`` seconds until the
        workloads' containers have been up that long: one without a readiness
        probe counts as ready while it starts, even when it exits a second later.
        """
        core, apps = k8s.CoreV1Api(self.api_client), k8s.AppsV1Api(self.api_client)
        watch = WorkloadWatch(self.api_client, self.documents)
        start = time.monotonic()
        # A Service without a selector has no pods behind it to wait for.
        pending = [
            d for d in self.documents
            if d["kind"] in ("PersistentVolumeClaim", "Deployment")
            or (d["kind"] == "Service" and d.get("spec", {}).get("selector"))
        ]
        reasons: dict[str, str] = {}
        ready_at: list[float] = []

        def poll() -> str | None:  # at least once: with nothing to wait for, the workloads are still checked
            nonlocal pending
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
            self._fail_fast(watch, pending, time.monotonic() - start)
            if pending:
                return ", ".join(_label(d) for d in pending)
            ready_at[:] = ready_at or [time.monotonic()]
            settled = watch.settled or time.monotonic() - ready_at[0] >= SETTLE
            return None if settled else "the workloads' containers are settling"

        try:
            wait_until(poll, what="manifests", timeout=self.timeout, interval=0.5)
        except WaitTimeout:
            if pending:
                raise self._timed_out(core, pending, reasons) from None

    def _timed_out(
        self, core: k8s.CoreV1Api, pending: list[dict[str, Any]], reasons: Mapping[str, str],
    ) -> ManifestError:
        waiting = ", ".join(
            f"{_named(d)} ({reasons[_label(d)]})" if _label(d) in reasons else _named(d) for d in pending
        )
        one = pending[0] if len(pending) == 1 else {}
        return ManifestError(
            f"not ready after {self.timeout:.0f}s: {waiting}. {self._hints(core, pending)}",
            path=getattr(one, "path", None), line=getattr(one, "line", None),
            obj=_label(one) if one else None, reason="NotReady",
        )

    def _fail_fast(self, watch: WorkloadWatch, pending: list[dict[str, Any]], waited: float) -> None:
        """Raise for a workload pod that will never become ready. Also once all is
        ready: workloads the wait has no condition for (Jobs, Pods) are checked too."""
        claims_bound = not any(d["kind"] == "PersistentVolumeClaim" for d in pending)
        failure = watch.check(claims_bound=claims_bound)
        if failure is not None:
            raise workload_error(failure, waited)

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
