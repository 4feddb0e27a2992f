"""Counts the words of the text files under the claim's in/ folder, written by the test into
``env.data_dir`` before the run: inputs a pod reads from a PersistentVolumeClaim.

The claim ``words`` holds in/ (the inputs) and out/<ds>.json (the counts). Namespace ``words``
becomes the environment's own (a session's, on an existing cluster) through the harness.
"""

from __future__ import annotations

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

claim = k8s.V1PersistentVolumeClaimVolumeSource(claim_name="words")

with DAG(
    dag_id="count_words_k8s",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    KubernetesPodOperator(
        task_id="count_words",
        name="count-words",
        namespace="words",
        image="wordcount:e2e",
        image_pull_policy="Never",
        arguments=["/data/in", "/data/out/{{ ds }}.json"],
        volumes=[k8s.V1Volume(name="data", persistent_volume_claim=claim)],
        volume_mounts=[k8s.V1VolumeMount(name="data", mount_path="/data")],
        on_finish_action="delete_pod",
        get_logs=True,
        startup_timeout_seconds=180,
    )
