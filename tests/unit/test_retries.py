"""Retry delays shortened on real operators; what Airflow decides about tries is not touched."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.docker.operators.docker import DockerOperator

from airflow_e2e_harness.policies.retries import FastRetries


def test_a_task_with_retries_retries_at_once() -> None:
    with DAG("d", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        task = DockerOperator(task_id="t", image="etl", retries=3, retry_delay=timedelta(minutes=5),
                              retry_exponential_backoff=True)  # a bool on 3.1, a factor on 3.3
    policy = FastRetries()

    policy.task_policy(task)

    assert task.retry_delay == timedelta(0) and not task.retry_exponential_backoff
    assert task.retries == 3
    assert policy.shortened_in("d") == {"t": "retries=3, retry_delay=300s, exponential backoff"}


def test_a_mapped_task_passes_the_shortened_delay_to_its_instances() -> None:
    with DAG("m", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
        mapped = DockerOperator.partial(task_id="each", image="etl", retries=2,
                                        retry_delay=timedelta(seconds=30)).expand(command=["a", "b"])
    FastRetries().task_policy(mapped)

    assert mapped.partial_kwargs["retry_delay"] == timedelta(0)


def test_no_retries_or_disabled_changes_nothing() -> None:
    without = DockerOperator(task_id="once", image="etl", retries=0, retry_delay=timedelta(minutes=5))
    kept = DockerOperator(task_id="kept", image="etl", retries=2, retry_delay=timedelta(minutes=5))

    FastRetries().task_policy(without)
    FastRetries(enabled=False).task_policy(kept)

    assert without.retry_delay == kept.retry_delay == timedelta(minutes=5)
