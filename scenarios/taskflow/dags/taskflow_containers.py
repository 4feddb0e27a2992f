"""The provider examples' TaskFlow containers and deferrable operators, as teams write them.

- ``taskflow_docker``: ``@task.docker`` with ``multiple_outputs`` feeding a plain ``@task``.
- ``taskflow_k8s``: ``@task.kubernetes`` (a function run in a pod, its return value the XCom),
  ``@task.kubernetes_cmd`` returning a full command, and one with ``args_only``.
- ``deferrable_k8s``: KubernetesPodOperator with ``deferrable=True`` and its XCom, and
  KubernetesJobOperator with ``deferrable=True``.

The namespace comes from the environment, as in production (``TASKFLOW_NAMESPACE``).
"""

from __future__ import annotations

import os

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.cncf.kubernetes.operators.job import KubernetesJobOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

try:
    from airflow.sdk import task
except ImportError:  # Airflow 2.11: no task SDK
    from airflow.decorators import task

NAMESPACE = os.environ.get("TASKFLOW_NAMESPACE", "taskflow")
IMAGE = "taskflow-python:e2e"
START = pendulum.datetime(2026, 1, 1, tz="UTC")
POD = dict(image=IMAGE, image_pull_policy="Never", namespace=NAMESPACE, on_finish_action="delete_pod")

with DAG("taskflow_docker", schedule=None, start_date=START, catchup=False, tags=["taskflow", "docker"]):

    @task.docker(image=IMAGE, multiple_outputs=True, auto_remove="success")
    def split_date(day: str) -> dict:
        year, month, dom = (int(part) for part in day.split("-"))
        return {"year": year, "month": month, "day": dom}

    @task
    def checksum(year: int, month: int, day: int) -> int:
        return year * 10000 + month * 100 + day

    parts = split_date("{{ ds }}")
    checksum(parts["year"], parts["month"], parts["day"])

with DAG("taskflow_k8s", schedule=None, start_date=START, catchup=False, tags=["taskflow", "kubernetes"]):

    @task.kubernetes(**POD, do_xcom_push=True)
    def weekday(day: str) -> dict:
        import datetime

        return {"day": day, "isoweekday": datetime.date.fromisoformat(day).isoweekday()}

    @task.kubernetes_cmd(**POD, do_xcom_push=True)
    def full_command(found: dict) -> list[str]:
        return ["taskflow-entry", "command", found["day"], str(found["isoweekday"])]

    @task.kubernetes_cmd(**POD, do_xcom_push=True, args_only=True)
    def only_args(found: dict) -> list[str]:
        return ["args-only", found["day"]]

    found = weekday("{{ ds }}")
    full_command(found)
    only_args(found)

with DAG("deferrable_k8s", schedule=None, start_date=START, catchup=False, tags=["deferrable", "kubernetes"]):
    KubernetesPodOperator(
        task_id="deferred_pod", name="deferred-pod", cmds=["taskflow-entry"],
        arguments=["deferred", "{{ ds }}"], do_xcom_push=True, deferrable=True, **POD,
    )
    KubernetesJobOperator(
        task_id="deferred_job", name="deferred-job", cmds=["taskflow-entry"],
        arguments=["job", "{{ ds }}"], env_vars={"TASKFLOW_NO_XCOM": "1"},
        wait_until_job_complete=True, deferrable=True, **POD,
    )
