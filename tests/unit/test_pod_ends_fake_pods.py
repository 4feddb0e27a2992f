"""Why pods ended, read from fake pod objects (the kubernetes client's models, no cluster)."""

from __future__ import annotations

from kubernetes.client import models as k8s

from airflow_e2e_harness.kubernetes.pod_ends import PodEnd, PodEndWatcher, pod_ends, rejected_pod


def terminated(name: str, code: int, reason: str) -> k8s.V1ContainerStatus:
    state = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=code, reason=reason))
    return k8s.V1ContainerStatus(name=name, image="x", image_id="", ready=False, restart_count=0, state=state)


def fake_pod(statuses: list[k8s.V1ContainerStatus], phase: str = "Failed", reason: str | None = None,
             limit: str | None = "64Mi") -> k8s.V1Pod:
    resources = k8s.V1ResourceRequirements(limits={"memory": limit} if limit else None)
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="p", namespace="ns", labels={"task_id": "t"}),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", resources=resources),
                                       k8s.V1Container(name="airflow-xcom-sidecar")]),
        status=k8s.V1PodStatus(phase=phase, reason=reason, container_statuses=statuses),
    )


def test_oomkilled_names_the_limit_and_the_sidecar_is_ignored() -> None:
    pod = fake_pod([terminated("base", 137, "OOMKilled"), terminated("airflow-xcom-sidecar", 130, "Error")])
    assert pod_ends(pod) == [("base", 137, "OOMKilled", "memory limit 64Mi")]
    end = PodEnd("t", "ns", "p", "base", "OOMKilled", 137, "memory limit 64Mi")
    assert str(end) == "t: pod ns/p: container 'base' was OOMKilled (exit 137; memory limit 64Mi)"


def test_a_non_zero_exit_carries_its_last_lines() -> None:
    assert pod_ends(fake_pod([terminated("base", 3, "Error")])) == [("base", 3, "Error", "")]
    end = PodEnd("t", "ns", "p", "base", "Error", 3, "", "step 2\ncannot open input")
    assert str(end).endswith("exited 3 (Error); its last lines:\n    step 2\n    cannot open input")


def test_success_says_nothing_and_eviction_is_pod_level() -> None:
    assert pod_ends(fake_pod([terminated("base", 0, "Completed")], phase="Succeeded")) == []
    evicted = fake_pod([], reason="Evicted")
    evicted.status.message = "The node was low on resource: memory."
    assert pod_ends(evicted) == [("", None, "Evicted", "The node was low on resource: memory.")]


def test_a_rejected_pod_spec_is_read_from_the_task_log() -> None:
    log = ("kubernetes.client.exceptions.ApiException: (422)\nReason: Unprocessable Entity\n"
           "HTTP response headers: HTTPHeaderDict({'Audit-Id': '1'})\n"
           'HTTP response body: {"kind":"Status","message":"Pod \\"x\\" is invalid: spec.containers[0]'
           '.resources.requests: Invalid value: \\"128Mi\\": must be less than or equal to memory limit",'
           '"reason":"Invalid","code":422}\n')
    assert rejected_pod(log) == (
        'the API server rejected its pod (422 Unprocessable Entity): Pod "x" is invalid: spec.containers[0]'
        '.resources.requests: Invalid value: "128Mi": must be less than or equal to memory limit')
    assert rejected_pod("Task failed with exit code 3") is None


def test_a_sigkill_under_a_memory_limit_the_kubelet_did_not_call_oom_is_named_as_likely_oom() -> None:
    assert pod_ends(fake_pod([terminated("base", 137, "Error")])) == [
        ("base", 137, "Error", "killed (SIGKILL) under a memory limit of 64Mi: probably OOMKilled")]
    assert pod_ends(fake_pod([terminated("base", 137, "Error")], limit=None)) == [("base", 137, "Error", "")]


class FakeApiClient:
    """Stands in for the kubernetes ApiClient: these tests call observe() themselves, no watch runs."""


def watcher_without_threads(monkeypatch) -> PodEndWatcher:  # type: ignore[no-untyped-def]
    watcher = PodEndWatcher(FakeApiClient(), ["ns"])  # type: ignore[arg-type]
    monkeypatch.setattr(watcher, "_follow", lambda namespace, run: None)  # the threads do nothing
    return watcher


def test_a_finding_seen_after_stop_belongs_to_no_run(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    watcher = watcher_without_threads(monkeypatch)
    watcher.start()
    watcher.stop()
    watcher.observe(fake_pod([terminated("base", 3, "Error")]))
    assert watcher.messages() == []


def test_an_earlier_runs_late_event_stays_out_of_the_next_run(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    watcher = watcher_without_threads(monkeypatch)
    watcher.start()
    first = watcher._watch
    watcher.observe(fake_pod([terminated("base", 137, "OOMKilled")]))
    watcher.stop()
    assert watcher.messages() == ["t: pod ns/p: container 'base' was OOMKilled (exit 137; memory limit 64Mi)"]

    watcher.start()
    watcher.observe(fake_pod([terminated("base", 3, "Error")], limit=None), run=first)  # its thread, late
    assert watcher.messages() == []
    watcher.observe(fake_pod([terminated("base", 137, "OOMKilled")]))  # the same container, this run
    assert len(watcher.messages()) == 1
