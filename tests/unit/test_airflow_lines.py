"""The adapter per Airflow line: chosen by the installed line, and an unsupported line fails at
session start naming what to install (the installed line is faked by monkeypatching)."""

from __future__ import annotations

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
