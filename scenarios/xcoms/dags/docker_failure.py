"""A container that exits non-zero: its task must fail and its output must be shown."""

from __future__ import annotations

import pendulum
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG

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
