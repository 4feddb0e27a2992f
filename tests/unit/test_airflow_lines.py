"""The adapter per Airflow line: chosen by the installed line, and an unsupported line fails at
session start naming what to install (the installed line is faked by monkeypatching)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_e2e_harness.airflow import lines
from airflow_e2e_harness.airflow.home import AirflowHome
from tests.airflow_lines import AIRFLOW_2


@pytest.fixture
def fake_line(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    lines.current.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    lines.current.cache_clear()


def test_the_installed_line_gets_its_adapter() -> None:
    adapter = lines.current()
    assert isinstance(adapter, lines.Airflow2) is AIRFLOW_2
    assert adapter.core_version not in ("", "unknown")  # the cached metadata DB is named by it


@pytest.mark.parametrize(("line", "adapter"), [("2.11", lines.Airflow2), ("3.1", lines.Airflow3),
                                               ("3.3", lines.Airflow3), ("3.4", lines.Airflow3)])
def test_each_supported_or_later_line_gets_the_adapter_of_its_generation(
    fake_line: pytest.MonkeyPatch, line: str, adapter: type,
) -> None:
    fake_line.setattr(lines, "airflow_line", lambda: line)
    assert type(lines.current()) is adapter


def test_an_older_airflow_fails_at_session_start_naming_what_to_install(
    fake_line: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    fake_line.setattr(lines, "airflow_line", lambda: "2.10")
    with pytest.raises(lines.UnsupportedAirflow, match=r"supports Airflow 2\.11, 3\.1, 3\.2, 3\.3"):
        AirflowHome(tmp_path / "home").start()


def test_hints_come_from_the_adapter_of_the_line() -> None:
    from airflow_e2e_harness.airflow.hints import hints_here

    sdk_missing = "ModuleNotFoundError: No module named 'airflow.sdk'"
    assert any("Airflow 2.11 has no task SDK" in hint for hint in lines.Airflow2().hints(sdk_missing))
    assert lines.Airflow3().hints(sdk_missing) == []
    old_dag = "TypeError: DAG.__init__() got an unexpected keyword argument 'schedule_interval'"
    assert any("schedule=" in hint for hint in lines.Airflow3().hints(old_dag))
    assert lines.Airflow2().hints(old_dag) == []
    assert hints_here(sdk_missing) == lines.current().hints(sdk_missing)


def test_only_airflow_2_dedupes_its_console_while_a_run_is_captured() -> None:
    task_logger = logging.getLogger("airflow.task")
    before = list(task_logger.handlers)
    with lines.Airflow3().console_dedupe():
        assert task_logger.handlers == before
    with lines.Airflow2().console_dedupe():
        assert len(task_logger.handlers) == len(before) + 1  # the stand-in for dag.test()'s console handler
    assert task_logger.handlers == before
    assert lines.Airflow2.root_console_follows_stdout and not lines.Airflow3.root_console_follows_stdout


def test_the_task_runner_function_is_asked_of_the_adapter() -> None:
    assert lines.Airflow3().task_runner_function is None  # every frame of the runner's module
    expected = "_run_raw_task" if AIRFLOW_2 else None
    assert lines.current().task_runner_function == expected
