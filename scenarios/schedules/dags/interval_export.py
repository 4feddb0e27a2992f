"""An incremental export templated from the data interval, on the two cron timetables.

The export task is told ``data_interval_start`` and ``data_interval_end`` and the
run type, as incremental jobs are. Which interval a run gets depends on the
timetable and on how the run was made:

- ``export_data_interval`` (CronDataIntervalTimetable, daily at midnight): the
  scheduled run of logical date D covers [D, D+1); ``dag.test()``'s manual run of
  D covers [D-1, D).
- ``export_cron_trigger`` (CronTriggerTimetable, daily at 06:30): every run's
  interval is the trigger time itself, manual or scheduled.

Outputs go to EXPORT_DATA_DIR (the host folder mounted at /data).
"""

from __future__ import annotations

import os

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.timetables.trigger import CronTriggerTimetable
from docker.types import Mount

DATA_DIR = os.environ.get("EXPORT_DATA_DIR", "/tmp/airflow/exports")
START = pendulum.datetime(2026, 1, 1, tz="UTC")
PREVIOUS = "{{ prev_data_interval_start_success | ts if prev_data_interval_start_success else 'none' }}"

TIMETABLES = {
    "export_data_interval": CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    "export_cron_trigger": CronTriggerTimetable("30 6 * * *", timezone="UTC"),
}

for dag_id, timetable in TIMETABLES.items():
    with DAG(dag_id, schedule=timetable, start_date=START, catchup=False, tags=["schedules", "docker"]):
        DockerOperator(
            task_id="export",
            image="interval-export:e2e",
            command=[
                "--start", "{{ data_interval_start | ts }}",
                "--end", "{{ data_interval_end | ts }}",
                "--run-type", "{{ dag_run.run_type }}",
                "--previous", PREVIOUS,
                "--out", "/data/{{ dag.dag_id }}",
            ],
            mounts=[Mount(target="/data", source=DATA_DIR, type="bind")],
            mount_tmp_dir=False,
            auto_remove="success",
        )
