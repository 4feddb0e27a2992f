"""The same two steps as containers on one Docker host; the data folder comes from the environment."""

import os

import pendulum
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG
from docker.types import Mount

DATA_DIR = os.environ.get("ETL_DATA_DIR", "/srv/etl")

with DAG(
    dag_id="etl_daily_docker",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    common = dict(image="etl:1.0", mounts=[Mount(target="/data", source=DATA_DIR, type="bind")],
                  mount_tmp_dir=False, auto_remove="success")
    extract = DockerOperator(
        task_id="extract", command=["extract", "--ds", "{{ ds }}", "--rows", "42"], **common,
    )
    load = DockerOperator(task_id="load", command=["load", "--ds", "{{ ds }}"], **common)
    extract >> load
