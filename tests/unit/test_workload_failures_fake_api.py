"""Which pods of the manifests' workloads will never become ready, and the evidence read for them,
against a fake Kubernetes API (no cluster)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kubernetes import client as k8s

from airflow_e2e_harness.kubernetes import workload_failures
from airflow_e2e_harness.kubernetes.pod_watch import UNSCHEDULABLE_GRACE
from airflow_e2e_harness.kubernetes.workload_failures import (
    CRASHED,
    LOG_LINES,
    SETTLE,
    WorkloadWatch,
    container_problem,
    current_replica_sets,
    job_verdict,
    up_for,
)
from tests.unit.fake_k8s_api import (
    NS,
    T0,
    FakeKubeApi,
    container_status,
    crash_looping_api,
    deployment,
    event,
    job,
    owner,
    pod,
    replica_set,
    unschedulable_condition,
)


def doc(kind: str, name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": NS}}


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> FakeKubeApi:
    api = FakeKubeApi()
    for name in ("CoreV1Api", "AppsV1Api", "BatchV1Api"):
        monkeypatch.setattr(workload_failures.k8s, name, lambda _client, api=api: api)
    return api


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- classification ------------------------------------------------------------------------------
def test_a_container_that_exited_non_zero_and_restarted_counts_before_any_back_off() -> None:
    problem = container_problem(pod("p", container_status(running=True, last_exit=1, restarts=1)))
    assert problem is not None
    assert (problem.reason, problem.container, problem.ran, problem.previous) == (CRASHED, "api", True, True)
    assert "exited with code 1" in problem.message


def test_a_container_that_just_exited_non_zero_counts_before_its_restart() -> None:
    problem = container_problem(pod("p", container_status(exit_code=3)))
    assert problem is not None
    assert (problem.reason, problem.previous) == (CRASHED, False)  # its log is the current one


def test_crash_loop_back_off_reports_the_exit_code() -> None:
    status = container_status(waiting="CrashLoopBackOff", message="back-off 20s", last_exit=2, restarts=3)
    problem = container_problem(pod("p", status))
    assert problem is not None
    assert problem.message == "exited with code 2, restarted 3 time(s); back-off 20s"


@pytest.mark.parametrize("reason", [
    "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
])
def test_containers_that_cannot_start_count_at_once_and_have_no_log(reason: str) -> None:
    problem = container_problem(pod("p", container_status(waiting=reason, message="why")))
    assert problem is not None
    assert (problem.reason, problem.message, problem.ran) == (reason, "why", False)


def test_a_pod_that_will_not_restart_fails_with_its_termination_reason() -> None:
    problem = container_problem(pod("p", container_status(exit_code=1), restart_policy="Never"))
    assert problem is not None
    assert (problem.reason, problem.ran) == ("Error", True)


def test_healthy_pods_and_finished_init_containers_are_no_problem() -> None:
    assert container_problem(pod("p", container_status(running=True),
                                 init=[container_status("setup", exit_code=0)])) is None
    assert container_problem(pod("p", container_status(waiting="ContainerCreating"))) is None


def test_a_failing_init_container_counts() -> None:
    problem = container_problem(pod("p", container_status(waiting="PodInitializing"),
                                    init=[container_status("setup", exit_code=1)]))
    assert problem is not None
    assert problem.container == "setup"


def test_a_job_pod_exit_is_left_to_the_job_but_not_an_image_error() -> None:
    failed_attempt = pod("j", container_status(exit_code=1), restart_policy="Never")
    assert container_problem(failed_attempt, judge_exits=False) is None
    no_image = pod("j", container_status(waiting="ErrImageNeverPull"), restart_policy="Never")
    assert container_problem(no_image, judge_exits=False) is not None


def test_only_the_current_revisions_replica_set_counts() -> None:
    rs = [replica_set("api-old", "rs1", "dep", "1"), replica_set("api-new", "rs2", "dep", "2"),
          replica_set("other-x", "rs3", "someone-else", "2")]
    seen = deployment("api", "dep", revision="2", generation=2, observed=2)
    assert current_replica_sets(seen, rs) == {"rs2"}
    # The controller has not seen the applied generation: its revision annotation may be stale.
    behind = deployment("api", "dep", revision="1", generation=2, observed=1)
    assert current_replica_sets(behind, rs) == set()


def test_job_verdict_reads_the_failed_condition() -> None:
    assert job_verdict(job("j", "u")) is None
    assert job_verdict(job("j", "u", failed="BackoffLimitExceeded")) == \
        "BackoffLimitExceeded: Job has reached the specified backoff limit"


# -- the watch -----------------------------------------------------------------------------------
def test_a_crash_looping_deployment_comes_with_its_last_lines_and_events(fake_api: FakeKubeApi) -> None:
    crash_looping_api(fake_api)

    failure = WorkloadWatch(object(), [doc("Namespace", NS), doc("Deployment", "api")]).check()

    assert failure is not None
    assert (failure.label, failure.namespace, failure.problem.pod) == ("Deployment/api", NS, "api-new-y")
    assert failure.problem.reason == CRASHED  # not the old revision's ImagePullBackOff
    assert failure.logs.splitlines()[-1] == "config missing: API_KEY"
    assert len(failure.logs.splitlines()) == LOG_LINES
    assert fake_api.log_reads == [{"pod": "api-new-y", "container": "api", "previous": True,
                                   "tail_lines": LOG_LINES, "_preload_content": False}]
    assert failure.events == [  # the Deployment's and its pod's, oldest first; not other pods'
        "Deployment/api: Normal ScalingReplicaSet: Scaled up replica set api-new to 1",
        "Pod/api-new-y: Normal Started: Started container api",
        "Pod/api-new-y: Warning BackOff (x3): Back-off restarting failed container api",
    ]
    text = failure.describe()
    assert "Deployment/api in namespace shop: CrashLoopBackOff (pod api-new-y, container 'api')" in text
    assert "  | config missing: API_KEY" in text


def test_the_log_of_the_other_run_when_the_container_restarted_meanwhile(fake_api: FakeKubeApi) -> None:
    fake_api.pods = [pod("p", container_status(exit_code=1))]  # read as exited; restarted since
    fake_api.logs[("p", "api", True)] = "config missing: API_KEY"
    fake_api.logs[("p", "api", False)] = ""

    failure = WorkloadWatch(object(), [doc("Pod", "p")]).check()

    assert failure is not None
    assert failure.logs == "config missing: API_KEY"
    assert [r["previous"] for r in fake_api.log_reads] == [False, True]


def test_unschedulable_counts_once_it_held(fake_api: FakeKubeApi) -> None:
    message = "0/1 nodes are available: Insufficient cpu"
    fake_api.pods = [pod("p", conditions=[unschedulable_condition(message)])]
    clock = Clock()
    watch = WorkloadWatch(object(), [doc("Pod", "p")], clock=clock)

    assert watch.check() is None
    clock.now += UNSCHEDULABLE_GRACE
    failure = watch.check()
    assert failure is not None
    assert (failure.problem.reason, failure.problem.container, failure.logs) == ("Unschedulable", "", "")


def test_unbound_claims_are_the_waits_business_while_they_bind(fake_api: FakeKubeApi) -> None:
    message = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims"
    fake_api.pods = [pod("p", conditions=[unschedulable_condition(message)])]
    clock = Clock()
    watch = WorkloadWatch(object(), [doc("Pod", "p")], clock=clock)

    watch.check(claims_bound=False)
    clock.now += 60
    assert watch.check(claims_bound=False) is None
    assert watch.check(claims_bound=True) is None  # its grace starts now
    clock.now += UNSCHEDULABLE_GRACE
    assert watch.check(claims_bound=True) is not None


def test_a_missing_config_map_the_manifests_declare_is_not_a_finding(fake_api: FakeKubeApi) -> None:
    missing = 'configmap "api-config" not found'
    status = container_status(waiting="CreateContainerConfigError", message=missing)
    fake_api.pods = [pod("p", status)]

    assert WorkloadWatch(object(), [doc("Pod", "p"), doc("ConfigMap", "api-config")]).check() is None
    failure = WorkloadWatch(object(), [doc("Pod", "p")]).check()
    assert failure is not None
    assert failure.problem.reason == "CreateContainerConfigError"
    assert "ConfigMap or Secret" in failure.describe()


def test_a_failed_job_reports_its_failed_containers_log(fake_api: FakeKubeApi) -> None:
    mine = [owner("Job", "migrate", "uid-job")]
    fake_api.jobs["migrate"] = job("migrate", "uid-job")
    fake_api.pods = [pod("migrate-a", container_status(exit_code=1), owners=mine, restart_policy="Never")]
    fake_api.logs[("migrate-a", "api", False)] = "relation users does not exist"
    watch = WorkloadWatch(object(), [doc("Job", "migrate")])

    assert watch.check() is None  # one failed attempt: the Job may retry

    fake_api.jobs["migrate"] = job("migrate", "uid-job", failed="BackoffLimitExceeded")
    failure = watch.check()
    assert failure is not None
    assert (failure.problem.reason, failure.problem.pod, failure.logs) == \
        ("Failed", "migrate-a", "relation users does not exist")
    assert failure.problem.message.startswith("BackoffLimitExceeded")


def test_stateful_set_and_daemon_set_pods_are_matched_by_owner(fake_api: FakeKubeApi) -> None:
    fake_api.stateful_sets["db"] = k8s.V1StatefulSet(metadata=k8s.V1ObjectMeta(name="db", uid="uid-db"))
    fake_api.daemon_sets["agent"] = k8s.V1DaemonSet(metadata=k8s.V1ObjectMeta(name="agent", uid="uid-ag"))
    fake_api.pods = [
        pod("db-0", container_status(waiting="ErrImageNeverPull"),
            owners=[owner("StatefulSet", "db", "uid-x")]),  # another StatefulSet's
        pod("agent-z", container_status(waiting="InvalidImageName"),
            owners=[owner("DaemonSet", "agent", "uid-ag")]),
    ]

    failure = WorkloadWatch(object(), [doc("StatefulSet", "db"), doc("DaemonSet", "agent")]).check()

    assert failure is not None
    assert (failure.label, failure.problem.reason) == ("DaemonSet/agent", "InvalidImageName")


def test_pods_going_away_are_no_finding(fake_api: FakeKubeApi) -> None:
    fake_api.pods = [pod("p", container_status(exit_code=1), deleting=True)]
    assert WorkloadWatch(object(), [doc("Pod", "p")]).check() is None


def test_an_api_error_skips_the_namespace_for_this_poll(
    fake_api: FakeKubeApi, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise k8s.ApiException(status=403, reason="Forbidden")

    monkeypatch.setattr(fake_api, "list_namespaced_pod", refuse)
    assert WorkloadWatch(object(), [doc("Pod", "p")]).check() is None


def test_events_are_capped_to_the_most_recent(fake_api: FakeKubeApi) -> None:
    fake_api.pods = [pod("p", container_status(waiting="ErrImagePull"))]
    fake_api.events = [event("Pod", "p", "Failed", f"try {i}", seconds=i) for i in range(15)]

    failure = WorkloadWatch(object(), [doc("Pod", "p")]).check()

    assert failure is not None
    assert failure.events[0].endswith("try 5") and failure.events[-1].endswith("try 14")
    assert fake_api.event_queries == ["involvedObject.kind=Pod,involvedObject.name=p"]


def test_up_for_is_the_youngest_containers_time_running() -> None:
    younger = container_status("sidecar", running=True)
    younger.state.running.started_at = T0 + timedelta(seconds=5)
    assert up_for(pod("p", container_status(running=True), younger), T0 + timedelta(seconds=6)) == 1.0
    assert up_for(pod("p", container_status(running=True), container_status("b", waiting="x")), T0) == 0.0


def test_settled_once_the_long_running_workloads_containers_have_been_up(fake_api: FakeKubeApi) -> None:
    fake_api.pods = [pod("p", container_status(running=True))]  # started at T0
    fake_api.jobs["j"] = job("j", "uid-j")  # runs to completion: never waited to settle
    now = T0 + timedelta(seconds=SETTLE - 1)
    watch = WorkloadWatch(object(), [doc("Pod", "p"), doc("Job", "j")], wall=lambda: now)

    assert watch.check() is None and not watch.settled
    now += timedelta(seconds=1)
    assert watch.check() is None and watch.settled
    assert WorkloadWatch(object(), [doc("Job", "j")]).check() is None  # nothing to settle
