"""Phases are recorded with their outcome, and the summary lists them."""

from __future__ import annotations

import io

import pytest

from airflow_e2e_harness.timing import Timer


def test_phases_and_failures_are_summarised() -> None:
    out = io.StringIO()
    timer = Timer(stream=out)
    with timer.phase("build") as phase:
        phase.note = "built"
    with pytest.raises(RuntimeError), timer.phase("run"):
        raise RuntimeError("boom")
    assert [(p.name, p.note) for p in timer.phases] == [("build", "built"), ("run", "FAILED")]
    summary = timer.summary()
    assert "build" in summary and "FAILED" in summary and "total wall time" in summary
    assert "run: failed after" in out.getvalue()
