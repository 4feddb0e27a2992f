"""Planning runs as the scheduler would, against Airflow's own timetables (no containers).

Expected dates are written out from the timetables' documented behaviour.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
import pytest

from airflow_e2e_harness.airflow.scheduled_runs import (
    NotOnSchedule,
    TooManyRuns,
    Unscheduled,
    manual_plan,
    scheduled_plan,
    scheduled_plans,
)
from tests.airflow_lines import AIRFLOW_2

UTC = pendulum.UTC
# Airflow 3 names a run by when it may start (run_after), Airflow 2.11 by its logical date.
SCHEDULED_5TH = f"scheduled__2026-01-0{5 if AIRFLOW_2 else 6}T00:00:00+00:00"
MANUAL_5TH_ON_20TH = "manual__2026-01-05T00:00:00+00:00" if AIRFLOW_2 else "manual__2026-01-20T00:00:00+00:00"


def at(day: int, hour: int = 0, month: int = 1, year: int = 2026) -> pendulum.DateTime:
    return pendulum.datetime(year, month, day, hour, tz=UTC)


def dag(schedule: Any, start: pendulum.DateTime | None = None, end: pendulum.DateTime | None = None) -> Any:
    from airflow import DAG  # Airflow 2.11 and 3.x alike

    return DAG(f"d{id(schedule)}", schedule=schedule, start_date=start or at(1), end_date=end)


def cron_data_interval(expression: str) -> Any:
    from airflow.timetables.interval import CronDataIntervalTimetable

    return CronDataIntervalTimetable(expression, timezone="UTC")


def cron_trigger(expression: str) -> Any:
    from airflow.timetables.trigger import CronTriggerTimetable

    return CronTriggerTimetable(expression, timezone="UTC")


def test_a_data_interval_run_covers_the_day_after_its_logical_date_and_is_created_at_its_end() -> None:
    plan = scheduled_plan(dag(cron_data_interval("0 0 * * *")), at(5))
    assert (plan.run_type, plan.logical_date, plan.data_interval) == ("scheduled", at(5), (at(5), at(6)))
    assert plan.run_after == at(6)
    assert plan.run_id == SCHEDULED_5TH


def test_dag_test_gives_the_same_logical_date_the_interval_before_it() -> None:
    plan = manual_plan(dag(cron_data_interval("0 0 * * *")), at(5), run_after=at(20))
    assert (plan.run_type, plan.data_interval) == ("manual", (at(4), at(5)))
    assert plan.run_id == MANUAL_5TH_ON_20TH


def test_a_cron_trigger_run_is_the_trigger_time_alone() -> None:
    timetable = dag(cron_trigger("30 6 * * *"))
    plan = scheduled_plan(timetable, at(5).add(hours=6, minutes=30))
    assert plan.data_interval == (at(5).add(hours=6, minutes=30),) * 2
    assert plan.run_id == "scheduled__2026-01-05T06:30:00+00:00"
    assert manual_plan(timetable, plan.logical_date, at(20)).data_interval == plan.data_interval


def test_a_range_comes_in_catchup_order_with_contiguous_intervals() -> None:
    plans = scheduled_plans(dag(cron_data_interval("0 */12 * * *")), at(5), at(6))
    assert [p.logical_date for p in plans] == [at(5), at(5, 12), at(6)]
    assert [p.data_interval for p in plans] == [(at(5), at(5, 12)), (at(5, 12), at(6)), (at(6), at(6, 12))]


def test_a_timedelta_schedule_stays_anchored_to_the_start_date() -> None:
    plans = scheduled_plans(dag(timedelta(hours=7), start=at(1, 3)), at(2), at(3))
    # 03:00 on the 1st, then every 7 hours: 10:00, 17:00, then 00:00, 07:00, 14:00, 21:00 on the 2nd
    assert [p.logical_date for p in plans] == [at(2, 0), at(2, 7), at(2, 14), at(2, 21)]


def test_an_off_schedule_date_is_refused_naming_the_runs_on_either_side() -> None:
    with pytest.raises(NotOnSchedule, match=r"2026-01-04T06:30:00\+00:00 and 2026-01-05T06:30:00\+00:00"):
        scheduled_plan(dag(cron_trigger("30 6 * * *")), at(5))
    with pytest.raises(NotOnSchedule, match=r"2026-01-01T00:00:00\+00:00 and 2026-02-01T00:00:00\+00:00"):
        scheduled_plan(dag(cron_data_interval("0 0 1 * *")), at(15))


def test_dates_outside_start_and_end_are_refused() -> None:
    with pytest.raises(NotOnSchedule, match="before its start_date"):
        scheduled_plan(dag("@daily"), at(31, month=12, year=2025))
    with pytest.raises(NotOnSchedule, match="after its end_date"):
        scheduled_plan(dag("@daily", end=at(10)), at(11))


def test_an_unscheduled_dag_has_no_scheduled_runs() -> None:
    with pytest.raises(Unscheduled, match="no schedule"):
        scheduled_plan(dag(None), at(5))


def test_a_cron_schedule_started_long_ago_is_found_without_walking_its_whole_history() -> None:
    hourly = dag("@hourly", start=at(1, year=2000))  # 26 years: 228,000 hourly steps from the start
    assert scheduled_plan(hourly, at(5, 13), max_steps=2_000).logical_date == at(5, 13)


def test_a_walk_past_its_step_budget_says_so() -> None:
    every_minute = dag(timedelta(minutes=1), start=at(1))  # anchored: walked from the start
    with pytest.raises(TooManyRuns, match="more than 100 scheduled runs"):
        scheduled_plan(every_minute, at(5), max_steps=100)
