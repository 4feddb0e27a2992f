"""Why a workload of the manifests will never become ready, found within seconds.

Waiting for a rollout says nothing while the container crash-loops: the wait
used to run out its 180 s and then showed neither the reason nor what the
container printed, although the kubelet knew within seconds. :class:`WorkloadWatch`
looks at the pods of the manifests' Deployments, StatefulSets, DaemonSets, Jobs
and Pods on every poll of that wait. What counts:

- the causes :mod:`pod_watch` knows (image not to be had, ConfigMap/Secret
  missing, CrashLoopBackOff, ...), and Unschedulable held for a few seconds;
- a container that exited non-zero and is (or will be) restarted: the back-off
  that ends in CrashLoopBackOff only delays the verdict;
- a bare Pod whose container failed for good (restartPolicy Never);
- a Job whose Failed (or FailureTarget) condition is True: the Job, not one
  failed attempt, decides whether it failed.

A finding comes with the container's last log lines and the recent events.

A container without a readiness probe counts as ready the moment it runs, so
a Deployment whose container exits a second after it started may pass its
rollout first: :attr:`WorkloadWatch.settled` tells the wait whether every
container of the long-running workloads has been up for :data:`SETTLE` seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s

from airflow_e2e_harness.kubernetes.pod_log import pod_log
from airflow_e2e_harness.kubernetes.pod_watch import (
    HINTS,
    IMAGE_ERRORS,
    START_ERRORS,
    UNSCHEDULABLE_GRACE,
    unschedulable,
)

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "Pod"})
CRASHED = "CrashLoopBackOff"
LOG_LINES = 20
EVENT_COUNT = 10
# The kubelet reports an exit within about a second (its relist period); twice that is enough to
# catch a container that dies right after starting, without delaying the good path much.
SETTLE = 2.0
REVISION = "deployment.kubernetes.io/revision"
# The kubelet names a missing ConfigMap/Secret like this; one the manifests declare was applied
# a moment ago and the kubelet's next try finds it.
MISSING_CONFIG = re.compile(r'(configmap|secret) "([^"]+)" not found', re.IGNORECASE)
REASON_HINTS = {
    **HINTS,
    CRASHED: "The container exits instead of serving: its last lines are below.",
    "Failed": "The Job gave up: the last lines of its failed container are below.",
    "Error": "The container failed and its pod does not restart it: its last lines are below.",
}

Clock = Callable[[], float]
WallClock = Callable[[], datetime]


@dataclass(frozen=True)
class PodProblem:
    """One pod's reason never to become ready."""

    pod: str
    container: str  # "" for a cause of the whole pod (unschedulable, a Job's verdict)
    reason: str
    message: str
    ran: bool = False  # the container ran, so it has a log worth reading
    previous: bool = False  # that log is the one of the run before its restart


@dataclass
class WorkloadFailure:
    """A workload document, the problem of one of its pods, and the evidence."""

    doc: Mapping[str, Any]
    namespace: str
    problem: PodProblem
    logs: str = ""
    events: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.doc['kind']}/{self.doc['metadata']['name']}"

    def describe(self) -> str:
        """The finding without the file: reason, pod, hint, log lines, events."""
        p = self.problem
        where = f"pod {p.pod}" if p.pod else "no pod"
        if p.container:
            where += f", container {p.container!r}"
        lines = [f"{self.label} in namespace {self.namespace}: {p.reason} ({where}): {p.message}".rstrip()]
        hint = REASON_HINTS.get("image" if p.reason in IMAGE_ERRORS else p.reason)
        if hint:
            lines.append(hint)
        if p.ran:
            which = " (the run before its restart)" if p.previous else ""
            lines.append(f"Last {LOG_LINES} log lines of {p.container!r}{which}:" if self.logs
                         else f"Container {p.container!r} wrote no log{which}.")
            lines.extend(f"  | {line}" for line in self.logs.splitlines())
        lines.append("Recent events:" if self.events else "Recent events: none")
        lines.extend(f"  {event}" for event in self.events)
        return "\n".join(lines)


# -- classification: pure functions of the API objects ---------------------------------------
def container_problem(pod: k8s.V1Pod, *, judge_exits: bool = True) -> PodProblem | None:
    """A container of ``pod`` that cannot start or keeps exiting; None while all looks possible.

    ``judge_exits=False`` for a Job's pods: a failed attempt is the Job's to retry.
    """
    restarts = (pod.spec.restart_policy or "Always") != "Never"
    statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]
    for status in statuses:
        problem = _waiting_problem(pod.metadata.name, status) or (
            _exit_problem(pod.metadata.name, status, restarts) if judge_exits else None
        )
        if problem is not None:
            return problem
    return None


def _waiting_problem(pod: str, status: k8s.V1ContainerStatus) -> PodProblem | None:
    waiting = status.state.waiting if status.state else None
    if waiting is None or waiting.reason not in IMAGE_ERRORS | START_ERRORS:
        return None
    if waiting.reason != CRASHED:
        return PodProblem(pod, status.name, waiting.reason, waiting.message or "")
    last = status.last_state.terminated if status.last_state else None
    exited = f"exited with code {last.exit_code}, " if last is not None else ""
    message = f"{exited}restarted {status.restart_count or 0} time(s); {waiting.message or ''}"
    return PodProblem(pod, status.name, CRASHED, message.rstrip("; "), ran=True, previous=True)


def _exit_problem(pod: str, status: k8s.V1ContainerStatus, restarts: bool) -> PodProblem | None:
    """Exited non-zero: now (restarted soon, or never) or before its last restart."""
    now = status.state.terminated if status.state else None
    if now is not None and now.exit_code:
        if not restarts:
            return PodProblem(pod, status.name, now.reason or "Error", _exited(now), ran=True)
        restarted = f"restarted {status.restart_count} time(s) so far" if status.restart_count \
            else "about to be restarted"
        return PodProblem(pod, status.name, CRASHED, f"{_exited(now)}, {restarted}", ran=True)
    last = status.last_state.terminated if status.last_state else None
    if now is None and last is not None and last.exit_code and restarts:
        return PodProblem(pod, status.name, CRASHED,
                          f"{_exited(last)}, restarted {status.restart_count or 0} time(s) so far",
                          ran=True, previous=True)
    return None


def _exited(terminated: k8s.V1ContainerStateTerminated) -> str:
    why = f" ({terminated.reason})" if terminated.reason and terminated.reason != "Error" else ""
    return f"exited with code {terminated.exit_code}{why}"


def up_for(pod: k8s.V1Pod, now: datetime) -> float:
    """Seconds the pod's youngest (main) container has been running; 0 if one is not running."""
    ages = []
    for status in pod.status.container_statuses or []:
        running = status.state.running if status.state else None
        if running is None or running.started_at is None:
            return 0.0
        ages.append((now - running.started_at).total_seconds())
    return min(ages, default=0.0)


def job_verdict(job: k8s.V1Job) -> str | None:
    """``reason: message`` of a Job that failed (FailureTarget comes first, since Kubernetes 1.31)."""
    for condition in (job.status.conditions if job.status else None) or []:
        if condition.type in ("Failed", "FailureTarget") and condition.status == "True":
            return f"{condition.reason or condition.type}: {condition.message or ''}".rstrip(": ")
    return None


def owned_by(obj: Any, uids: Iterable[str]) -> bool:
    wanted = set(uids)
    return any(ref.uid in wanted for ref in obj.metadata.owner_references or [])


def current_replica_sets(deployment: k8s.V1Deployment, replica_sets: Sequence[k8s.V1ReplicaSet]) -> set[str]:
    """UIDs of the Deployment's ReplicaSet of its current revision.

    On a kept cluster an older revision's pods (a broken earlier version) may
    still be going away; they say nothing about this one. Until the controller
    has seen the applied generation, nothing is current.
    """
    meta, status = deployment.metadata, deployment.status
    if status is None or (status.observed_generation or 0) < (meta.generation or 0):
        return set()
    revision = (meta.annotations or {}).get(REVISION)
    if revision is None:
        return set()
    return {rs.metadata.uid for rs in replica_sets
            if owned_by(rs, [meta.uid]) and (rs.metadata.annotations or {}).get(REVISION) == revision}


def failed_container(pods: Sequence[k8s.V1Pod]) -> tuple[k8s.V1Pod, str] | None:
    """The newest pod with a container that exited non-zero, and that container."""
    newest = sorted(pods, key=lambda p: p.metadata.creation_timestamp or _EPOCH, reverse=True)
    for pod in newest:
        for status in pod.status.container_statuses or []:
            terminated = status.state.terminated if status.state else None
            if terminated is not None and terminated.exit_code:
                return pod, status.name
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- the watch: one poll reads the pods of each namespace once -------------------------------
class WorkloadWatch:
    """``check()`` on each poll of the manifests' wait; the first finding ends the wait."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        documents: Sequence[Mapping[str, Any]],
        clock: Clock = time.monotonic,
        wall: WallClock = lambda: datetime.now(UTC),
    ) -> None:
        self.core = k8s.CoreV1Api(api_client)
        self.apps = k8s.AppsV1Api(api_client)
        self.batch = k8s.BatchV1Api(api_client)
        self.clock, self.wall = clock, wall
        self.settled = False  # as of the last check: see the module docstring
        self.workloads = [d for d in documents if d.get("kind") in WORKLOAD_KINDS]
        self.configs = {(_namespace(d), d["kind"].lower(), d["metadata"]["name"])
                        for d in documents if d.get("kind") in ("ConfigMap", "Secret")}
        self._unschedulable_since: dict[str, float] = {}

    def check(self, *, claims_bound: bool = True) -> WorkloadFailure | None:
        """``claims_bound=False`` while the manifests' PVCs still bind: "unbound
        PersistentVolumeClaims" is then the wait's business, not a finding."""
        self._least_up: float | None = None
        by_namespace: dict[str, list[Mapping[str, Any]]] = {}
        for doc in self.workloads:
            by_namespace.setdefault(_namespace(doc), []).append(doc)
        for namespace, docs in by_namespace.items():
            try:
                failure = self._check_namespace(namespace, docs, claims_bound)
            except k8s.ApiException:
                continue  # an API hiccup; the next poll tries again and the wait's timeout still holds
            if failure is not None:
                return failure
        self.settled = self._least_up is None or self._least_up >= SETTLE
        return None

    def _check_namespace(
        self, namespace: str, docs: list[Mapping[str, Any]], claims_bound: bool,
    ) -> WorkloadFailure | None:
        listed = self.core.list_namespaced_pod(namespace).items
        pods = [p for p in listed if p.metadata.deletion_timestamp is None]  # going away: not evidence
        replica_sets = (self.apps.list_namespaced_replica_set(namespace).items
                        if any(d["kind"] == "Deployment" for d in docs) else [])
        for doc in docs:
            problem = self._problem(doc, namespace, pods, replica_sets, claims_bound)
            if problem is not None:
                return self.evidence(doc, namespace, problem)
        return None

    def _problem(
        self, doc: Mapping[str, Any], namespace: str, pods: list[k8s.V1Pod],
        replica_sets: list[k8s.V1ReplicaSet], claims_bound: bool,
    ) -> PodProblem | None:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "Job":  # runs to completion: nothing to settle
            return self._job_problem(self.batch.read_namespaced_job(name, namespace), pods, claims_bound)
        if kind == "Pod":
            mine = [p for p in pods if p.metadata.name == name]
        else:
            mine = [p for p in pods if owned_by(p, self._owners(kind, name, namespace, replica_sets))]
        now = self.wall()
        least = min((up_for(p, now) for p in mine), default=0.0)
        self._least_up = least if self._least_up is None else min(self._least_up, least)
        return self._first_problem(mine, claims_bound)

    def _owners(self, kind: str, name: str, namespace: str, replica_sets: list[k8s.V1ReplicaSet]) -> set[str]:
        """UIDs that own the workload's pods (for a Deployment: its current ReplicaSet)."""
        if kind == "Deployment":
            return current_replica_sets(self.apps.read_namespaced_deployment(name, namespace), replica_sets)
        if kind == "StatefulSet":
            return {self.apps.read_namespaced_stateful_set(name, namespace).metadata.uid}
        return {self.apps.read_namespaced_daemon_set(name, namespace).metadata.uid}

    def _job_problem(self, job: k8s.V1Job, pods: list[k8s.V1Pod], claims_bound: bool) -> PodProblem | None:
        mine = [p for p in pods if owned_by(p, [job.metadata.uid])]
        verdict = job_verdict(job)
        if verdict is None:
            return self._first_problem(mine, claims_bound, judge_exits=False)
        failed = failed_container(mine)
        if failed is None:  # its pods are gone (OnFailure: deleted with the verdict)
            return PodProblem("", "", "Failed", verdict)
        pod, container = failed
        return PodProblem(pod.metadata.name, container, "Failed", verdict, ran=True)

    def _first_problem(
        self, pods: list[k8s.V1Pod], claims_bound: bool, *, judge_exits: bool = True,
    ) -> PodProblem | None:
        for pod in pods:
            problem = container_problem(pod, judge_exits=judge_exits) \
                or self._held_unschedulable(pod, claims_bound)
            if problem is not None and not self._config_just_applied(pod, problem):
                return problem
        return None

    def _held_unschedulable(self, pod: k8s.V1Pod, claims_bound: bool) -> PodProblem | None:
        """A scheduler verdict can be transient (a claim binding right now); one that holds is not."""
        key, message = pod.metadata.uid or pod.metadata.name, unschedulable(pod)
        if message is None or (not claims_bound and "PersistentVolumeClaim" in message):
            self._unschedulable_since.pop(key, None)
            return None
        since = self._unschedulable_since.setdefault(key, self.clock())
        if self.clock() - since < UNSCHEDULABLE_GRACE:
            return None
        return PodProblem(pod.metadata.name, "", "Unschedulable", message)

    def _config_just_applied(self, pod: k8s.V1Pod, problem: PodProblem) -> bool:
        if problem.reason != "CreateContainerConfigError":
            return False
        missing = MISSING_CONFIG.search(problem.message)
        return missing is not None and \
            (pod.metadata.namespace, missing.group(1).lower(), missing.group(2)) in self.configs

    # -- evidence --------------------------------------------------------------------------
    def evidence(self, doc: Mapping[str, Any], namespace: str, problem: PodProblem) -> WorkloadFailure:
        logs = self.last_lines(namespace, problem) if problem.ran else ""
        subjects = [(doc["kind"], doc["metadata"]["name"])]
        if problem.pod and doc["kind"] != "Pod":
            subjects.append(("Pod", problem.pod))
        return WorkloadFailure(doc, namespace, problem, logs, self.recent_events(namespace, subjects))

    def last_lines(self, namespace: str, problem: PodProblem) -> str:
        """The container's last lines; the other run's if that one is empty or gone
        (it may have restarted between the status and this read)."""
        for previous in (problem.previous, not problem.previous):
            try:
                text = pod_log(self.core, problem.pod, namespace, problem.container, LOG_LINES,
                               previous=previous).rstrip("\n")
            except k8s.ApiException:
                continue
            if text:
                return text
        return ""

    def recent_events(self, namespace: str, subjects: Sequence[tuple[str, str]]) -> list[str]:
        """The last events of the workload and its pod, oldest first."""
        events: list[k8s.CoreV1Event] = []
        for kind, name in subjects:
            try:
                events += self.core.list_namespaced_event(
                    namespace, field_selector=f"involvedObject.kind={kind},involvedObject.name={name}",
                ).items
            except k8s.ApiException:
                continue
        events.sort(key=_when)
        return [_event_line(e) for e in events[-EVENT_COUNT:]]


def _namespace(doc: Mapping[str, Any]) -> str:
    return (doc.get("metadata") or {}).get("namespace") or "default"


def _when(event: k8s.CoreV1Event) -> datetime:
    return event.last_timestamp or event.event_time or event.metadata.creation_timestamp or _EPOCH


def _event_line(event: k8s.CoreV1Event) -> str:
    subject = event.involved_object
    times = f" (x{event.count})" if (event.count or 1) > 1 else ""
    message = (event.message or "").strip()
    return f"{subject.kind}/{subject.name}: {event.type} {event.reason}{times}: {message}"
