"""keep_one_execution_api: Airflow 3.1/3.2's per-task API build becomes one per process, as in 3.3
(a fake builder stands in for Airflow's, which takes seconds)."""

from __future__ import annotations

import functools

import pytest

from airflow_e2e_harness.airflow.prestart import keep_one_execution_api, restore_execution_api
from tests.airflow_lines import needs_airflow_3

pytestmark = needs_airflow_3("the in-process execution API (tasks write to the metadata DB themselves)")


def test_an_uncached_builder_is_wrapped_so_that_every_task_gets_the_same_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.sdk.execution_time import supervisor

    built: list[object] = []

    def build() -> object:  # Airflow 3.1 and 3.2: a new InProcessExecutionAPI on every call
        built.append(object())
        return built[-1]

    monkeypatch.setattr(supervisor, "in_process_api_server", build)
    assert keep_one_execution_api() is True
    first, second = supervisor.in_process_api_server(), supervisor.in_process_api_server()
    assert first is second and len(built) == 1
    assert keep_one_execution_api() is False, "wrapped once only"
    restore_execution_api()  # the session's end
    assert supervisor.in_process_api_server is build


def test_a_cached_builder_is_left_as_airflow_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.execution_time import supervisor

    cached = functools.lru_cache(maxsize=1)(object)  # Airflow 3.3's own decoration
    monkeypatch.setattr(supervisor, "in_process_api_server", cached)
    assert keep_one_execution_api() is False
    assert supervisor.in_process_api_server is cached
