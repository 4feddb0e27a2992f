"""DockerOperator's three ways of turning a container's output into an XCom."""

from __future__ import annotations

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.docker.operators.docker import DockerOperator

with DAG(
    dag_id="docker_xcoms",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["xcom", "docker"],
) as dag:
    DockerOperator(
        task_id="last_line",
        image="xcom-probe:e2e",
        command=["lines", "3"],
        mount_tmp_dir=False,
    )
    DockerOperator(
        task_id="all_lines",
        image="xcom-probe:e2e",
        command=["lines", "3"],
        xcom_all=True,
        mount_tmp_dir=False,
    )
    DockerOperator(
        task_id="pickled",
        image="xcom-probe:e2e",
        command=["pickle", "/tmp/result.pickle", "{{ ds }}"],
        retrieve_output=True,
        retrieve_output_path="/tmp/result.pickle",
        mount_tmp_dir=False,
    )
