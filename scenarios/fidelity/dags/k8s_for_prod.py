"""KubernetesPodOperator tasks as production DAGs write them, and pods that end badly.

``k8s_written_for_prod``: ``:latest``, untagged and registry-qualified images (Kubernetes pulls
those by default: ``Always``), and a task that fails twice before it succeeds, with a 5-minute
retry delay. The pods are kept so a test can read which image each ran.

``k8s_pod_ends``: a pod over its memory limit, a container that exits 3 after a few lines, and a
pod spec the API server rejects (a memory request above its limit).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

NAMESPACE = os.environ.get("FIDELITY_NAMESPACE", "fidelity")
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(dag_id="k8s_written_for_prod", schedule=None, start_date=START, catchup=False,
         tags=["fidelity", "kubernetes"]):
    for task_id, image in (
        ("latest", "fidelity-probe:latest"),
        ("untagged", "fidelity-probe"),
        ("registry_qualified", "registry.example.com/team/probe"),
    ):
        KubernetesPodOperator(
            task_id=task_id,
            name=task_id.replace("_", "-"),
            namespace=NAMESPACE,
            image=image,
            arguments=["marker"],
            on_finish_action="keep_pod",
        )
    KubernetesPodOperator(
        task_id="flaky",
        name="flaky",
        namespace=NAMESPACE,
        image="fidelity-probe:latest",
        arguments=["flaky", "{{ ti.try_number }}", "3"],
        retries=3,
        retry_delay=timedelta(minutes=5),
    )

with DAG(dag_id="k8s_pod_ends", schedule=None, start_date=START, catchup=False,
         tags=["fidelity", "kubernetes", "failure"]):
    KubernetesPodOperator(
        task_id="over_memory",
        name="over-memory",
        namespace=NAMESPACE,
        image="fidelity-probe:latest",
        arguments=["oom"],
        container_resources=k8s.V1ResourceRequirements(limits={"memory": "64Mi"}),
    )
    KubernetesPodOperator(
        task_id="exits_3",
        name="exits-3",
        namespace=NAMESPACE,
        image="fidelity-probe:latest",
        arguments=["fail", "/data/in/ratings.csv", "3"],
    )
    KubernetesPodOperator(
        task_id="rejected_spec",
        name="rejected-spec",
        namespace=NAMESPACE,
        image="fidelity-probe:latest",
        arguments=["marker"],
        container_resources=k8s.V1ResourceRequirements(requests={"memory": "128Mi"},
                                                       limits={"memory": "64Mi"}),
    )
