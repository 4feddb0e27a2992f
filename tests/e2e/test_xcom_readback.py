"""read_xcoms (and RunResult.xcoms) hold what downstream tasks receive, checked against a real one.

Pure-Python DAGs run with ``dag.test()`` in the session's private Airflow home: no Docker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_e2e_harness.airflow.home import AirflowHome
from airflow_e2e_harness.airflow.runner import DagRunner, RunResult
from airflow_e2e_harness.airflow.xcoms import read_xcoms
from airflow_e2e_harness.session import E2ESession
from tests.e2e.expected import PROBE_DS, XCOMS_DAGS

pytestmark = [pytest.mark.e2e]

SINGLE = ["json_string", "numeric_string", "null_string", "a_dict", "a_list", "nothing", "an_int",
          "a_float", "a_bool", "a_tuple"]


Xcoms = dict[str, dict[str, Any]]


def run_and_read(home: AirflowHome, artifacts: Path, dag_id: str) -> tuple[RunResult, Xcoms]:
    """Run ``dag_id`` once through DagRunner, then read its XComs off the DagRun opened by run_id."""
    result = DagRunner(home, artifacts).run(XCOMS_DAGS, dag_id, PROBE_DS)
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        dag_run = session.scalars(select(DagRun).filter_by(dag_id=dag_id, run_id=result.run_id)).one()
        return result, read_xcoms(dag_run, session)


def seen(value: object) -> list[str]:
    return [repr(value), type(value).__name__]


def test_xcoms_are_what_a_downstream_task_receives(
    airflow_e2e: E2ESession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "received.json"
    monkeypatch.setenv("PYTHON_XCOMS_OUT", str(out))
    result, xcoms = run_and_read(airflow_e2e.home, tmp_path / "artifacts", "python_xcoms")
    result.raise_for_failures()
    received = json.loads(out.read_text())

    for task in SINGLE:
        assert seen(xcoms[task].get("return_value")) == received[task], task
    assert [seen(xcoms[f"mapped[{i}]"]["return_value"]) for i in range(3)] == received["mapped"]
    assert seen(xcoms["several"]["count"]) == received["several.count"]
    assert seen(xcoms["several"]["names"]) == received["several.names"]
    # The runner's RunResult reads the same way.
    assert {task: t.xcoms for task, t in result.tasks.items()} == xcoms

    # Stated outright, independently of the downstream task:
    assert xcoms["json_string"]["return_value"] == '{"file": "a.txt", "total": 3}'
    assert xcoms["numeric_string"]["return_value"] == "42"
    assert xcoms["null_string"]["return_value"] == "null"
    assert xcoms["a_dict"] == {  # `-> dict` makes @task infer multiple_outputs
        "rows": 42, "nested": {"ok": True}, "return_value": {"rows": 42, "nested": {"ok": True}},
    }
    assert xcoms["a_list"]["return_value"] == [1, "two", None]
    assert xcoms["nothing"] == {}  # None is never pushed; a downstream pull then gets None
    assert type(xcoms["an_int"]["return_value"]) is int and xcoms["an_int"]["return_value"] == 7
    assert type(xcoms["a_float"]["return_value"]) is float and xcoms["a_float"]["return_value"] == 2.5
    assert xcoms["a_bool"]["return_value"] is False
    assert type(xcoms["a_tuple"]["return_value"]) is tuple and xcoms["a_tuple"]["return_value"] == (1, 2)
    assert [xcoms[f"mapped[{i}]"]["return_value"] for i in range(3)] == ["10", "20", "30"]
    assert xcoms["several"] == {
        "count": "3", "names": ["a", "b"], "return_value": {"count": "3", "names": ["a", "b"]},
    }
    assert xcoms["receive"] == {}
    assert result.xcoms["json_string"] == '{"file": "a.txt", "total": 3}'


def test_failure_behind_an_all_done_cleanup_is_not_ok(airflow_e2e: E2ESession, tmp_path: Path) -> None:
    result, xcoms = run_and_read(airflow_e2e.home, tmp_path / "artifacts", "teardown_hides_failure")

    assert result.state == "success"  # Airflow's own verdict: the leaf task succeeded
    assert result.states == {"load": "failed", "cleanup": "success"}
    assert xcoms == {"load": {}, "cleanup": {"return_value": "cleaned"}}
    assert not result.ok
    with pytest.raises(AssertionError, match="the warehouse refused the batch"):
        result.raise_for_failures()
