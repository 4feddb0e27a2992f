"""A task that runs until stopped, followed by one that must never start: for interrupt tests."""

from __future__ import annotations

import os

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.docker.operators.docker import DockerOperator

NAMESPACE = os.environ.get("XCOMS_NAMESPACE", "xcoms")
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(dag_id="docker_long_task", schedule=None, start_date=START, catchup=False, tags=["interrupt"]):
    # sleep as PID 1 ignores SIGTERM: `docker stop` would wait its full 10 s grace period.
    long = DockerOperator(
        task_id="long", image="xcom-probe:e2e", entrypoint=["sleep", "300"], mount_tmp_dir=False, retries=0,
    )
    long >> DockerOperator(
        task_id="after", image="xcom-probe:e2e", command=["lines", "1"], mount_tmp_dir=False,
        trigger_rule="all_done",
    )

with DAG(dag_id="k8s_long_task", schedule=None, start_date=START, catchup=False, tags=["interrupt"]):
    long_pod = KubernetesPodOperator(
        task_id="long", name="long", namespace=NAMESPACE, image="xcom-probe:e2e", image_pull_policy="Never",
        cmds=["sleep", "300"], on_finish_action="delete_pod", retries=0,
    )
    long_pod >> KubernetesPodOperator(
        task_id="after", name="after", namespace=NAMESPACE, image="xcom-probe:e2e",
        image_pull_policy="Never", arguments=["lines", "1"], trigger_rule="all_done",
    )
