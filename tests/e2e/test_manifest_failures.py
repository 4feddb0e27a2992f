"""Manifests that cannot work fail fast and say why, in a real kind cluster.

A Deployment whose container exits at once ("config missing: API_KEY") used to
hold the environment's start for the whole 180 s readiness wait and then show
neither the line nor the file; an unparsable manifest said ``"<unicode string>",
line 5``. The time the crash-looping case takes is printed, not asserted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow_e2e_harness.kubernetes.manifests import ManifestError
from airflow_e2e_harness.session import E2ESession
from tests.e2e.expected import TASKFLOW

pytestmark = [pytest.mark.e2e, pytest.mark.kind]

HERE = Path(__file__).resolve().parent / "manifest_failures"
CRASH_LOOPING = HERE / "crash_looping.yaml"
UNPARSABLE = HERE / "unparsable.yaml"
# No DAG runs here; an environment still needs a folder of them.
DAGS = TASKFLOW / "dags"


def test_a_crash_looping_deployment_fails_with_its_last_line_and_file(airflow_e2e: E2ESession) -> None:
    env = airflow_e2e.kind(dags=DAGS, images=HERE / "images", manifests=CRASH_LOOPING,
                           namespace="manifest-failures")
    started = time.monotonic()
    try:
        with pytest.raises(ManifestError) as failure, env:
            pass
        took = time.monotonic() - started
    finally:
        if env.manifests is not None:
            env.manifests.delete()  # a failed start leaves them for the bundle; this test needs no bundle

    err = failure.value
    wait = next(p for p in reversed(airflow_e2e.timer.phases) if p.name == "apply manifests")
    print(f"\ncrash-looping Deployment: ManifestError {took:.1f}s after the environment's start "
          f"(images, cluster, apply included); the manifests phase took {wait.seconds:.1f}s\n{err}")
    assert (err.obj, err.reason, err.path) == ("Deployment/api", "CrashLoopBackOff", CRASH_LOOPING)
    assert err.namespace == env.namespace
    assert "config missing: API_KEY" in err.logs.splitlines()
    message = str(err)
    assert message.startswith(f"{CRASH_LOOPING}:2: Deployment/api")
    assert "config missing: API_KEY" in message
    assert any("Pod/api-" in event for event in err.events), err.events


def test_an_unparsable_manifest_names_its_path_and_line(airflow_e2e: E2ESession) -> None:
    with pytest.raises(ManifestError) as failure:
        airflow_e2e.kind(dags=DAGS, manifests=UNPARSABLE, namespace="manifest-failures")

    assert str(failure.value).startswith(f"{UNPARSABLE}:5: expected <block end>")
    assert (failure.value.path, failure.value.line) == (UNPARSABLE, 5)
