"""The wait policy: short intervals only where DAGs kept the defaults; the settling completion wait
against a fake pod manager (no cluster)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

from airflow_e2e_harness.policies import k8s_waits
from airflow_e2e_harness.policies.k8s_waits import (
    COMPLETION_POLL,
    LOG_RESUME_WAIT,
    PATCHED,
    SHORT_INTERVALS,
    KubernetesWaits,
    LogFollowSettle,
    settle_then_await,
    shorten,
)
from tests.unit.fake_clock import FakeClock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(k8s_waits, "time", fake)
    return fake


@pytest.fixture(scope="module")
def operators() -> Any:
    # Imported here: the plugin has pointed Airflow at the private home by now.
    from airflow import DAG  # Airflow 2.11 and 3.x alike
    from airflow.providers.cncf.kubernetes.operators.job import KubernetesJobOperator
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    dag = DAG("waits", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"))
    return SimpleNamespace(
        default=KubernetesPodOperator(task_id="default", image="x", dag=dag),
        chosen=KubernetesPodOperator(task_id="chosen", image="x", startup_check_interval_seconds=7,
                                     poll_interval=3, dag=dag),
        mapped=KubernetesPodOperator.partial(task_id="mapped", image="x", dag=dag).expand(arguments=[["a"]]),
        job=KubernetesJobOperator(task_id="job", image="x", dag=dag),
    )


def test_defaults_are_shortened(operators: Any) -> None:
    changed = shorten(operators.default)
    assert operators.default.startup_check_interval_seconds == 0.1
    assert operators.default.poll_interval == SHORT_INTERVALS["poll_interval"]
    assert set(changed) == {"startup_check_interval_seconds", "base_container_status_polling_interval",
                            "poll_interval"}


def test_intervals_the_dag_chose_stay(operators: Any) -> None:
    shorten(operators.chosen)
    assert operators.chosen.startup_check_interval_seconds == 7
    assert operators.chosen.poll_interval == 3
    assert operators.chosen.base_container_status_polling_interval == 0.1  # left at its default: shortened


def test_mapped_tasks_get_them_through_partial_kwargs(operators: Any) -> None:
    shorten(operators.mapped)
    assert operators.mapped.partial_kwargs["startup_check_interval_seconds"] == 0.1


def test_jobs_poll_their_status_sooner(operators: Any) -> None:
    assert shorten(operators.job)["job_poll_interval"] == SHORT_INTERVALS["job_poll_interval"]


def pod(phase: str, base: str = "running") -> Any:
    """A real V1Pod object (the provider's own checks read it) in ``phase``, its base container
    ``running`` or ``terminated``."""
    from kubernetes.client import (
        V1ContainerState,
        V1ContainerStateRunning,
        V1ContainerStateTerminated,
        V1ContainerStatus,
        V1ObjectMeta,
        V1Pod,
        V1PodStatus,
    )

    state = (V1ContainerState(running=V1ContainerStateRunning()) if base == "running"
             else V1ContainerState(terminated=V1ContainerStateTerminated(exit_code=0)))
    status = V1ContainerStatus(name="base", image="x", image_id="", ready=False, restart_count=0,
                               state=state)
    return V1Pod(metadata=V1ObjectMeta(name="p"),
                 status=V1PodStatus(phase=phase, container_statuses=[status]))


class FakePodManager:
    """Serves the given pod states one read after the other (the last one from then on)."""

    def __init__(self, *states: Any) -> None:
        self.states = list(states)
        self.reads = 0
        self.handed_over_at: int | None = None

    def read_pod(self, pod: Any) -> Any:
        self.reads += 1
        return self.states[min(self.reads, len(self.states)) - 1]

    def provider_await(self, pod: Any, *args: Any, **kwargs: Any) -> str:
        self.handed_over_at = self.reads
        return "remote pod"


def test_completion_wait_settles_then_hands_over_to_the_provider(clock: FakeClock) -> None:
    fake = FakePodManager(pod("Running"), pod("Running"), pod("Running"), pod("Succeeded", "terminated"))
    wait = settle_then_await(fake, fake.provider_await)
    assert wait(SimpleNamespace(), False, "base", False) == "remote pod"
    assert fake.handed_over_at == 4, "handed over at the first read that saw the pod finished"
    assert clock.sleeps == [COMPLETION_POLL] * 3, "a short poll per unfinished read, not 2 s"


def test_completion_wait_without_a_sidecar_waits_for_the_final_phase() -> None:
    # The base container has ended, but the kubelet sets the phase a second later: the provider's
    # loop would read "Running" and sleep 2 s, so the settle loop must not hand over yet.
    ended = pod("Running", "terminated")
    fake = FakePodManager(ended, ended, pod("Succeeded", "terminated"))
    settle_then_await(fake, fake.provider_await)(SimpleNamespace(), False, "base", False)
    assert fake.handed_over_at == 3


def test_completion_wait_with_a_sidecar_stops_at_the_base_container() -> None:
    fake = FakePodManager(pod("Running"), pod("Running", "terminated"))  # the sidecar keeps it Running
    settle_then_await(fake, fake.provider_await)(SimpleNamespace(), False, "base", True)
    assert fake.handed_over_at == 2


class FakeFollower:
    """The provider's log follower, reduced to its question: is the container still running?"""

    def __init__(self, running_answers: int) -> None:
        self.asked = 0
        self.running_answers = running_answers

    def is_running(self, manager: Any, pod: Any, container_name: str) -> bool:
        self.asked += 1
        return self.asked <= self.running_answers

    def fetch(self, manager: Any, pod: Any, container_name: str, **kwargs: Any) -> bool:
        return self.settle.container_is_running(manager, pod, container_name)


def follower(running_answers: int) -> FakeFollower:
    fake = FakeFollower(running_answers)
    fake.settle = LogFollowSettle(fake.fetch, fake.is_running)
    return fake


def test_log_follow_end_sees_the_container_stop_without_the_providers_second(clock: FakeClock) -> None:
    fake = follower(running_answers=2)
    assert fake.settle.fetch_container_logs(None, "pod", "base", follow=True) is False
    assert fake.asked == 3
    assert clock.sleeps == [COMPLETION_POLL] * 2, "a short poll after each stale answer, not a second"


def test_log_follow_of_a_container_that_keeps_running_answers_after_the_same_second(clock: FakeClock) -> None:
    fake = follower(running_answers=100)
    assert fake.settle.fetch_container_logs(None, "pod", "base", follow=True) is True
    waited = sum(clock.sleeps)
    assert LOG_RESUME_WAIT - 1e-6 <= waited < LOG_RESUME_WAIT + COMPLETION_POLL, clock.sleeps  # float sums


def test_sidecar_and_unfollowed_questions_are_answered_at_once() -> None:
    from airflow.providers.cncf.kubernetes.utils.xcom_sidecar import PodDefaults

    SIDECAR = PodDefaults.SIDECAR_CONTAINER_NAME  # noqa: N806 - the provider's constant
    sidecar = follower(running_answers=100)
    assert sidecar.settle.fetch_container_logs(None, "pod", SIDECAR, follow=True) is True
    assert sidecar.asked == 1
    unfollowed = follower(running_answers=100)
    assert unfollowed.settle.fetch_container_logs(None, "pod", "base", follow=False) is True
    assert unfollowed.asked == 1
    outside = follower(running_answers=100)
    assert outside.settle.container_is_running(None, "pod", "base") is True
    assert outside.asked == 1


def test_installed_waits_bind_to_the_pod_manager_they_are_called_on() -> None:
    from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager

    waits = KubernetesWaits()
    originals = {name: PodManager.__dict__[name] for name in PATCHED}
    manager = PodManager(kube_client=None)
    manager.read_pod = lambda pod: pod  # type: ignore[method-assign]  # no cluster: the pod is its own read
    waits.install()
    try:
        assert manager.container_is_running(pod("Running"), "base") is True
        assert manager.container_is_running(pod("Succeeded", "terminated"), "base") is False
        assert manager.await_pod_completion(pod("Succeeded", "terminated")).status.phase == "Succeeded"
    finally:
        waits.uninstall()
    assert {name: PodManager.__dict__[name] for name in PATCHED} == originals
