"""Shorter Kubernetes waits in a harness run, without editing DAGs.

KubernetesPodOperator polls pod start every 5 s and pod completion every 2 s
(the latter hard-coded); on a one-node kind cluster with loaded images most of
a pod task's time is those sleeps. Like the redirect, this is a cluster
policy: wherever the DAG left an interval at the operator's default, the
harness sets a short one; intervals the DAG set itself stay. The completion
wait has no argument, so while the harness session runs, the provider's
``PodManager.await_pod_completion`` first re-reads the pod every
:data:`COMPLETION_POLL` seconds until it has settled, then runs as written
(returning at its first read). Nothing is read or connected before the
operator itself does so. Turn it all off with ``E2ESession(fast_waits=False)``
(pytest: ``--stock-waits``).
"""

from __future__ import annotations

import functools
import inspect
import time
from typing import Any

from airflow_e2e_harness.k8s_redirect import is_kubernetes_task, operator_class
from airflow_e2e_harness.policies import PolicyPlugin, hookimpl, is_mapped

# operator argument -> the harness's value, applied where the DAG kept the operator's default
SHORT_INTERVALS: dict[str, float] = {
    "startup_check_interval_seconds": 0.25,  # pod start poll (and start-up events)
    "base_container_status_polling_interval": 0.25,  # when logs are not followed
    "poll_interval": 0.5,  # deferrable trigger loop
    "job_poll_interval": 0.5,  # KubernetesJobOperator: job status
}
COMPLETION_POLL = 0.2
COMPLETION_LIMIT = 3600.0


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
    """An ``await_pod_completion`` that re-reads the pod every COMPLETION_POLL seconds until its
    phase is final, its base container has ended, or an early failure shows, then hands over to
    the provider's own (which then returns on its first read, with all its own checks)."""
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodPhase

    def await_pod_completion(pod: Any, *args: Any, **kwargs: Any) -> Any:
        container = kwargs.get("container_name", args[1] if len(args) > 1 else "base")
        deadline = time.monotonic() + COMPLETION_LIMIT
        while time.monotonic() < deadline:
            remote = pod_manager.read_pod(pod)
            status = remote.status
            if status is None or status.phase in PodPhase.terminal_states:
                break
            ended = [c for c in status.container_statuses or [] if c.name == container and c.state.terminated]
            if ended or status.phase not in ("Pending", "Running"):
                break
            time.sleep(COMPLETION_POLL)
        return provider_await(pod, *args, **kwargs)

    return await_pod_completion


class KubernetesWaits(PolicyPlugin):
    """The policy plugin, plus the completion wait for the time it is installed.

    :param enabled: False leaves every operator's waits as the provider has them.
    """

    plugin_name = "airflow-e2e-harness-k8s-waits"

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._provider_await: Any = None

    def install(self) -> None:
        if not self.enabled or self.installed:
            return
        from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager

        super().install()
        provider_await = self._provider_await = PodManager.__dict__["await_pod_completion"]

        def await_pod_completion(manager: Any, pod: Any, *args: Any, **kwargs: Any) -> Any:
            own = functools.partial(provider_await, manager)
            return settle_then_await(manager, own)(pod, *args, **kwargs)

        PodManager.await_pod_completion = await_pod_completion  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self.installed:
            from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager

            PodManager.await_pod_completion = self._provider_await  # type: ignore[method-assign]
        super().uninstall()

    def describe(self) -> str:
        if not self.enabled:
            return "kubernetes waits: the provider's own (fast waits off)"
        intervals = ", ".join(f"{k}={v}" for k, v in SHORT_INTERVALS.items())
        return (f"kubernetes waits shortened where DAGs kept the defaults ({intervals}; completion "
                f"re-read every {COMPLETION_POLL}s); --stock-waits turns this off")

    @hookimpl(trylast=True)
    def task_policy(self, task: Any) -> None:
        if is_kubernetes_task(task):
            shorten(task)
