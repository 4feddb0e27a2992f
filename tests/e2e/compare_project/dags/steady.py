"""Behaves the same on every Airflow version: a file and an XCom from the logical date alone."""

import os

import pendulum
from airflow import DAG
from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import Mount

DATA_DIR = os.environ.get("PROBE_DATA_DIR", "/srv/probe")

with DAG(dag_id="steady", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    common = dict(image="probe:1.0", mounts=[Mount(target="/data", source=DATA_DIR, type="bind")],
                  mount_tmp_dir=False, auto_remove="success")
    count = DockerOperator(task_id="count", command=["steady", "--out", "/data/{{ ds }}"], **common)
    check = DockerOperator(task_id="check", command=["check", "--out", "/data/{{ ds }}"], **common)
    count >> check
