"""A failing task followed by an `all_done` cleanup: the DagRun succeeds, the run is not ok."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

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
