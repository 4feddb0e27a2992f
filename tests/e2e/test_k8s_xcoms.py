"""KubernetesPodOperator: the XCom sidecar, a failing pod, an image the node lacks."""

from __future__ import annotations

import pytest

from tests.e2e.expected import SCENARIOS, probe_payload

pytestmark = [pytest.mark.e2e, pytest.mark.kind]

DAGS = SCENARIOS / "xcoms" / "dags"
DS = "2026-01-05"
FAILURE_MARKER = "probe: the input is corrupt, giving up (exit 3)"


def test_sidecar_xcom_comes_back_as_a_python_value(xcoms_k8s, run_dag) -> None:
    result = run_dag(DAGS, "k8s_xcoms", DS)

    assert result.ok, result.describe()
    assert result.xcoms["json_result"] == probe_payload(DS)


def test_failing_pod_fails_its_task_and_keeps_the_pod_log(xcoms_k8s, run_dag) -> None:
    result = run_dag(DAGS, "k8s_failure", DS)

    assert result.state == "failed"
    assert result.states == {"corrupt_input": "failed"}
    assert FAILURE_MARKER in result.tasks["corrupt_input"].log


def test_missing_image_fails_fast_naming_the_image(
    xcoms_k8s, image_pull_watchdog, run_dag,
) -> None:
    result = run_dag(DAGS, "k8s_missing_image", DS, observers=[image_pull_watchdog([xcoms_k8s])])

    assert result.states == {"missing_image": "failed"}
    assert any("not-loaded-anywhere:e2e" in finding for finding in result.findings), result.findings
    print(f"missing image: task failed after {result.seconds:.1f}s (startup timeout is 300s)")
