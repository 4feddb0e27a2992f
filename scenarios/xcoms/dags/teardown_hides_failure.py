"""A failing task followed by an `all_done` cleanup: the DagRun succeeds, the run is not ok."""

from __future__ import annotations

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike

try:
    from airflow.sdk import task
except ImportError:  # Airflow 2.11: no task SDK
    from airflow.decorators import task

with DAG(
    dag_id="teardown_hides_failure",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["failure"],
):

    @task(retries=0)
    def load() -> None:
        raise RuntimeError("load: the warehouse refused the batch")

    @task(trigger_rule="all_done")
    def cleanup() -> str:
        return "cleaned"

    load() >> cleanup()
