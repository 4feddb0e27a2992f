"""Kubernetes tasks run in the namespace of the session's environment, not the one their DAG names.

pytest-xdist workers share one cluster, and each runs the same DAGs: a DAG
that says ``namespace="etl"`` would have every worker's pods, manifests and
outputs (the node's ``/data/etl``) in one namespace, where one worker's setup
deletes another's outputs. Each worker's environment gets a namespace of its
own (``etl-gw1``), its manifests are applied there, and this policy moves
each Kubernetes task whose (rendered) namespace is the one the environment
declares into it, just before the task executes: the DAG stays as it is.
Without a mapping (one session alone) it changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from airflow_e2e_harness.policies.base import PolicyPlugin, chain_pre_execute, hookimpl
from airflow_e2e_harness.policies.k8s_redirect import is_kubernetes_task


class NamespaceMap(PolicyPlugin):
    """The policy plugin; :meth:`target` sets the mapping while an environment's run lasts."""

    plugin_name = "airflow-e2e-harness-namespace-map"

    def __init__(self) -> None:
        self.mapping: dict[str, str] = {}

    @contextmanager
    def target(self, mapping: Mapping[str, str]) -> Iterator[None]:
        saved, self.mapping = self.mapping, {k: v for k, v in mapping.items() if k != v}
        try:
            yield
        finally:
            self.mapping = saved

    @hookimpl(trylast=True)
    def task_policy(self, task: Any) -> None:
        if self.mapping and is_kubernetes_task(task):
            chain_pre_execute(task, lambda context: self.move(context["task"]))

    def move(self, task: Any) -> None:
        """Put ``task`` (rendered, about to execute) into the mapped namespace, if it has one."""
        namespace = getattr(task, "namespace", None)
        if namespace is None and "default" in self.mapping:
            namespace = "default"  # no namespace: the connection's default, "default" here
        if namespace in self.mapping:
            task.namespace = self.mapping[namespace]
