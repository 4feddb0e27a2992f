"""DAGs written for Airflow 2 fail to import (or to render) on Airflow 3; the error names the change.
On Airflow 2.11, a DAG written for Airflow 3 (airflow.sdk) fails to import; the error says what to write.

Real Airflow parses real files; the expected hints are the changes each file was written to hit.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from airflow_e2e_harness.airflow.runner import DagImportError
from airflow_e2e_harness.session import E2ESession
from tests.airflow_lines import AIRFLOW_2, needs_airflow_3

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

HEADER = "import pendulum\nfrom airflow.sdk import DAG\nSTART = pendulum.datetime(2026, 1, 1, tz='UTC')\n"
AIRFLOW2_DAGS = {
    "old_schedule.py": "with DAG('old_schedule', schedule_interval='@daily', start_date=START):\n    pass\n",
    "old_pod_module.py": (
        "from airflow.providers.cncf.kubernetes.operators.kubernetes_pod import KubernetesPodOperator\n"
    ),
    "old_volumes.py": textwrap.dedent(
        """
        from airflow.providers.docker.operators.docker import DockerOperator
        with DAG('old_volumes', schedule=None, start_date=START):
            DockerOperator(task_id='t', image='x:1', volumes=['/data:/data'])
        """
    ),
}
TEMPLATE_DAG = HEADER + textwrap.dedent(
    """
    from airflow.providers.standard.operators.bash import BashOperator
    with DAG('old_template', schedule=None, start_date=START):
        BashOperator(task_id='echo', bash_command='echo {{ next_ds }}')
    """
)


@needs_airflow_3("the Airflow 3 changes these DAGs trip over (2.11 parses them)")
def test_import_errors_name_the_airflow_3_change(airflow_e2e: E2ESession, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    for name, body in AIRFLOW2_DAGS.items():
        (dags / name).write_text(HEADER + body)
    with airflow_e2e.docker(dags=dags) as env, pytest.raises(DagImportError) as caught:
        env.run("old_schedule", "2026-01-05")
    message = str(caught.value)
    assert "3 DAG file(s)" in message
    # The message opens with path:line of each failing file, the line being where the file's code broke.
    culprits = {"old_schedule.py": "schedule_interval=", "old_pod_module.py": "kubernetes_pod import",
                "old_volumes.py": "volumes=["}
    heads = message.splitlines()[:3]
    for name, text in culprits.items():
        source = (dags / name).read_text().splitlines()
        line = next(n for n, code in enumerate(source, start=1) if text in code)
        assert any(head.startswith(f"{dags / name}:{line}: ") for head in heads), (name, line, heads)
    assert set(caught.value.errors) == {str(dags / name) for name in culprits}
    assert "Hint: Airflow 3 removed DAG(schedule_interval=...)" in message
    assert "Hint: airflow.providers.cncf.kubernetes.operators.kubernetes_pod is gone in Airflow 3" in message
    assert "Hint: the docker provider removed DockerOperator(volumes=...)" in message


@needs_airflow_3("the Airflow 3 changes these DAGs trip over (2.11 renders next_ds)")
def test_a_removed_template_variable_is_named_in_the_findings(
    airflow_e2e: E2ESession, tmp_path: Path,
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "old_template.py").write_text(TEMPLATE_DAG)
    with airflow_e2e.docker(dags=dags) as env:
        result = env.run("old_template", "2026-01-05")
    assert result.states == {"echo": "failed"}
    assert "echo: Airflow 3 removed the template variable next_ds: use {{ data_interval_end | ds }}" in (
        result.findings
    )


@pytest.mark.skipif(not AIRFLOW_2, reason="Airflow 3 has the task SDK this DAG imports")
def test_on_airflow_2_a_dag_written_for_airflow_3_says_what_both_accept(
    airflow_e2e: E2ESession, tmp_path: Path,
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    body = "with DAG('sdk_dag', schedule=None, start_date=START):\n    pass\n"
    (dags / "sdk_dag.py").write_text(HEADER + body)  # HEADER imports DAG from airflow.sdk
    with airflow_e2e.docker(dags=dags) as env, pytest.raises(DagImportError) as caught:
        env.run("sdk_dag", "2026-01-05")
    assert "Hint: Airflow 2.11 has no task SDK (airflow.sdk): import DAG from airflow" in str(caught.value)
