"""RunResult.xcoms holds what downstream tasks receive, checked against a real downstream task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_e2e_harness.session import E2ESession
from tests.e2e.expected import PROBE_DS, XCOMS_DAGS

pytestmark = [pytest.mark.e2e]

SINGLE = ["json_string", "numeric_string", "null_string", "a_dict", "a_list", "nothing", "an_int",
          "a_float", "a_bool", "a_tuple"]


def seen(value: object) -> list[str]:
    return [repr(value), type(value).__name__]


def test_xcoms_are_what_a_downstream_task_receives(airflow_e2e: E2ESession, tmp_path: Path) -> None:
    out = tmp_path / "received.json"
    with airflow_e2e.docker(dags=XCOMS_DAGS, env={"PYTHON_XCOMS_OUT": str(out)}) as env:
        result = env.run("python_xcoms", PROBE_DS)
    result.raise_for_failures()
    received = json.loads(out.read_text())

    for task in SINGLE:
        assert seen(result.xcoms[task]) == received[task], task
    assert [seen(result.xcoms[f"mapped[{i}]"]) for i in range(3)] == received["mapped"]
    several = result.tasks["several"].xcoms
    assert seen(several["count"]) == received["several.count"]
    assert seen(several["names"]) == received["several.names"]

    # Stated outright, independently of the downstream task:
    assert result.xcoms["json_string"] == '{"file": "a.txt", "total": 3}'
    assert result.xcoms["numeric_string"] == "42"
    assert result.xcoms["null_string"] == "null"
    assert result.xcoms["nothing"] is None
    assert result.xcoms["a_tuple"] == (1, 2)
    assert [result.xcoms[f"mapped[{i}]"] for i in range(3)] == ["10", "20", "30"]
    assert several == {"count": "3", "names": ["a", "b"], "return_value": {"count": "3", "names": ["a", "b"]}}


def test_failure_behind_an_all_done_cleanup_is_not_ok(airflow_e2e: E2ESession) -> None:
    with airflow_e2e.docker(dags=XCOMS_DAGS) as env:
        result = env.run("teardown_hides_failure", PROBE_DS)

    assert result.state == "success"  # Airflow's own verdict: the leaf task succeeded
    assert result.states == {"load": "failed", "cleanup": "success"}
    assert not result.ok
    with pytest.raises(AssertionError, match="the warehouse refused the batch"):
        result.raise_for_failures()
