"""TaskFlow containers and deferrable operators, as Airflow's provider examples write them:
``@task.docker`` with ``multiple_outputs``, ``@task.kubernetes``, ``@task.kubernetes_cmd`` (a full
command and ``args_only``), KubernetesPodOperator and KubernetesJobOperator with ``deferrable=True``.
Outputs and XComs are checked exactly; the expected values are worked out here from the date."""

from __future__ import annotations

from datetime import date

import pytest

from airflow_e2e_harness.environment import DockerEnvironment, KindEnvironment
from tests.e2e.expected import PROBE_DS

pytestmark = [pytest.mark.e2e]

DAY = date.fromisoformat(PROBE_DS)


@pytest.mark.docker
def test_task_docker_with_multiple_outputs(taskflow_docker: DockerEnvironment) -> None:
    result = taskflow_docker.run("taskflow_docker", PROBE_DS)
    assert result.ok, result.describe()
    parts = {"year": DAY.year, "month": DAY.month, "day": DAY.day}
    assert result.tasks["split_date"].xcoms == {"return_value": parts, **parts}
    assert result.xcoms["checksum"] == DAY.year * 10000 + DAY.month * 100 + DAY.day


@pytest.mark.kind
def test_task_kubernetes_and_kubernetes_cmd(taskflow_k8s: KindEnvironment) -> None:
    result = taskflow_k8s.run("taskflow_k8s", PROBE_DS)
    assert result.ok, result.describe()
    assert result.xcoms["weekday"] == {"day": PROBE_DS, "isoweekday": DAY.isoweekday()}
    assert result.xcoms["full_command"] == {"what": "command", "args": [PROBE_DS, str(DAY.isoweekday())]}
    assert result.xcoms["only_args"] == {"what": "args-only", "args": [PROBE_DS]}


@pytest.mark.kind
def test_deferrable_pod_and_job(taskflow_k8s: KindEnvironment) -> None:
    result = taskflow_k8s.run("deferrable_k8s", PROBE_DS)
    assert result.ok, result.describe()
    assert result.xcoms["deferred_pod"] == {"what": "deferred", "args": [PROBE_DS]}
    assert result.states["deferred_job"] == "success"
