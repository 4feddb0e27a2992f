"""Every cncf-kubernetes task of a harness run reaches the harness's cluster, and nothing else.

A KubernetesPodOperator with no connection silently falls back to in-cluster
configuration and to ``KUBECONFIG`` / ``~/.kube/config`` (on a laptop: the
developer's current context, production perhaps); DAGs written for
production name a ``cluster_context``, a ``kubernetes_conn_id``, a
``config_file`` or ``in_cluster=True``. Airflow's supported hook for changing
operator arguments without editing a DAG is a cluster policy: this module
registers one on Airflow's policy plugin manager (beside the user's own
policies, and after them: ``trylast``, so a local-settings policy that sets a
production connection cannot undo it), which the DagBag applies to every task
it loads.

For each task of the family (any class in its MRO from
``airflow.providers.cncf.kubernetes``; for a mapped task, its operator class):
``config_file`` becomes the harness kubeconfig, ``cluster_context`` None,
``in_cluster`` False, and ``kubernetes_conn_id`` one of two harness
connections, so that every hook the provider builds, sync or async, finds the
harness kubeconfig first and never reaches its default-client fallbacks:

* ``CONN_ID`` carries no ``kube_config_path``. It is for pod operators that
  defer with ``KubernetesPodTrigger``: they turn ``config_file`` (or, without
  one, ``KUBECONFIG``) into a ``config_dict`` for the trigger, and the async
  hook refuses a ``config_dict`` and a ``kube_config_path`` at once.
* ``CONN_ID_WITH_PATH`` carries it, for everything else: tasks without a
  ``config_file`` attribute (Kueue install, Spark sensor) and job operators,
  whose ``KubernetesJobTrigger`` hands ``config_file`` to an async hook that
  ignores it and reads only the connection.

Cached clients a DAG may have built while it was parsed are dropped. A mapped
task gets the same treatment on each mapped instance as it starts (expanded
values included). With no cluster in the environment such a task fails as it
starts (``NoClusterError``), naming what to add, before any client is made.

:meth:`KubernetesRedirect.target` also points the kubernetes clients' default
kubeconfig location (read once, at import) at the harness kubeconfig while a
run lasts, for code outside the family; in-cluster variables are unset by the
caller.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.internals import Patch
from airflow_e2e_harness.internals.touches import (
    ASYNC_KUBE_CONFIG_LOCATION,
    CONNECTION,
    KPO_CACHED_HOOK,
    KUBE_CONFIG_LOCATION,
)
from airflow_e2e_harness.policies.base import (
    PolicyPlugin,
    chain_pre_execute,
    drop_cached,
    hookimpl,
    is_mapped,
    of_dag,
    operator_class,
)

FAMILY_MODULE = "airflow.providers.cncf.kubernetes"
CONN_ID = "airflow_e2e_kind"
CONN_ID_WITH_PATH = "airflow_e2e_kind_path"
NOWHERE = "/nonexistent/airflow-e2e-harness/no-cluster-kubeconfig"
# What selects a cluster on the family's operators (pod.py, job.py, resource.py, pod_exec.py, kueue.py,
# spark_kubernetes.py, sensors/spark_kubernetes.py): each hook is built from exactly these.
CLUSTER_ATTRIBUTES = ("kubernetes_conn_id", "cluster_context", "config_file", "in_cluster")
# Classes whose deferral builds a config_dict from config_file (KubernetesPodOperator.invoke_defer_method)
# and whose subclasses defer some other way (KubernetesJobOperator.execute_deferrable).
POD_TRIGGER_CLASS = "KubernetesPodOperator"
JOB_CLASS = "KubernetesJobOperator"
DEFAULT_LABEL = "the session's cluster"  # where tasks go, in ``mapped``, when the caller names no cluster


class NoClusterError(HarnessError, RuntimeError):
    """A Kubernetes task ran in an environment that has no cluster."""


def _family_names(cls: type) -> set[str]:
    return {c.__name__ for c in cls.__mro__ if c.__module__.startswith(FAMILY_MODULE)}


def is_kubernetes_task(task: Any) -> bool:
    return bool(_family_names(operator_class(task)))


def connection_for(cls: type) -> str:
    """The harness connection a task of ``cls`` gets (see the module docstring)."""
    names = _family_names(cls)
    defers_with_config_dict = POD_TRIGGER_CLASS in names and JOB_CLASS not in names
    return CONN_ID if defers_with_config_dict else CONN_ID_WITH_PATH


class KubernetesRedirect(PolicyPlugin):
    """The policy plugin. Set :attr:`kubeconfig` (None: no cluster) before DAGs are parsed.

    ``mapped`` says, per ``(dag_id, task_id)``, what the DAG had said and where the task goes.
    """

    plugin_name = "airflow-e2e-harness-k8s-redirect"

    def __init__(self, kubeconfig: Path | None = None, sidecar_image: str | None = None) -> None:
        self.kubeconfig: Path | None = kubeconfig
        self.sidecar_image: str | None = sidecar_image
        self.label = DEFAULT_LABEL
        self.mapped: dict[tuple[str, str], str] = {}

    # -- where tasks go -------------------------------------------------------------------
    def connection_json(self, conn_id: str = CONN_ID) -> str | None:
        """The ``AIRFLOW_CONN_<CONN_ID>`` value for one harness connection (None without a cluster)."""
        if self.kubeconfig is None:
            return None
        extra: dict[str, str] = {}
        if conn_id == CONN_ID_WITH_PATH:
            extra["kube_config_path"] = str(self.kubeconfig)
        elif conn_id != CONN_ID:
            raise ValueError(f"not a harness connection: {conn_id!r}")
        if self.sidecar_image:
            extra["xcom_sidecar_container_image"] = self.sidecar_image
        connection = CONNECTION.load()  # airflow is imported by now; the module stays light
        return str(connection(conn_id=conn_id, conn_type="kubernetes", extra=json.dumps(extra)).as_json())

    def connections(self) -> dict[str, str]:
        """``AIRFLOW_CONN_*`` variables for both harness connections (empty without a cluster)."""
        values = {f"AIRFLOW_CONN_{c.upper()}": self.connection_json(c) for c in (CONN_ID, CONN_ID_WITH_PATH)}
        return {name: value for name, value in values.items() if value is not None}

    @contextmanager
    def target(
        self, kubeconfig: Path | None, sidecar_image: str | None = None, label: str | None = None,
    ) -> Iterator[None]:
        """Send Kubernetes tasks parsed and run inside to ``kubeconfig`` (None: fail them at once).

        ``label`` names that cluster in ``mapped`` (and so in findings and ``RunResult.redirected``),
        e.g. "existing cluster (context ci, ~/.kube/ci)"; default: "the session's cluster".
        """
        from airflow_e2e_harness.config import environ

        saved = self.kubeconfig, self.sidecar_image, self.label
        self.kubeconfig, self.sidecar_image, self.label = kubeconfig, sidecar_image, label or DEFAULT_LABEL
        try:
            with environ(self.connections()), _default_kubeconfig(str(kubeconfig or NOWHERE)):
                yield
        finally:
            self.kubeconfig, self.sidecar_image, self.label = saved

    def mapped_in(self, dag_id: str) -> dict[str, str]:
        return of_dag(self.mapped, dag_id)

    # -- the policy -----------------------------------------------------------------------
    @hookimpl(trylast=True)
    def task_policy(self, task: Any) -> None:
        """Airflow calls this for every task the DagBag loads, after the user's own policies."""
        if not is_kubernetes_task(task):
            return
        said = what_the_dag_said(task)
        key = (task.dag_id, task.task_id)
        kubeconfig = None if self.kubeconfig is None else str(self.kubeconfig)
        if kubeconfig is None:
            chain_pre_execute(task, _refuse(task))
            # Should anything run regardless, it finds a connection that does not exist and no file.
            if not is_mapped(task):
                point_at(task, NOWHERE)
            self.mapped[key] = f"{said} -> refused: no kind cluster in this environment"
            return
        if is_mapped(task):
            chain_pre_execute(task, lambda context: point_at(context["task"], kubeconfig))
            self.mapped[key] = f"{said} -> {self.label} (each mapped instance, as it starts)"
        else:
            point_at(task, kubeconfig)
            self.mapped[key] = f"{said} -> {self.label}"


def point_at(task: Any, kubeconfig: str) -> None:
    """Make every hook ``task`` builds load ``kubeconfig``, and nothing but it."""
    cls = type(task)
    task.kubernetes_conn_id = connection_for(cls)
    if hasattr(task, "config_file"):  # every class that gets CONN_ID has it
        task.config_file = kubeconfig
    if hasattr(task, "cluster_context"):
        task.cluster_context = None  # the connection has none: the kubeconfig's current context
    if hasattr(task, "in_cluster"):
        task.in_cluster = False  # False, not None: None would let the connection's extra decide
    KPO_CACHED_HOOK.require()  # its hook and clients are cached_property values, kept in vars(task)
    drop_cached(task, FAMILY_MODULE)  # a hook or client built while the DAG was parsed


def what_the_dag_said(task: Any) -> str:
    """The cluster-selecting arguments as the DAG (and any earlier policy) left them."""
    if is_mapped(task):  # what .partial() said; .expand() values are known only at run time
        get: Callable[[str], Any] = task.partial_kwargs.get
        conn = task.partial_kwargs.get("kubernetes_conn_id", "kubernetes_default")
    else:
        get = lambda name: getattr(task, name, None)  # noqa: E731
        conn = get("kubernetes_conn_id")
    parts = [f"kubernetes_conn_id={conn!r}"]
    parts += [f"{name}={get(name)!r}" for name in CLUSTER_ATTRIBUTES[1:] if get(name)]
    return ", ".join(parts)


def _refuse(task: Any) -> Callable[[Any], None]:
    message = (
        f"task {task.task_id!r} of DAG {task.dag_id!r} is a {operator_class(task).__name__}, but this "
        "harness environment has no kind cluster: run the DAG in an environment made with "
        "`airflow_e2e.kind(...)` (`E2ESession.kind(...)` outside pytest). It was not sent to "
        "KUBECONFIG, ~/.kube/config, in-cluster configuration or its own connection."
    )

    def refuse(context: Any) -> None:
        raise NoClusterError(message)

    return refuse


@contextmanager
def _default_kubeconfig(path: str) -> Iterator[None]:
    """Point the kubernetes clients' import-time default kubeconfig location at ``path`` (the async
    client's only where it is installed: only the cncf provider's async hook needs it)."""
    with Patch(KUBE_CONFIG_LOCATION, path), Patch(ASYNC_KUBE_CONFIG_LOCATION, path):
        yield
