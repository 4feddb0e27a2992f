"""Shorter Kubernetes waits in a harness run, without editing DAGs.

KubernetesPodOperator polls pod start every 5 s and pod completion every 2 s
(the latter hard-coded); on a one-node kind cluster with loaded images most of
a pod task's time is those sleeps. Like the redirect, this is a cluster
policy: wherever the DAG left an interval at the operator's default, the
harness sets a short one; intervals the DAG set itself stay. The completion
wait has no argument, so while the harness session runs, the provider's
``PodManager.await_pod_completion`` first re-reads the pod every
:data:`COMPLETION_POLL` seconds until it has settled, then runs as written
(returning at its first read); when a followed log stream ends, the
provider's one "is the container still running?" question likewise re-reads
for up to the second it would otherwise sleep (see :class:`LogFollowSettle`).
Nothing is read or connected before the operator itself does so. Turn it
all off with ``E2ESession(fast_waits=False)``
(pytest: ``--stock-waits``).
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from typing import Any

from airflow_e2e_harness.internals import Patch
from airflow_e2e_harness.internals.touches import (
    AWAIT_POD_COMPLETION,
    CONTAINER_IS_COMPLETED,
    CONTAINER_IS_RUNNING,
    FETCH_CONTAINER_LOGS,
    POD_EARLY_TERMINATION,
    POD_PHASE,
    SIDECAR_CONTAINER_NAME,
)
from airflow_e2e_harness.policies.base import PolicyPlugin, hookimpl, is_mapped, operator_class
from airflow_e2e_harness.policies.k8s_redirect import is_kubernetes_task

# operator argument -> the harness's value, applied where the DAG kept the operator's default
SHORT_INTERVALS: dict[str, float] = {
    "startup_check_interval_seconds": 0.1,  # pod start poll (and start-up events)
    "base_container_status_polling_interval": 0.1,  # when logs are not followed
    "poll_interval": 0.5,  # deferrable trigger loop
    "job_poll_interval": 0.5,  # KubernetesJobOperator: job status
}
COMPLETION_POLL = 0.1
COMPLETION_LIMIT = 3600.0
LOG_RESUME_WAIT = 1.0  # the provider's own sleep before it follows a container's logs again
PATCHES = (AWAIT_POD_COMPLETION, FETCH_CONTAINER_LOGS, CONTAINER_IS_RUNNING)  # PodManager's
PATCHED = tuple(entry.attribute for entry in PATCHES)
HELPERS = (POD_PHASE, POD_EARLY_TERMINATION, CONTAINER_IS_COMPLETED, SIDECAR_CONTAINER_NAME)


def defaults_of(cls: type) -> dict[str, Any]:
    """The keyword defaults of ``cls.__init__`` along its MRO (the first class to declare one wins)."""
    found: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if param.default is not inspect.Parameter.empty:
                found.setdefault(name, param.default)
    return found


def shorten(task: Any) -> dict[str, float]:
    """Set the short intervals the DAG left at their defaults; returns what was changed."""
    defaults = defaults_of(operator_class(task))
    changed = {}
    mapped = is_mapped(task)
    for name, short in SHORT_INTERVALS.items():
        if name not in defaults:
            continue
        current = task.partial_kwargs.get(name, defaults[name]) if mapped else getattr(task, name, None)
        if current != defaults[name]:
            continue  # the DAG chose this interval
        if mapped:
            task.partial_kwargs[name] = short
        else:
            setattr(task, name, short)
        changed[name] = short
    return changed


def settle_then_await(pod_manager: Any, provider_await: Any) -> Any:
    """An ``await_pod_completion`` that re-reads the pod every COMPLETION_POLL seconds until the
    provider's own loop would stop (a final phase; the base container done when a sidecar or
    istio keeps the pod up; an early failure), then hands over to the provider's own, which
    returns on its first read with all its own checks."""
    terminal_states = POD_PHASE.load()
    detect_pod_terminate_early_issues = POD_EARLY_TERMINATION.load()
    container_is_completed = CONTAINER_IS_COMPLETED.load()

    def await_pod_completion(
        pod: Any, istio_enabled: bool = False, container_name: str = "base", do_xcom_push: bool = False,
    ) -> Any:
        deadline = time.monotonic() + COMPLETION_LIMIT
        while time.monotonic() < deadline:
            remote = pod_manager.read_pod(pod)
            if remote.status is None or remote.status.phase in terminal_states:
                break
            if (istio_enabled or do_xcom_push) and container_is_completed(remote, container_name):
                break
            if detect_pod_terminate_early_issues(remote):
                break
            time.sleep(COMPLETION_POLL)
        return provider_await(pod, istio_enabled, container_name, do_xcom_push)

    return await_pod_completion


class LogFollowSettle:
    """``container_is_running`` as the provider's log follower asks it, given up to
    LOG_RESUME_WAIT seconds to see the container stop.

    When a followed log stream ends, the provider asks once whether the container
    still runs; the kubelet reports the exit up to a second after the stream
    closes, and on "running" the provider sleeps a second and reads the logs
    again from the last timestamp, printing the last second's lines twice.
    Re-reading every COMPLETION_POLL seconds answers "stopped" as soon as the
    kubelet says so; a container that really keeps running gets the same
    answer after the same second the provider would have slept. Only the base
    container's question while following logs is affected, never the XCom
    sidecar's.
    """

    def __init__(self, provider_fetch: Any, provider_is_running: Any) -> None:
        self.provider_fetch = provider_fetch
        self.provider_is_running = provider_is_running
        self.sidecar = SIDECAR_CONTAINER_NAME.load()
        self._following = threading.local()

    def fetch_container_logs(self, manager: Any, pod: Any, container_name: str, *args: Any,
                             **kwargs: Any) -> Any:
        self._following.active = bool(kwargs.get("follow"))
        try:
            return self.provider_fetch(manager, pod, container_name, *args, **kwargs)
        finally:
            self._following.active = False

    def container_is_running(self, manager: Any, pod: Any, container_name: str) -> bool:
        running = self.provider_is_running(manager, pod, container_name)
        if not running or not getattr(self._following, "active", False) or container_name == self.sidecar:
            return running
        deadline = time.monotonic() + LOG_RESUME_WAIT
        while running and time.monotonic() < deadline:
            time.sleep(COMPLETION_POLL)
            running = self.provider_is_running(manager, pod, container_name)
        return running


class KubernetesWaits(PolicyPlugin):
    """The policy plugin, plus the completion wait for the time it is installed.

    :param enabled: False leaves every operator's waits as the provider has them.
    """

    plugin_name = "airflow-e2e-harness-k8s-waits"

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._patches = {entry.attribute: Patch(entry) for entry in PATCHES}

    def install(self) -> None:
        if not self.enabled or self.installed:
            return
        for helper in HELPERS:  # what the replacements call: checked before anything is patched
            helper.load()
        own = {name: patch.original for name, patch in self._patches.items()}
        super().install()
        follow = LogFollowSettle(own["fetch_container_logs"], own["container_is_running"])

        def await_pod_completion(manager: Any, pod: Any, *args: Any, **kwargs: Any) -> Any:
            provider = functools.partial(own["await_pod_completion"], manager)
            return settle_then_await(manager, provider)(pod, *args, **kwargs)

        def fetch_container_logs(manager: Any, *args: Any, **kwargs: Any) -> Any:
            return follow.fetch_container_logs(manager, *args, **kwargs)

        def container_is_running(manager: Any, *args: Any, **kwargs: Any) -> bool:
            return follow.container_is_running(manager, *args, **kwargs)

        # Plain functions, so that each binds to the PodManager it is called on.
        self._patches["await_pod_completion"].install(await_pod_completion)
        self._patches["fetch_container_logs"].install(fetch_container_logs)
        self._patches["container_is_running"].install(container_is_running)

    def uninstall(self) -> None:
        if self.installed:
            for patch in self._patches.values():
                patch.uninstall()
        super().uninstall()

    def describe(self) -> str:
        if not self.enabled:
            return "kubernetes waits: the provider's own (fast waits off)"
        intervals = ", ".join(f"{k}={v}" for k, v in SHORT_INTERVALS.items())
        return (f"kubernetes waits shortened where DAGs kept the defaults ({intervals}; completion and "
                f"log-follow end re-read every {COMPLETION_POLL}s); --stock-waits turns this off")

    @hookimpl(trylast=True)
    def task_policy(self, task: Any) -> None:
        if is_kubernetes_task(task):
            shorten(task)
