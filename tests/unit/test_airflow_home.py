"""The isolated Airflow home only touches environment variables, and gives them back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from airflow_e2e_harness.airflow.home import AirflowHome
from airflow_e2e_harness.airflow.runner import to_logical_date


def test_each_dag_folder_becomes_a_bundle_and_env_is_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", "/users/own/home")
    (tmp_path / "a" / "dags").mkdir(parents=True)
    (tmp_path / "b" / "dags").mkdir(parents=True)
    bundles_before = os.environ.get("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST")
    home = AirflowHome(tmp_path / "home")
    with home:
        assert os.environ["AIRFLOW_HOME"] == str(tmp_path / "home")
        assert home.add_dag_folder(tmp_path / "a" / "dags") == "a-dags"
        assert home.add_dag_folder(tmp_path / "b" / "dags") == "b-dags"
        assert home.add_dag_folder(tmp_path / "a" / "dags") == "a-dags"
        bundles = json.loads(os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
        assert [b["kwargs"]["path"] for b in bundles] == [
            str(tmp_path / "a" / "dags"), str(tmp_path / "b" / "dags"),
        ]
    assert os.environ["AIRFLOW_HOME"] == "/users/own/home"
    assert os.environ.get("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST") == bundles_before


def test_missing_dag_folder_is_a_clear_error(tmp_path: Path) -> None:
    with AirflowHome(tmp_path / "home") as home, pytest.raises(FileNotFoundError, match="does not exist"):
        home.add_dag_folder(tmp_path / "nope")


@pytest.mark.parametrize(
    "value", ["2026-01-05", "2026-01-05T00:00:00+00:00"],
)
def test_logical_dates_are_midnight_utc(value: str) -> None:
    when = to_logical_date(value)
    assert (when.year, when.month, when.day, when.hour) == (2026, 1, 5, 0)
    assert when.utcoffset().total_seconds() == 0
