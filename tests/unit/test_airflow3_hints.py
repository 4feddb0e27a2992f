"""Airflow 3 changes named from the errors Airflow 3 gives for Airflow 2 DAGs (texts as Airflow
3.3 prints them; the real import errors are checked end to end in test_dag_import_hints)."""

from __future__ import annotations

from airflow_e2e_harness.airflow.hints import hints_for


def test_schedule_interval() -> None:
    error = "TypeError: DAG.__init__() got an unexpected keyword argument 'schedule_interval'"
    assert hints_for(error) == [
        "Airflow 3 removed DAG(schedule_interval=...): write schedule=... (a cron string, "
        "a timedelta, a timetable or None)"
    ]


def test_docker_volumes() -> None:
    error = "TypeError: DockerOperator.__init__() got an unexpected keyword argument 'volumes'"
    assert any("mounts=[docker.types.Mount" in hint for hint in hints_for(error))


def test_removed_kubernetes_pod_module() -> None:
    error = ("ModuleNotFoundError: No module named "
             "'airflow.providers.cncf.kubernetes.operators.kubernetes_pod'")
    assert hints_for(error) == [
        "airflow.providers.cncf.kubernetes.operators.kubernetes_pod is gone in Airflow 3: import from "
        "airflow.providers.cncf.kubernetes.operators.pod (KubernetesPodOperator)"
    ]


def test_moved_core_operators() -> None:
    error = "ModuleNotFoundError: No module named 'airflow.operators.bash'"
    assert hints_for(error) == [
        "airflow.operators.bash is gone in Airflow 3: import from airflow.providers.standard.operators.bash"
    ]


def test_removed_template_variables() -> None:
    log = "jinja2.exceptions.UndefinedError: 'next_ds' is undefined"
    assert hints_for(log) == [
        "Airflow 3 removed the template variable next_ds: use {{ data_interval_end | ds }}"
    ]
    assert hints_for("'next_ds_nodash' is undefined") == [
        "Airflow 3 removed the template variable next_ds_nodash: use {{ data_interval_end | ds_nodash }}"
    ]


def test_unrelated_errors_get_no_hint() -> None:
    assert hints_for("ZeroDivisionError: division by zero", "x = 1 / 0") == []
