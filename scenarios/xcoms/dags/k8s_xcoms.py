"""KubernetesPodOperator's XCom sidecar, a failing pod, and an image the node lacks.

The sidecar's image comes from the ``kubernetes_default`` connection's extra
``xcom_sidecar_container_image`` (the provider's own setting).
"""

from __future__ import annotations

import os

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

NAMESPACE = os.environ.get("XCOMS_NAMESPACE", "xcoms")

common = dict(namespace=NAMESPACE, on_finish_action="delete_pod", get_logs=True, retries=0)

with DAG(
    dag_id="k8s_xcoms",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["xcom", "kubernetes"],
):
    KubernetesPodOperator(
        task_id="json_result",
        name="json-result",
        image="xcom-probe:e2e",
        image_pull_policy="Never",
        arguments=["json", "{{ ds }}"],
        do_xcom_push=True,
        **common,
    )

with DAG(
    dag_id="k8s_failure",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["failure", "kubernetes"],
):
    KubernetesPodOperator(
        task_id="corrupt_input",
        name="corrupt-input",
        image="xcom-probe:e2e",
        image_pull_policy="Never",
        arguments=["fail", "3"],
        **common,
    )

with DAG(
    dag_id="k8s_missing_image",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["failure", "kubernetes"],
):
    # Never loaded into the node: with IfNotPresent the kubelet tries to pull it.
    KubernetesPodOperator(
        task_id="missing_image",
        name="missing-image",
        image="not-loaded-anywhere:e2e",
        image_pull_policy="IfNotPresent",
        startup_timeout_seconds=300,
        **common,
    )
