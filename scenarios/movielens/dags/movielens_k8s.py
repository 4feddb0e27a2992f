"""MovieLens, chapter 10 of "Data Pipelines with Apache Airflow", on Kubernetes.

The same two containers as ``movielens_docker``, run as pods by
KubernetesPodOperator in the namespace ``$MOVIELENS_NAMESPACE``; both mount
the claim ``data-volume`` at /data and reach the API through its Service,
``movielens``. The cluster comes from the ``kubernetes_default`` connection.
"""

from __future__ import annotations

import os

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

NAMESPACE = os.environ.get("MOVIELENS_NAMESPACE", "movielens")

data_volume = k8s.V1Volume(
    name="data-volume",
    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="data-volume"),
)
data_mount = k8s.V1VolumeMount(name="data-volume", mount_path="/data")

with DAG(
    dag_id="movielens_k8s",
    description="Fetch ratings from the MovieLens API and rank movies (KubernetesPodOperator).",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    end_date=pendulum.datetime(2026, 3, 1, tz="UTC"),
    catchup=False,
    tags=["movielens", "kubernetes"],
) as dag:
    common = dict(
        namespace=NAMESPACE,
        volumes=[data_volume],
        volume_mounts=[data_mount],
        image_pull_policy="Never",
        on_finish_action="delete_pod",
        get_logs=True,
        startup_timeout_seconds=180,
    )

    fetch_ratings = KubernetesPodOperator(
        task_id="fetch_ratings",
        name="fetch-ratings",
        image="movielens-fetch:e2e",
        cmds=["fetch-ratings"],
        arguments=[
            "--start-date", "{{ ds }}",
            "--end-date", "{{ macros.ds_add(ds, 1) }}",
            "--output-path", "/data/ratings/{{ ds }}.json",
            "--host", "http://{{ conn.movielens.host }}:{{ conn.movielens.port }}",
        ],
        env_vars={
            "MOVIELENS_USER": "{{ conn.movielens.login }}",
            "MOVIELENS_PASSWORD": "{{ conn.movielens.password }}",
        },
        **common,
    )

    rank_movies = KubernetesPodOperator(
        task_id="rank_movies",
        name="rank-movies",
        image="movielens-rank:e2e",
        cmds=["rank-movies"],
        arguments=[
            "--input-path", "/data/ratings/{{ ds }}.json",
            "--output-path", "/data/rankings/{{ ds }}.csv",
            "--min-ratings", "2",
        ],
        **common,
    )

    fetch_ratings >> rank_movies
