"""Differs on each Airflow version: the version is in its command, its output file and its XCom."""

import os

import airflow
import pendulum
from airflow import DAG
from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import Mount

DATA_DIR = os.environ.get("PROBE_DATA_DIR", "/srv/probe")

with DAG(dag_id="version_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    DockerOperator(
        task_id="write", image="probe:1.0",
        command=["version", "--out", "/data/{{ ds }}", "--version", airflow.__version__],
        mounts=[Mount(target="/data", source=DATA_DIR, type="bind")], mount_tmp_dir=False,
        auto_remove="success",
    )
