"""What the harness's Airflow cluster policies share: registration, and the pre-execute chain.

Airflow's supported way to change tasks without editing DAGs is a cluster
policy; the DagBag calls ``task_policy`` on every plugin registered with its
policy plugin manager. The harness registers several (the Kubernetes
redirect, the Docker task checks, the interrupt hook, the Kubernetes waits),
each a :class:`PolicyPlugin`, for the length of a session.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar

import pluggy

from airflow_e2e_harness.internals.touches import (
    MAPPED_PARTIAL_KWARGS,
    POLICY_PLUGIN_MANAGER,
    PRE_EXECUTE_HOOK,
)

hookimpl = pluggy.HookimplMarker("airflow.policy")  # Airflow's policy project name
# Where a task keeps its pre_execute= argument, on Airflow 2.11 and 3.x alike (PRE_EXECUTE_HOOK).
PRE_EXECUTE_ATTRIBUTE = "_pre_execute_hook"


def policy_manager() -> pluggy.PluginManager:
    """The manager the DagBag's ``settings.task_policy`` calls into."""
    found = POLICY_PLUGIN_MANAGER.load()  # 3.2+: a cached function; 2.11, 3.1: made in settings.initialize()
    return found() if callable(found) else found


def operator_class(task: Any) -> type:
    """The class a task runs as: a mapped task's operator class, else the task's own."""
    cls = getattr(task, "operator_class", None)
    return cls if isinstance(cls, type) else type(task)


def in_family(task: Any, module: str) -> bool:
    """Whether ``task`` (mapped or not) is an operator of a provider's package, subclasses included."""
    return any(klass.__module__.startswith(module) for klass in operator_class(task).__mro__)


def drop_cached(task: Any, module: str) -> None:
    """Drop the values ``task`` cached for ``module``'s cached properties (hooks and clients made
    while the DAG was parsed), so they are made again from what a policy changed."""
    for klass in type(task).__mro__:
        if klass.__module__.startswith(module):
            for name, value in vars(klass).items():
                if isinstance(value, cached_property):
                    vars(task).pop(name, None)


def of_dag(per_task: dict[tuple[str, str], str], dag_id: str) -> dict[str, str]:
    """``{task_id: note}`` of one DAG from a policy's ``{(dag_id, task_id): note}`` record."""
    return {task: note for (dag, task), note in per_task.items() if dag == dag_id}


def is_mapped(task: Any) -> bool:
    return isinstance(getattr(task, "partial_kwargs", None), dict) and hasattr(task, "operator_class")


def chain_pre_execute(task: Any, check: Callable[[Any], None]) -> None:
    """Run ``check(context)`` before the task's own pre-execute hook (if the DAG set one).

    The task runner calls ``task._pre_execute_hook`` first thing in ``_execute_task``,
    before ``pre_execute``, ``execute`` and a deferred task's resumption (Airflow 2.11:
    ``BaseOperator.pre_execute`` calls it, after rendering, before ``execute`` and a
    resumption). A mapped task passes it on, as the ``pre_execute`` argument, to each
    instance it unmaps.
    """
    hook = PRE_EXECUTE_ATTRIBUTE
    if is_mapped(task):
        MAPPED_PARTIAL_KWARGS.require()
        own = task.partial_kwargs.get("pre_execute")
    else:
        PRE_EXECUTE_HOOK.require()
        own = getattr(task, hook)

    def pre_execute(context: Any) -> None:
        check(context)
        if own is not None:
            own(context)

    if is_mapped(task):
        task.partial_kwargs["pre_execute"] = pre_execute
    else:
        setattr(task, hook, pre_execute)


class PolicyPlugin:
    """A policy plugin registered for a while; ``install()`` after Airflow's home is set
    (it imports airflow). Subclasses implement ``task_policy`` with :data:`hookimpl`."""

    plugin_name: ClassVar[str] = "airflow-e2e-harness"

    _installed = False

    @property
    def installed(self) -> bool:
        return self._installed

    def install(self) -> None:
        if not self._installed:
            # Unique per object: tests may hold several of one kind at once.
            policy_manager().register(self, name=f"{self.plugin_name}-{id(self):x}")
            self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            policy_manager().unregister(self)
            self._installed = False
