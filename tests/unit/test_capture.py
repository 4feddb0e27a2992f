"""Splitting a dag.test() log into per-task logs, and the tee per Airflow line (no Airflow run needed)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from airflow_e2e_harness.airflow import capture, lines
from airflow_e2e_harness.airflow.capture import split_by_task, tee_output

LOG = """\
preamble
info [DAG TEST] starting task_id=fetch map_index=-1 [x]
fetch line
info [DAG TEST] end task task_id=fetch map_index=-1 [x]
between
info [DAG TEST] starting task_id=rank map_index=2 [x]
rank line
info [DAG TEST] end task task_id=rank map_index=2 [x]
"""


def test_split_assigns_lines_between_markers() -> None:
    logs = split_by_task(LOG)
    assert set(logs) == {"fetch", "rank[2]"}
    assert "fetch line" in logs["fetch"] and "rank line" not in logs["fetch"]
    assert "between" not in logs["fetch"] + logs["rank[2]"]


def test_tee_keeps_prints_and_log_records_and_restores_streams(tmp_path: Path) -> None:
    before = sys.stdout
    with tee_output(tmp_path / "run.log"):
        print("printed")
        logging.getLogger("some.task").warning("logged %s", "record")
    assert sys.stdout is before
    text = (tmp_path / "run.log").read_text()
    assert "printed" in text and "logged record" in text


class FollowsStdout(logging.StreamHandler):  # type: ignore[type-arg]
    """Like Airflow 2.11's RedirectStdHandler: writes to whatever sys.stdout is."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stdout

    @stream.setter
    def stream(self, value: object) -> None:
        pass


@pytest.mark.parametrize("adapter", [lines.Airflow2, lines.Airflow3])
def test_a_root_handler_on_the_tee_is_the_only_copy_on_airflow_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, adapter: type[lines.Airflow3],
) -> None:
    monkeypatch.setattr(capture, "airflow_adapter", adapter)
    root, task_logger = logging.getLogger(), logging.getLogger("airflow.task")
    handler = FollowsStdout()
    handler.setFormatter(logging.Formatter("follows: %(message)s"))
    root.addHandler(handler)
    try:
        with tee_output(tmp_path / "run.log"):
            logging.getLogger("some.task").warning("logged once")
            stand_ins = [h for h in task_logger.handlers if isinstance(h, capture._ConsoleStandIn)]
    finally:
        root.removeHandler(handler)
    text = (tmp_path / "run.log").read_text()
    assert text.count("follows: logged once") == 1
    assert ("warning  logged once [some.task]" in text) is (adapter is lines.Airflow3)  # the tee's own copy
    assert len(stand_ins) == (adapter is lines.Airflow2)  # dag.test()'s second console handler stays out
    assert not [h for h in task_logger.handlers if isinstance(h, capture._ConsoleStandIn)]
