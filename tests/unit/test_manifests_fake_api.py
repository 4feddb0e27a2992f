"""The manifests' wait fails at the first poll that sees a broken workload, and names the file;
the good path still waits, against a fake Kubernetes API (no cluster)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow_e2e_harness import waiting
from airflow_e2e_harness.kubernetes import manifests
from airflow_e2e_harness.kubernetes.manifests import ManifestError, Manifests, load_documents
from airflow_e2e_harness.kubernetes.workload_failures import SETTLE
from airflow_e2e_harness.timing import Timer
from tests.unit.fake_clock import FakeClock
from tests.unit.fake_k8s_api import (
    NS,
    FakeKubeApi,
    container_status,
    crash_looping_api,
    deployment,
    job,
    owner,
    pod,
    replica_set,
)

API_YAML = f"""\
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: {NS}}}
spec: {{replicas: 1}}
"""



@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> FakeKubeApi:
    api = FakeKubeApi()
    for name in ("CoreV1Api", "AppsV1Api", "BatchV1Api"):  # one kubernetes.client for both modules
        monkeypatch.setattr(manifests.k8s, name, lambda _client, api=api: api)
    monkeypatch.setattr(manifests, "DynamicClient", lambda _client: None)
    return api


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(manifests, "time", fake)
    monkeypatch.setattr(waiting, "time", fake)  # the wait primitive's clock and sleep
    return fake


def make(tmp_path: Path, text: str = API_YAML) -> tuple[Manifests, Path]:
    path = tmp_path / "api.yaml"
    path.write_text(text)
    docs = load_documents([path], {})
    docs.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "extra"}})  # made in code
    return Manifests(object(), docs, timer=Timer(stream=io.StringIO())), path


def test_a_crash_looping_deployment_fails_the_first_poll(
    tmp_path: Path, fake_api: FakeKubeApi, clock: FakeClock,
) -> None:
    crash_looping_api(fake_api)
    waiting, path = make(tmp_path)

    with pytest.raises(ManifestError) as failure:
        waiting.wait_ready()

    err = failure.value
    assert clock.sleeps == []  # no back-off waited out, let alone the 180 s
    assert (err.path, err.line, err.obj, err.namespace) == (path, 5, "Deployment/api", NS)
    assert (err.reason, err.pod, err.container) == ("CrashLoopBackOff", "api-new-y", "api")
    assert err.logs.splitlines()[-1] == "config missing: API_KEY"
    assert err.events[-1] == "Pod/api-new-y: Warning BackOff (x3): Back-off restarting failed container api"
    message = str(err)
    assert message.startswith(f"{path}:5: Deployment/api in namespace {NS}: CrashLoopBackOff")
    assert "  | config missing: API_KEY" in message
    assert "Recent events:" in message


def test_a_deployment_that_rolls_out_is_waited_for_as_before(
    tmp_path: Path, fake_api: FakeKubeApi, clock: FakeClock,
) -> None:
    dep = deployment("api", "uid-dep")
    fake_api.deployments["api"] = dep
    fake_api.replica_sets = [replica_set("api-1", "uid-rs", "uid-dep", "1")]
    fake_api.pods = [pod("api-1-a", container_status(waiting="ContainerCreating"),
                         owners=[owner("ReplicaSet", "api-1", "uid-rs")])]
    waiting, _ = make(tmp_path)

    def become_ready(seconds: float) -> None:
        FakeClock.sleep(clock, seconds)
        if len(clock.sleeps) == 4:
            fake_api.pods[0].status.container_statuses = [container_status(running=True)]
            fake_api.deployments["api"] = deployment("api", "uid-dep", ready=True)

    clock.sleep = become_ready  # type: ignore[method-assign]
    waiting.wait_ready()

    assert clock.sleeps == [0.5] * 4
    assert waiting.ready_after == {"Deployment/api": 2.0}


def rolled_out_just_now(fake_api: FakeKubeApi) -> None:
    """A Deployment available at once: its container (no readiness probe) started a moment ago."""
    fake_api.deployments["api"] = deployment("api", "uid-dep", ready=True)
    fake_api.replica_sets = [replica_set("api-1", "uid-rs", "uid-dep", "1")]
    fresh = container_status(running=True)
    fresh.state.running.started_at = datetime.now(UTC)
    fake_api.pods = [pod("api-1-a", fresh, owners=[owner("ReplicaSet", "api-1", "uid-rs")])]


def test_a_container_that_exits_right_after_the_rollout_still_fails_the_wait(
    tmp_path: Path, fake_api: FakeKubeApi, clock: FakeClock,
) -> None:
    rolled_out_just_now(fake_api)
    fake_api.logs[("api-1-a", "api", False)] = "config missing: API_KEY"
    waiting, _ = make(tmp_path)

    def kubelet_reports_the_exit(seconds: float) -> None:
        FakeClock.sleep(clock, seconds)
        fake_api.pods[0].status.container_statuses = [container_status(exit_code=1)]

    clock.sleep = kubelet_reports_the_exit  # type: ignore[method-assign]
    with pytest.raises(ManifestError) as failure:
        waiting.wait_ready()

    assert (failure.value.reason, failure.value.logs) == ("CrashLoopBackOff", "config missing: API_KEY")
    assert waiting.ready_after == {"Deployment/api": 0.0}  # it did pass the rollout first


def test_settling_after_the_rollout_is_bounded(
    tmp_path: Path, fake_api: FakeKubeApi, clock: FakeClock,
) -> None:
    rolled_out_just_now(fake_api)
    waiting, _ = make(tmp_path)

    waiting.wait_ready()

    assert sum(clock.sleeps) == SETTLE


def test_a_job_is_checked_even_with_nothing_to_wait_for(
    tmp_path: Path, fake_api: FakeKubeApi, clock: FakeClock,
) -> None:
    fake_api.jobs["migrate"] = job("migrate", "uid-job", failed="BackoffLimitExceeded")
    text = f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: migrate, namespace: {NS}}}\n"
    waiting, path = make(tmp_path, text)

    with pytest.raises(ManifestError) as failure:
        waiting.wait_ready()

    assert (failure.value.obj, failure.value.reason, failure.value.path) == ("Job/migrate", "Failed", path)
    assert str(failure.value).startswith(f"{path}:1: Job/migrate in namespace {NS}: Failed (no pod)")


def test_the_timeout_names_the_file_of_what_was_not_ready(
    tmp_path: Path, fake_api: FakeKubeApi, clock: FakeClock,
) -> None:
    fake_api.deployments["api"] = deployment("api", "uid-dep")  # no pods at all: nothing to judge
    waiting, path = make(tmp_path)
    waiting.timeout = 3

    with pytest.raises(ManifestError) as failure:
        waiting.wait_ready()

    assert str(failure.value).startswith(f"not ready after 3s: Deployment/api ({path}:5). Warnings: none")
    err = failure.value
    assert (err.reason, err.obj, err.path) == ("NotReady", "Deployment/api", path)
