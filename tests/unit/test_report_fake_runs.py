"""The run report's page from made-up runs (no Airflow run): placement of the bars, escaping, and
what each task shows. The page in a real browser is tested end to end in test_report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow_e2e_harness.airflow.report import render, write_report
from airflow_e2e_harness.airflow.runner import RunResult, TaskResult

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def run() -> RunResult:
    result = RunResult("etl_daily", datetime(2026, 1, 5, tzinfo=UTC), "manual__1", "failed", seconds=4.0)
    result.tasks["extract"] = TaskResult(
        "extract", "success", {"rows": 42}, "The Pod has an Event: Pulled image from None\nok\n",
        1, {"return_value": {"rows": 42}}, None, {"arguments": ["--date", "2026-01-05"]},
        T0, T0 + timedelta(seconds=1),
    )
    result.tasks["load"] = TaskResult(
        "load", "failed", None, "<script>alert(1)</script> boom", 2, {}, None, {},
        T0 + timedelta(seconds=1), T0 + timedelta(seconds=4),
    )
    result.tasks["notify"] = TaskResult("notify", "upstream_failed", None, "", 0, {}, None, {})
    return result


def test_bars_sit_where_the_tasks_ran() -> None:
    page = render([run()], "session x")
    assert 'left:0.00%;width:25.00%' in page  # extract: the first second of four
    assert 'left:25.00%;width:75.00%' in page  # load: the other three
    assert "failed 3.0s, try 2" in page
    assert 'data-task="notify" data-state="upstream_failed"' in page  # never started: no bar width


def test_task_details_are_shown_and_escaped() -> None:
    page = render([run()], "session <x>")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; boom" in page
    assert "<title>session &lt;x&gt;</title>" in page
    assert "Pulled image" in page and "&quot;--date&quot;" in page and "&quot;rows&quot;: 42" in page


def test_no_runs_and_the_file(tmp_path: Path) -> None:
    assert "No DAG runs in this session." in render([], "empty")
    path = write_report([run()], tmp_path / "a" / "report.html", "t")
    assert path.read_text().startswith("<!DOCTYPE html>")
