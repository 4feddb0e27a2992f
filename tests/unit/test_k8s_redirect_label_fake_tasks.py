"""What ``mapped`` (and so ``RunResult.redirected``) names as a Kubernetes task's destination:
the cluster the caller says it used, without Airflow (fake tasks of the provider's family)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from airflow_e2e_harness.policies.k8s_redirect import KubernetesRedirect


class KubernetesPodOperator:
    """Counts as the provider's own class: the policy goes by module name."""

    def __init__(self, task_id: str, **kwargs: object) -> None:
        self.dag_id, self.task_id = "etl", task_id
        self.kubernetes_conn_id, self.cluster_context = "kubernetes_default", kwargs.get("cluster_context")
        self.config_file, self.in_cluster = None, None


KubernetesPodOperator.__module__ = "airflow.providers.cncf.kubernetes.operators.pod"


def mapped_task(task_id: str) -> SimpleNamespace:
    return SimpleNamespace(dag_id="etl", task_id=task_id, operator_class=KubernetesPodOperator,
                           partial_kwargs={"cluster_context": "prod"}, pre_execute=None)


def test_an_existing_cluster_is_named_by_context_and_kubeconfig(tmp_path: Path) -> None:
    redirect = KubernetesRedirect()
    label = f"existing cluster (context ci, {tmp_path / 'ci-kubeconfig'})"
    with redirect.target(tmp_path / "harness-kubeconfig", None, label):
        redirect.task_policy(KubernetesPodOperator("extract", cluster_context="prod-eu"))
        redirect.task_policy(mapped_task("load"))
    assert redirect.mapped_in("etl") == {
        "extract": f"kubernetes_conn_id='kubernetes_default', cluster_context='prod-eu' -> {label}",
        "load": f"kubernetes_conn_id='kubernetes_default', cluster_context='prod' -> {label} "
                "(each mapped instance, as it starts)",
    }


def test_without_a_label_the_wording_is_as_before(tmp_path: Path) -> None:
    redirect = KubernetesRedirect()
    with redirect.target(tmp_path / "k", None, "kind cluster airflow-e2e-1"):
        pass
    with redirect.target(tmp_path / "k"):  # the label does not outlive its target
        redirect.task_policy(KubernetesPodOperator("extract"))
    said = "kubernetes_conn_id='kubernetes_default'"
    assert redirect.mapped_in("etl") == {"extract": f"{said} -> the session's cluster"}
    assert redirect.label == "the session's cluster"
