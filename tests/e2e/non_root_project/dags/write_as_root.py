"""A task whose container writes as root (the image's default user) into a mounted data folder."""

import os

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import Mount

DATA_DIR = os.environ.get("WRITER_DATA_DIR", "/srv/writer")

with DAG(
    dag_id="write_as_root",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    DockerOperator(
        task_id="write", image="nonroot-writer:e2e", command=["{{ ds }}"],
        mounts=[Mount(target="/data", source=DATA_DIR, type="bind")], mount_tmp_dir=False,
        auto_remove="success",
    )
