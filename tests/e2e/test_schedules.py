"""Scheduled runs, catchup order and the drift report, on a cron data-interval timetable and a
cron trigger timetable (scenarios/schedules).

Expected intervals, run ids and outputs are written out from Airflow's documented
timetable semantics, not computed by the harness: a CronDataIntervalTimetable's
scheduled run of D covers [D, D+1) and is created at D+1; ``dag.test()``'s manual run
of D covers [D-1, D); a CronTriggerTimetable's runs cover the trigger time alone.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airflow_e2e_harness import NotOnSchedule
from airflow_e2e_harness.airflow.schedule_drift import HISTORY, IDENTITY, INTERVAL, RUN_TYPE
from airflow_e2e_harness.environment import DockerEnvironment
from tests.airflow_lines import AIRFLOW_2

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

DATA_INTERVAL, CRON_TRIGGER = "export_data_interval", "export_cron_trigger"


def ts(day: int, hour: int = 0, minute: int = 0) -> str:
    return f"2026-01-{day:02d}T{hour:02d}:{minute:02d}:00+00:00"


def exported(start: str, end: str, run_type: str, previous: str = "none") -> str:
    return f"exported {start} to {end} ({run_type}), previous: {previous}"


def test_a_scheduled_run_gets_the_interval_the_scheduler_gives(schedules_docker: DockerEnvironment) -> None:
    result = schedules_docker.run_scheduled(DATA_INTERVAL, "2026-01-05")
    result.raise_for_failures()

    assert result.run_type == "scheduled"
    # Airflow 3 names the run by when it is created (the interval's end), 2.11 by its logical date.
    assert result.run_id == f"scheduled__{ts(5 if AIRFLOW_2 else 6)}"
    assert result.data_interval == (datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC))
    assert result.xcoms["export"] == exported(ts(5), ts(6), "scheduled")
    written = schedules_docker.data_dir / DATA_INTERVAL / f"{ts(5)}_{ts(6)}.txt"
    assert written.read_text().splitlines()[:3] == [f"start={ts(5)}", f"end={ts(6)}", "run_type=scheduled"]
    assert not [f for f in result.findings if "schedule" in f], result.findings


def test_a_manual_run_says_where_it_differs_and_the_report_matches_the_real_difference(
    schedules_docker: DockerEnvironment,
) -> None:
    manual = schedules_docker.run(DATA_INTERVAL, "2026-01-05")
    manual.raise_for_failures()
    assert manual.run_type == "manual"
    assert manual.xcoms["export"] == exported(ts(4), ts(5), "manual")  # the day before
    findings = "\n".join(manual.findings)
    assert f"export.command uses data_interval_start: {ts(4)} under dag.test(), {ts(5)}" in findings, findings
    assert f"export.command uses data_interval_end: {ts(5)} under dag.test(), {ts(6)}" in findings, findings
    assert "export.command uses dag_run.run_type: manual under dag.test(), scheduled" in findings, findings

    drift = schedules_docker.schedule_drift(DATA_INTERVAL, "2026-01-05")
    scheduled = schedules_docker.run_scheduled(DATA_INTERVAL, "2026-01-05")
    # What Airflow itself rendered in the two runs, field by field, against what the report predicted.
    rendered_differently = {
        (task, name)
        for task, fields in scheduled.rendered.items()
        for name, value in fields.items()
        if manual.rendered[task].get(name) != value
    }
    predicted = {(d.task_id, d.field) for d in drift.of_kind(INTERVAL, RUN_TYPE, IDENTITY)}
    assert rendered_differently == {("export", "command")}, scheduled.rendered
    assert predicted == rendered_differently, drift.describe()
    assert {d.variable for d in drift.of_kind(HISTORY)} == {"prev_data_interval_start_success"}


def test_catchup_runs_the_range_in_order_each_seeing_the_one_before(
    schedules_docker: DockerEnvironment,
) -> None:
    # From the DAG's start date: no earlier run exists, whatever else this session ran.
    results = schedules_docker.run_catchup(DATA_INTERVAL, "2026-01-01", "2026-01-03")

    assert [r.logical_date.day for r in results] == [1, 2, 3]
    assert [r.run_type for r in results] == ["scheduled"] * 3
    assert [r.xcoms["export"] for r in results] == [
        exported(ts(1), ts(2), "scheduled", previous="none"),
        exported(ts(2), ts(3), "scheduled", previous=ts(1)),
        exported(ts(3), ts(4), "scheduled", previous=ts(2)),
    ], [r.describe() for r in results]
    written = sorted(p.name for p in (schedules_docker.data_dir / DATA_INTERVAL).glob("2026-01-0[1-3]*"))
    assert written == [f"{ts(d)}_{ts(d + 1)}.txt" for d in (1, 2, 3)]


def test_a_cron_trigger_run_covers_its_trigger_time_in_both_kinds_of_run(
    schedules_docker: DockerEnvironment,
) -> None:
    result = schedules_docker.run_scheduled(CRON_TRIGGER, "2026-01-05T06:30:00+00:00")
    result.raise_for_failures()
    assert result.run_id == f"scheduled__{ts(5, 6, 30)}"
    assert result.xcoms["export"].startswith(f"exported {ts(5, 6, 30)} to {ts(5, 6, 30)} (scheduled)")

    drift = schedules_docker.schedule_drift(CRON_TRIGGER, "2026-01-05T06:30:00+00:00")
    assert not drift.interval_differs
    assert {d.variable for d in drift.of_kind(INTERVAL)} == set(), drift.describe()
    assert {d.variable for d in drift.of_kind(RUN_TYPE)} == {"dag_run.run_type"}


def test_a_date_the_schedule_never_produces_is_refused_naming_its_neighbours(
    schedules_docker: DockerEnvironment,
) -> None:
    with pytest.raises(NotOnSchedule, match=r"2026-01-04T06:30:00\+00:00 and 2026-01-05T06:30:00\+00:00"):
        schedules_docker.run_scheduled(CRON_TRIGGER, "2026-01-05")
    with pytest.raises(NotOnSchedule, match="before its start_date"):
        schedules_docker.run_scheduled(DATA_INTERVAL, "2025-12-31")
