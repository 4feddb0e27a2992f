"""Pods that can never start: each task must fail in seconds, naming the cause, not after 120 s."""

from __future__ import annotations

import os

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

NAMESPACE = os.environ.get("XCOMS_NAMESPACE", "xcoms")
common = dict(namespace=NAMESPACE, image="xcom-probe:e2e", image_pull_policy="Never",
              arguments=["lines", "1"], on_finish_action="delete_pod", retries=0, startup_timeout_seconds=120)

with DAG(
    dag_id="k8s_cannot_start",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["failure", "kubernetes"],
):
    KubernetesPodOperator(
        task_id="missing_claim", name="missing-claim",
        volumes=[k8s.V1Volume(name="data", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
            claim_name="no-such-claim"))],
        volume_mounts=[k8s.V1VolumeMount(name="data", mount_path="/data")],
        **common,
    )
    KubernetesPodOperator(
        task_id="missing_config", name="missing-config",
        env_from=[k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="no-such-config"))],
        **common,
    )
    KubernetesPodOperator(
        task_id="no_node", name="no-node", node_selector={"disk": "none-has-this"}, **common,
    )
