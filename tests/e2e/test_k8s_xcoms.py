"""KubernetesPodOperator: the XCom sidecar, a failing pod, an image the node lacks."""

from __future__ import annotations

import pytest

from tests.e2e.expected import FAILURE_MARKER, SCENARIOS, probe_payload
from tests.e2e.expected import PROBE_DS as DS
from tests.e2e.expected import XCOMS_DAGS as DAGS

pytestmark = [pytest.mark.e2e, pytest.mark.kind]



def test_sidecar_xcom_comes_back_as_a_python_value(xcoms_k8s) -> None:
    result = xcoms_k8s.run("k8s_xcoms", DS)

    assert result.ok, result.describe()
    assert result.xcoms["json_result"] == probe_payload(DS)


def test_failing_pod_fails_its_task_and_keeps_the_pod_log(xcoms_k8s) -> None:
    result = xcoms_k8s.run("k8s_failure", DS)

    assert result.state == "failed"
    assert result.states == {"corrupt_input": "failed"}
    assert FAILURE_MARKER in result.tasks["corrupt_input"].log


def test_missing_image_fails_fast_naming_the_image(xcoms_k8s) -> None:
    result = xcoms_k8s.run("k8s_missing_image", DS)

    assert result.states == {"missing_image": "failed"}
    # The harness's pod watchdog names it, unless the operator's own start check (polled every
    # 0.25 s with the harness's short waits) got there first: then its error does.
    said = "\n".join(result.findings) + result.tasks["missing_image"].log
    assert "not-loaded-anywhere:e2e" in said and ("ErrImage" in said or "ImagePullBackOff" in said), said
    print(f"missing image: task failed after {result.seconds:.1f}s (startup timeout is 300s)")


BUNDLE_TEST = """
from pathlib import Path

import pytest

DAGS = Path({dags!r})
IMAGES = Path({images!r})


@pytest.fixture(scope="session")
def probe(airflow_e2e):
    with airflow_e2e.kind(dags=DAGS, images=IMAGES, namespace="bundle-check",
                          env={{"XCOMS_NAMESPACE": "${{namespace}}"}}) as env:
        yield env


def test_users_k8s_dag(probe):
    assert probe.run("k8s_failure", "2026-01-05").ok
"""


def test_failed_k8s_test_leaves_a_bundle_the_report_points_to(
    xcoms_k8s, inner_pytester: pytest.Pytester, tmp_path,
) -> None:
    """A user's failing Kubernetes test: task log in the report, and a bundle with events and kind logs."""
    inner_pytester.makepyfile(test_user=BUNDLE_TEST.format(
        dags=str(DAGS), images=str(SCENARIOS / "xcoms" / "images"),
    ))
    artifacts = tmp_path / "artifacts"
    outcome = inner_pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--artifacts-dir={artifacts}",
        # reuse the session's cluster, and leave it up
        f"--cluster-name={xcoms_k8s.cluster.name}", "--keep-cluster",
    )

    outcome.assert_outcomes(failed=1)
    text = outcome.stdout.str()
    assert FAILURE_MARKER in text  # the pod's output, through the task log
    bundles = list(artifacts.glob("*/bundles/*"))
    assert len(bundles) == 1, bundles
    assert f"pod logs, events, kind logs: {bundles[0]}" in text
    events = (bundles[0] / "namespace-bundle-check" / "events.txt").read_text()
    assert "corrupt-input" in events
    assert list((bundles[0] / "kind").rglob("kubelet.log")), "kind export logs hold the kubelet log"


def test_pods_that_cannot_start_fail_fast_naming_the_cause(xcoms_k8s) -> None:
    result = xcoms_k8s.run("k8s_cannot_start", DS)

    assert result.states == {"missing_claim": "failed", "missing_config": "failed", "no_node": "failed"}
    findings = "\n".join(result.findings)
    assert 'persistentvolumeclaim "no-such-claim" not found' in findings, findings
    assert "CreateContainerConfigError" in findings and "no-such-config" in findings, findings
    assert "node affinity/selector" in findings, findings
    print(f"three pods that cannot start: failed after {result.seconds:.1f}s in all (timeouts: 3 x 120 s)")
