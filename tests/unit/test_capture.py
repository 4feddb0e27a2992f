"""Splitting a dag.test() log into per-task logs (no Airflow needed)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

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
