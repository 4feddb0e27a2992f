"""Per-worker namespaces: the policy moves Kubernetes tasks, and manifests follow (no cluster)."""

from __future__ import annotations

from typing import Any

import pendulum

from airflow_e2e_harness.environment import move_to_namespace
from airflow_e2e_harness.policies.namespace_map import NamespaceMap


def tasks() -> dict[str, Any]:
    # Imported here: the plugin has pointed Airflow at the private home by now.
    from airflow import DAG  # Airflow 2.11 and 3.x alike
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    try:
        from airflow.providers.standard.operators.empty import EmptyOperator
    except ImportError:  # Airflow 2.11 without the standard provider
        from airflow.operators.empty import EmptyOperator

    dag = DAG("ns", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
    return {
        "etl": KubernetesPodOperator(task_id="etl", image="x", namespace="etl", dag=dag),
        "other": KubernetesPodOperator(task_id="other", image="x", namespace="monitoring", dag=dag),
        "unset": KubernetesPodOperator(task_id="unset", image="x", dag=dag),
        "empty": EmptyOperator(task_id="empty", dag=dag),
    }


def run_pre_execute(task: Any) -> None:
    hook = getattr(task, "_pre_execute_hook", None)
    if hook is not None:
        hook({"task": task})


def test_tasks_in_the_declared_namespace_move_to_the_workers() -> None:
    policy = NamespaceMap()
    with policy.target({"etl": "etl-gw1"}):
        made = tasks()
        for task in made.values():
            policy.task_policy(task)
            run_pre_execute(task)
    assert made["etl"].namespace == "etl-gw1"
    assert made["other"].namespace == "monitoring"  # not the environment's namespace: left alone
    assert made["unset"].namespace is None  # "default" is not mapped here
    assert made["empty"]._pre_execute_hook is None


def test_without_a_mapping_nothing_is_touched() -> None:
    policy = NamespaceMap()
    made = tasks()
    policy.task_policy(made["etl"])
    run_pre_execute(made["etl"])
    assert made["etl"].namespace == "etl"
    assert made["etl"]._pre_execute_hook is None


def test_a_task_without_namespace_follows_a_mapped_default() -> None:
    policy = NamespaceMap()
    with policy.target({"default": "default-gw0"}):
        task = tasks()["unset"]
        policy.task_policy(task)
        run_pre_execute(task)
    assert task.namespace == "default-gw0"


def test_manifests_naming_the_declared_namespace_follow() -> None:
    docs = [
        {"kind": "Namespace", "metadata": {"name": "etl"}},
        {"kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "etl"}},
        {"kind": "ConfigMap", "metadata": {"name": "shared", "namespace": "monitoring"}},
        {"kind": "PersistentVolume", "metadata": {"name": "etl-gw1-data"}},
    ]
    move_to_namespace(docs, "etl", "etl-gw1")
    assert [d["metadata"].get("namespace", d["metadata"]["name"]) for d in docs] == [
        "etl-gw1", "etl-gw1", "monitoring", "etl-gw1-data",
    ]
