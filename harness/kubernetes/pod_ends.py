"""Why a task's pod ended, said in the run's findings.

A pod over its memory limit failed in 2.3 s, and "OOMKilled" was nowhere in the result: the
operator logs a generic failure, and deletes the pod, so its status is gone when the test reads
the run. While a DAG runs, this watcher follows the pods of the environment's namespaces (a
watch, so a pod that lives a second is seen too) and writes down each container that ended
badly, with what the API knows and the operator does not say: OOMKilled with the memory limit,
a non-zero exit code with the container's last lines, an evicted pod, a pod past its
``activeDeadlineSeconds``. Pods being deleted (a task stopped, the watchdog) are not counted.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field

from kubernetes import client as k8s
from kubernetes import watch

from airflow_e2e_harness.kubernetes.pod_log import pod_log
from airflow_e2e_harness.lifecycle import Lifecycle

SIDECAR = "airflow-xcom-sidecar"  # stopped by the operator with SIGINT: its exit says nothing
LAST_LINES = 5
POD_REASONS = {"Evicted", "DeadlineExceeded"}
SIGKILLED = 137  # 128 + SIGKILL: how an OOM kill ends a container, also when not reported as one
WATCH_SECONDS = 5  # each watch request ends after this; the next one resumes where it ended
# How a kubernetes ApiException shows in a task's log: status line, then the response body.
REJECTED = re.compile(
    r"\((?P<code>4\d\d)\)\s*\nReason: (?P<reason>[^\n]*)\n(?:.*\n)*?HTTP response body: (?P<body>[^\n]*)"
)


def rejected_pod(log: str) -> str | None:
    """What the API server said when it refused to create a task's pod (a 4xx in the task's log,
    e.g. 422 for an invalid spec), or None."""
    match = REJECTED.search(log)
    if match is None:
        return None
    try:
        body = json.loads(match["body"])
        message = body.get("message", "") if isinstance(body, dict) else ""
    except ValueError:
        message = match["body"].strip()
    return f"the API server rejected its pod ({match['code']} {match['reason'].strip()}): {message}"


@dataclass(frozen=True)
class PodEnd:
    """One container (or pod) that ended badly."""

    task: str  # the task id and try from the operator's pod labels ("" when not a task's pod)
    namespace: str
    pod: str
    container: str  # "" for a pod-level reason
    reason: str  # OOMKilled, Error, Evicted, DeadlineExceeded, ...
    exit_code: int | None = None
    detail: str = ""  # the memory limit, the API's message
    last_lines: str = ""

    def __str__(self) -> str:
        who = f"{self.task}: " if self.task else ""
        where = f"pod {self.namespace}/{self.pod}"
        if not self.container:
            return f"{who}{where} ended: {self.reason}" + (f" ({self.detail})" if self.detail else "")
        text = f"{who}{where}: container {self.container!r} "
        if self.reason == "OOMKilled":
            text += f"was OOMKilled (exit {self.exit_code}; {self.detail or 'no memory limit set'})"
        else:
            text += f"exited {self.exit_code} ({self.reason})" + (f": {self.detail}" if self.detail else "")
        if self.last_lines:
            text += "; its last lines:\n    " + "\n    ".join(self.last_lines.splitlines())
        return text


def pod_ends(pod: k8s.V1Pod) -> list[tuple[str, int | None, str, str]]:
    """(container, exit code, reason, detail) for each container of ``pod`` that ended badly,
    or one pod-level entry (container "") for an evicted pod or one past its deadline."""
    status = pod.status
    if status is None:
        return []
    if status.phase == "Failed" and status.reason in POD_REASONS:
        return [("", None, status.reason, status.message or "")]
    limits = {c.name: ((c.resources.limits or {}) if c.resources else {}).get("memory")
              for c in [*(pod.spec.containers or []), *(pod.spec.init_containers or [])]}
    found = []
    for cs in [*(status.init_container_statuses or []), *(status.container_statuses or [])]:
        if cs.name == SIDECAR:
            continue
        for state in (cs.state, cs.last_state):
            done = state.terminated if state else None
            if done is not None and done.exit_code:
                reason, limit = done.reason or "Error", limits.get(cs.name)
                if reason == "OOMKilled":
                    detail = f"memory limit {limit}" if limit else ""
                elif done.exit_code == SIGKILLED and limit:  # the kubelet misses some OOM kills (cgroup v1)
                    detail = f"killed (SIGKILL) under a memory limit of {limit}: probably OOMKilled"
                else:
                    detail = (done.message or "").strip()
                found.append((cs.name, done.exit_code, reason, detail))
                break
    return found


@dataclass
class _Watch:
    """What one DAG run's watch holds. A watch request in flight outlives :meth:`PodEndWatcher.stop`
    (up to ``WATCH_SECONDS``); its thread still holds this run's object, so whatever it sees late
    never lands in the next run's findings, and its own ``stopped`` ends it."""

    stopped: threading.Event = field(default_factory=threading.Event)
    ends: list[PodEnd] = field(default_factory=list)
    seen: set[tuple[str, str, str]] = field(default_factory=set)


class PodEndWatcher(Lifecycle):
    """Follows the namespaces' pods while one DAG run lasts; :meth:`messages` gives the findings."""

    def __init__(self, api_client: k8s.ApiClient, namespaces: list[str]) -> None:
        self.core = k8s.CoreV1Api(api_client)
        self.namespaces = namespaces
        self._watch = _Watch()
        self._watch.stopped.set()
        self._lock = threading.Lock()
        self._observing = threading.Lock()  # held while a pod is read: stop() waits for it

    def start(self) -> None:
        self._watch = run = _Watch()
        for ns in self.namespaces:
            threading.Thread(target=self._follow, args=(ns, run), name=f"pod-ends-{ns}", daemon=True).start()

    def stop(self) -> None:
        """End this run's watch at once: a finding being written (its last lines read) lands before
        :meth:`messages`; nothing seen after it counts. The threads end with their watch request."""
        with self._observing:
            self._watch.stopped.set()

    def messages(self) -> list[str]:
        with self._lock:
            return [str(end) for end in self._watch.ends]

    def _follow(self, namespace: str, run: _Watch) -> None:
        version: str | None = None
        baseline = True  # pods that ended before this run (kept pods, earlier runs) are not its findings
        while not run.stopped.is_set():
            try:
                if version is None:
                    pods = self.core.list_namespaced_pod(namespace)
                    version = pods.metadata.resource_version
                    for pod in pods.items:
                        self.observe(pod, report=not baseline, run=run)
                    baseline = False
                stream = watch.Watch().stream(self.core.list_namespaced_pod, namespace,
                                              resource_version=version, timeout_seconds=WATCH_SECONDS)
                for event in stream:
                    pod = event["object"]
                    version = pod.metadata.resource_version
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self.observe(pod, run=run)
                    if run.stopped.is_set():
                        break
            except k8s.ApiException:
                version = None  # gone (410) or not there yet: list again
                run.stopped.wait(0.5)
            except Exception:  # noqa: BLE001 - a watcher must never break the run it watches
                version = None
                run.stopped.wait(0.5)

    def observe(self, pod: k8s.V1Pod, report: bool = True, run: _Watch | None = None) -> None:
        """Record what ended badly in ``pod`` (once per container) as a finding of ``run`` (the
        current one by default), unless it is being deleted or that run's watch has stopped;
        ``report=False`` only remembers it as seen."""
        if pod.metadata.deletion_timestamp is not None:
            return
        run = self._watch if run is None else run
        with self._observing:
            if not run.stopped.is_set():
                self._observe(pod, report, run)

    def _observe(self, pod: k8s.V1Pod, report: bool, run: _Watch) -> None:
        labels = pod.metadata.labels or {}
        for container, code, reason, detail in pod_ends(pod):
            key = (pod.metadata.namespace, pod.metadata.name, container)
            with self._lock:
                if key in run.seen:
                    continue
                run.seen.add(key)
            if not report:
                continue
            lines = self._last_lines(pod, container) if container and reason != "OOMKilled" else ""
            task = labels.get("task_id", "")
            if task and labels.get("try_number"):
                task += f" (try {labels['try_number']})"
            end = PodEnd(task, pod.metadata.namespace, pod.metadata.name, container, reason, code, detail,
                         lines)
            with self._lock:
                run.ends.append(end)

    def _last_lines(self, pod: k8s.V1Pod, container: str) -> str:
        try:
            meta = pod.metadata
            return pod_log(self.core, meta.name, meta.namespace, container, LAST_LINES).strip()
        except k8s.ApiException:
            return ""  # deleted meanwhile: the task's own log has it
