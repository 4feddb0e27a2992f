"""The wait policy: short intervals only where DAGs kept the defaults; the settling completion wait
against a fake pod manager (no cluster)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

from airflow_e2e_harness.k8s_waits import COMPLETION_POLL, SHORT_INTERVALS, settle_then_await, shorten


@pytest.fixture(scope="module")
def operators() -> Any:
    # Imported here: the plugin has pointed Airflow at the private home by now.
    from airflow.providers.cncf.kubernetes.operators.job import KubernetesJobOperator
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.sdk import DAG

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
    assert operators.default.startup_check_interval_seconds == 0.25
    assert operators.default.poll_interval == SHORT_INTERVALS["poll_interval"]
    assert set(changed) == {"startup_check_interval_seconds", "base_container_status_polling_interval",
                            "poll_interval"}


def test_intervals_the_dag_chose_stay(operators: Any) -> None:
    shorten(operators.chosen)
    assert operators.chosen.startup_check_interval_seconds == 7
    assert operators.chosen.poll_interval == 3
    assert operators.chosen.base_container_status_polling_interval == 0.25  # left at its default: shortened


def test_mapped_tasks_get_them_through_partial_kwargs(operators: Any) -> None:
    shorten(operators.mapped)
    assert operators.mapped.partial_kwargs["startup_check_interval_seconds"] == 0.25


def test_jobs_poll_their_status_sooner(operators: Any) -> None:
    assert shorten(operators.job)["job_poll_interval"] == SHORT_INTERVALS["job_poll_interval"]


class FakePodManager:
    """A pod that is Running for ``running_reads`` reads, then Succeeded."""

    def __init__(self, running_reads: int) -> None:
        self.reads = 0
        self.running_reads = running_reads
        self.handed_over_at: int | None = None

    def read_pod(self, pod: Any) -> Any:
        self.reads += 1
        phase = "Running" if self.reads <= self.running_reads else "Succeeded"
        return SimpleNamespace(status=SimpleNamespace(phase=phase, container_statuses=[]))

    def provider_await(self, pod: Any, *args: Any, **kwargs: Any) -> str:
        self.handed_over_at = self.reads
        return "remote pod"


def test_completion_wait_settles_then_hands_over_to_the_provider() -> None:
    fake = FakePodManager(running_reads=3)
    wait = settle_then_await(fake, fake.provider_await)
    start = time.monotonic()
    assert wait(SimpleNamespace(), False, "base", False) == "remote pod"
    took = time.monotonic() - start
    assert fake.handed_over_at == 4, "handed over at the first read that saw the pod finished"
    assert took < 3 * COMPLETION_POLL + 1.0  # the provider's own loop sleeps 2 s per read
