"""Writes its data interval: the same on every Airflow 3 version; on Airflow 2, a cron schedule is a
CronDataIntervalTimetable (the interval ends at the logical date), on Airflow 3 a CronTriggerTimetable."""

import os

import pendulum
from airflow import DAG
from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import Mount

DATA_DIR = os.environ.get("PROBE_DATA_DIR", "/srv/probe")

with DAG(dag_id="interval_probe", schedule="@daily", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
         catchup=False):
    DockerOperator(
        task_id="interval", image="probe:1.0",
        command=["interval", "--out", "/data/{{ ds }}", "--start", "{{ data_interval_start | ds }}",
                 "--end", "{{ data_interval_end | ds }}"],
        mounts=[Mount(target="/data", source=DATA_DIR, type="bind")], mount_tmp_dir=False,
        auto_remove="success",
    )
