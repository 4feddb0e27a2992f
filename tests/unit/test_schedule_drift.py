"""Which template fields a manual dag.test() run renders differently from the scheduled run
(real operators and timetables, no containers)."""

from __future__ import annotations

from typing import Any

import pendulum

from airflow_e2e_harness.airflow.schedule_drift import (
    HISTORY,
    IDENTITY,
    INTERVAL,
    RUN_TYPE,
    schedule_drift,
    template_variables,
)
from airflow_e2e_harness.airflow.scheduled_runs import manual_plan, scheduled_plan
from tests.airflow_lines import AIRFLOW_2

DAY = pendulum.datetime(2026, 1, 5, tz="UTC")
# The manual run (triggered 30 days later) and the scheduled run of DAY, as each line names them:
# Airflow 3 by when a run may start, Airflow 2.11 by its logical date.
RUN_IDS = (("manual__2026-01-05T00:00:00+00:00", "scheduled__2026-01-05T00:00:00+00:00") if AIRFLOW_2 else
           ("manual__2026-02-04T00:00:00+00:00", "scheduled__2026-01-06T00:00:00+00:00"))


def build(schedule: Any) -> Any:
    from airflow import DAG  # Airflow 2.11 and 3.x alike
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.docker.operators.docker import DockerOperator
    from kubernetes.client import models as k8s

    with DAG("drift", schedule=schedule, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        DockerOperator(task_id="interval", image="i", command=[
            "--from", "{{ data_interval_start | ds }}", "--to", "{{ dag_run.data_interval_end | ds }}",
        ])
        DockerOperator(task_id="logical_only", image="i", command="run {{ ds }} {{ macros.ds_add(ds, 1) }}")
        KubernetesPodOperator(
            task_id="pod", image="i", arguments=["{{ prev_data_interval_start_success }}"],
            env_vars=[k8s.V1EnvVar(name="RUN", value="{{ run_id }}")],
            labels={"kind": "{% if dag_run.run_type == 'manual' %}test{% else %}prod{% endif %}"},
        )
    return dag


def drift_of(schedule: Any) -> Any:
    dag = build(schedule)
    return schedule_drift(dag, manual_plan(dag, DAY, DAY.add(days=30)), scheduled_plan(dag, DAY))


def test_fields_name_the_variables_their_templates_use() -> None:
    dag = build("@daily")
    assert template_variables(dag.get_task("interval")) == {
        "command": {"data_interval_start", "dag_run", "dag_run.data_interval_end"},
    }
    assert template_variables(dag.get_task("logical_only")) == {"command": {"ds", "macros"}}
    pod = template_variables(dag.get_task("pod"))
    assert pod["env_vars"] == {"run_id"}, pod  # inside a kubernetes model
    assert pod["labels"] == {"dag_run", "dag_run.run_type"}


def test_a_data_interval_timetable_drifts_in_the_interval_the_run_type_and_the_run_id() -> None:
    from airflow.timetables.interval import CronDataIntervalTimetable

    drift = drift_of(CronDataIntervalTimetable("0 0 * * *", timezone="UTC"))
    found = {(d.task_id, d.field, d.variable, d.kind, d.manual, d.scheduled) for d in drift.differences}
    assert found == {
        ("interval", "command", "data_interval_start", INTERVAL,
         "2026-01-04T00:00:00+00:00", "2026-01-05T00:00:00+00:00"),
        ("interval", "command", "dag_run.data_interval_end", INTERVAL,
         "2026-01-05T00:00:00+00:00", "2026-01-06T00:00:00+00:00"),
        ("pod", "labels", "dag_run.run_type", RUN_TYPE, "manual", "scheduled"),
        ("pod", "env_vars", "run_id", IDENTITY, *RUN_IDS),
        ("pod", "arguments", "prev_data_interval_start_success", HISTORY,
         "earlier runs of this session", "the previous scheduled run"),
    }
    assert drift.interval_differs


def test_a_cron_trigger_timetable_does_not_drift_in_the_interval() -> None:
    from airflow.timetables.trigger import CronTriggerTimetable

    drift = drift_of(CronTriggerTimetable("@daily", timezone="UTC"))  # Airflow 3's default for "@daily"
    assert not drift.interval_differs
    assert drift.of_kind(INTERVAL) == []
    assert {d.variable for d in drift.of_kind(RUN_TYPE, IDENTITY)} == {"dag_run.run_type", "run_id"}
