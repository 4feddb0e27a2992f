"""Docker tasks that fail: a non-zero exit, a start that fails, an image nobody built."""

from __future__ import annotations

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.docker.operators.docker import DockerOperator

with DAG(
    dag_id="docker_failure",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["failure", "docker"],
) as dag:
    DockerOperator(
        task_id="corrupt_input",
        image="xcom-probe:e2e",
        command=["fail", "3"],
        mount_tmp_dir=False,
        retries=0,
    )

with DAG(
    dag_id="docker_bad_start",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["failure", "docker"],
) as bad_start:
    # The container is created, but its start fails: Docker leaves it in state Created.
    DockerOperator(
        task_id="no_such_binary", image="xcom-probe:e2e", entrypoint=["/no/such/binary"],
        mount_tmp_dir=False, retries=0, labels={"team": "data"},
    )

with DAG(
    dag_id="docker_unbuilt_image",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["failure", "docker"],
) as unbuilt:
    DockerOperator(task_id="unbuilt", image="never-built-anywhere:e2e", mount_tmp_dir=False, retries=0)
