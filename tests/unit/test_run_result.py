"""RunResult's verdicts, on results built by hand (no Airflow run)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_e2e_harness.airflow.runner import DagRunFailed, RunResult, TaskResult

WHEN = datetime(2026, 1, 5, tzinfo=UTC)


def result(dag_state: str, **states: str | None) -> RunResult:
    run = RunResult("etl", WHEN, "manual__x", dag_state)
    for task_id, state in states.items():
        run.tasks[task_id] = TaskResult(task_id, state, None, f"log of {task_id}\nlast line of {task_id}")
    return run


def test_all_succeeded_is_ok() -> None:
    run = result("success", extract="success", maybe="skipped")
    assert run.ok
    run.raise_for_failures()  # nothing to raise


def test_failure_behind_an_all_done_teardown_is_not_ok_though_the_dagrun_succeeded() -> None:
    run = result("success", extract="failed", load="upstream_failed", cleanup="success")
    assert run.state == "success"  # the DagRun's own verdict stays available
    assert not run.ok
    assert [t.task_id for t in run.failed_tasks()] == ["extract", "load"]


def test_raise_for_failures_names_every_failing_task_with_its_log_tail() -> None:
    run = result("failed", extract="failed", load="upstream_failed", other="success")
    with pytest.raises(DagRunFailed) as raised:
        run.raise_for_failures()
    message = str(raised.value)
    assert "--- extract: failed" in message and "last line of extract" in message
    assert "--- load: upstream_failed" in message
    assert "last line of other" not in message
    assert raised.value.result is run
    assert isinstance(raised.value, AssertionError)  # pytest reports a test failure, not an error


def test_a_task_that_never_ran_is_not_ok() -> None:
    assert not result("success", extract="success", load=None).ok
