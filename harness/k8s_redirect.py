"""Every cncf-kubernetes task of a harness run reaches the harness's cluster, and nothing else.

A KubernetesPodOperator with no connection silently falls back to in-cluster
configuration and to ``KUBECONFIG`` / ``~/.kube/config`` (on a laptop: the
developer's current context, production perhaps); DAGs written for
production name a ``cluster_context``, a ``kubernetes_conn_id``, a
``config_file`` or ``in_cluster=True``. Airflow's supported hook for changing
operator arguments without editing a DAG is a cluster policy: this module
registers one on Airflow's policy plugin manager (beside the user's own
policies), which the DagBag applies to every task it loads.

For each task of the family (any class in its MRO from
``airflow.providers.cncf.kubernetes``): ``config_file`` becomes the harness
kubeconfig, ``cluster_context`` None, ``in_cluster`` False and the connection
the harness's own. The connection carries no ``kube_config_path`` for tasks
that have ``config_file``: deferrable pods turn ``config_file`` into a config
dict, and the async hook refuses both at once. Tasks without ``config_file``
get a second connection that does carry it. While a run lasts, the kubernetes
clients' default kubeconfig location (read once, at import) points at the
harness kubeconfig too, and in-cluster variables are unset by the caller.

With no cluster in the environment such a task fails as it starts, naming
what to add, before any client is made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pluggy

hookimpl = pluggy.HookimplMarker("airflow.policy")  # Airflow's policy project name
FAMILY_MODULE = "airflow.providers.cncf.kubernetes"
CONN_ID = "airflow_e2e_kind"
CONN_ID_WITH_PATH = "airflow_e2e_kind_path"
NOWHERE = "/nonexistent/airflow-e2e-harness/no-cluster-kubeconfig"


class NoClusterError(RuntimeError):
    """A Kubernetes task ran in an environment that has no cluster."""


def is_kubernetes_task(task: Any) -> bool:
    return any(cls.__module__.startswith(FAMILY_MODULE) for cls in type(task).__mro__)


class KubernetesRedirect:
    """The policy plugin; :meth:`target` says where tasks go while a DAG is parsed and run."""

    def __init__(self) -> None:
        self.kubeconfig: Path | None = None
        self.sidecar_image: str | None = None
        self.mapped: dict[tuple[str, str], str] = {}
        self._installed = False

    # -- registration ---------------------------------------------------------------------
    def install(self) -> None:
        """Register with Airflow's policy plugin manager (imports airflow: call after its home is set)."""
        if self._installed:
            return
        policy_manager().register(self, name="airflow-e2e-harness-k8s-redirect")
        self._installed = True

    def uninstall(self) -> None:
        if not self._installed:
            return
        policy_manager().unregister(self)
        self._installed = False

    # -- where tasks go -------------------------------------------------------------------
    def connections(self) -> dict[str, str]:
        """``AIRFLOW_CONN_*`` values for the harness connections (empty without a cluster)."""
        if self.kubeconfig is None:
            return {}
        extra: dict[str, str] = {}
        if self.sidecar_image:
            extra["xcom_sidecar_container_image"] = self.sidecar_image
        with_path = {**extra, "kube_config_path": str(self.kubeconfig)}
        return {
            f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps({"conn_type": "kubernetes", "extra": extra}),
            f"AIRFLOW_CONN_{CONN_ID_WITH_PATH.upper()}": json.dumps(
                {"conn_type": "kubernetes", "extra": with_path}
            ),
        }

    @contextmanager
    def target(self, kubeconfig: Path | None, sidecar_image: str | None = None) -> Iterator[None]:
        """Send Kubernetes tasks parsed and run inside to ``kubeconfig`` (None: fail them at once)."""
        from airflow_e2e_harness.config import environ

        saved = self.kubeconfig, self.sidecar_image
        self.kubeconfig, self.sidecar_image = kubeconfig, sidecar_image
        try:
            with environ(self.connections()), _default_kubeconfig(str(kubeconfig or NOWHERE)):
                yield
        finally:
            self.kubeconfig, self.sidecar_image = saved

    def mapped_in(self, dag_id: str) -> dict[str, str]:
        return {task: how for (dag, task), how in self.mapped.items() if dag == dag_id}

    # -- the policy -----------------------------------------------------------------------
    @hookimpl
    def task_policy(self, task: Any) -> None:
        """Airflow calls this for every task the DagBag loads (``airflow.policy`` hook)."""
        if not is_kubernetes_task(task):
            return
        said = _what_the_dag_said(task)
        key = (task.dag_id, task.task_id)
        if self.kubeconfig is None:
            chain_pre_execute(task, _refuse(task))
            self.mapped[key] = f"{said} -> refused: no kind cluster in this environment"
            return
        if hasattr(task, "config_file"):
            task.config_file = str(self.kubeconfig)
            task.kubernetes_conn_id = CONN_ID
        else:
            task.kubernetes_conn_id = CONN_ID_WITH_PATH
        if hasattr(task, "cluster_context"):
            task.cluster_context = None
        if hasattr(task, "in_cluster"):
            task.in_cluster = False
        self.mapped[key] = f"{said} -> harness kind cluster"


def policy_manager() -> pluggy.PluginManager:
    """The manager the DagBag's ``settings.task_policy`` calls into."""
    from airflow import settings

    if hasattr(settings, "get_policy_plugin_manager"):  # Airflow 3.2+
        return settings.get_policy_plugin_manager()
    return settings.POLICY_PLUGIN_MANAGER  # Airflow 3.1: made in settings.initialize()


def chain_pre_execute(task: Any, check: Any) -> None:
    """Run ``check(context)`` before the task's own pre-execute hook (if the DAG set one)."""
    own = task._pre_execute_hook

    def pre_execute(context: Any) -> None:
        check(context)
        if own is not None:
            own(context)

    task._pre_execute_hook = pre_execute


def _what_the_dag_said(task: Any) -> str:
    parts = [f"kubernetes_conn_id={getattr(task, 'kubernetes_conn_id', None)!r}"]
    for name in ("cluster_context", "config_file", "in_cluster"):
        value = getattr(task, name, None)
        if value:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)


def _refuse(task: Any) -> Any:
    message = (
        f"task {task.task_id!r} of DAG {task.dag_id!r} is a {type(task).__name__}, but this harness "
        "environment has no kind cluster, and it will not fall back to KUBECONFIG, ~/.kube/config or "
        "in-cluster configuration. Run the DAG in an environment made with airflow_e2e.kind(...) "
        "(E2ESession.kind(...) outside pytest)."
    )

    def refuse(context: Any) -> None:
        raise NoClusterError(message)

    return refuse


@contextmanager
def _default_kubeconfig(path: str) -> Iterator[None]:
    """Point the kubernetes clients' import-time default kubeconfig location at ``path``."""
    import kubernetes.config.kube_config as sync_config

    modules: list[Any] = [sync_config]
    try:
        import kubernetes_asyncio.config.kube_config as async_config

        modules.append(async_config)
    except ImportError:  # only the cncf provider's async hook needs it
        pass
    saved = [m.KUBE_CONFIG_DEFAULT_LOCATION for m in modules]
    for module in modules:
        module.KUBE_CONFIG_DEFAULT_LOCATION = path
    try:
        yield
    finally:
        for module, value in zip(modules, saved, strict=True):
            module.KUBE_CONFIG_DEFAULT_LOCATION = value
