"""DagRuns as the scheduler creates them, for ``dag.test()`` to run.

``dag.test()`` always creates a manual run: its data interval comes from
``timetable.infer_manual_data_interval``, which for a data-interval timetable
ends at the logical date, while the scheduled run of the same logical date
starts there. A :class:`RunPlan` holds what the scheduler would give a run
instead (logical date, data interval, run_after and run id from the DAG's own
timetable, run type ``scheduled``), and :func:`as_scheduled` makes the next
``dag.test()`` create exactly that run. Everything else in ``dag.test()``
(clearing, the task loop, callbacks) stays Airflow's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from airflow_e2e_harness.airflow.lines import current as airflow_adapter
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.internals import Patch
from airflow_e2e_harness.internals.touches import COERCE_TO_CORE_TIMETABLE, DAG_RUN, GET_OR_CREATE_DAGRUN

MAX_STEPS = 200_000  # timetable steps from the DAG's start: ~23 years of an hourly schedule
# Windows looked back through, shortest first, for the scheduled run before an off-schedule date.
LOOK_BACK = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=400))


class NotOnSchedule(HarnessError, ValueError):
    """The asked-for date is not one the DAG's timetable gives a scheduled run."""


class Unscheduled(NotOnSchedule):
    """The DAG has no schedule (or no start date): the scheduler creates no runs for it at all."""


class TooManyRuns(NotOnSchedule):
    """Finding the run meant walking more timetable steps than allowed."""


@dataclass(frozen=True)
class RunPlan:
    """One DagRun as it would be created, by the scheduler or by ``dag.test()``."""

    run_type: str  # "scheduled" or "manual"
    logical_date: datetime
    data_interval: tuple[datetime, datetime] | None
    run_after: datetime
    run_id: str
    partition_key: str | None = None  # partitioned timetables (Airflow 3.2+)

    def describe(self) -> str:
        return f"{self.run_type} run {self.run_id}: logical date {self.logical_date.isoformat()}, " \
               f"{interval_text(self.data_interval)}"


def interval_text(interval: tuple[datetime, datetime] | None) -> str:
    """How runs, plans and the report name a data interval."""
    if interval is None:
        return "no data interval"
    return f"data interval {interval[0].isoformat()} to {interval[1].isoformat()}"


def core_timetable(dag: Any) -> Any:
    """The timetable the scheduler uses for ``dag`` (Airflow 3.2+ splits SDK and core timetables)."""
    if not COERCE_TO_CORE_TIMETABLE.applies:  # Airflow 3.1: the DAG holds the core timetable itself
        return dag.timetable
    return COERCE_TO_CORE_TIMETABLE.load()(dag.timetable)  # what dag.test() uses


def iter_scheduled(dag: Any, near: datetime | None = None, max_steps: int = MAX_STEPS) -> Iterator[RunPlan]:
    """The runs the scheduler gives ``dag``, in the order it creates them (with catchup).

    Walks the timetable from the DAG's start date as the scheduler does, so
    schedules anchored to it (``timedelta`` ones, custom timetables) land where
    they would. Cron and event schedules do not depend on where the walk
    begins: for them it begins at ``near`` when that is later (an hourly DAG
    started ten years ago is 87,600 steps, about 16 s).
    """
    from airflow.timetables.base import TimeRestriction

    timetable = core_timetable(dag)
    if not timetable.can_be_scheduled:
        raise Unscheduled(
            f"DAG {dag.dag_id!r} has no schedule ({timetable.summary}): the scheduler creates no runs "
            f"for it; run it manually (env.run) instead"
        )
    earliest, latest = _restriction(dag)
    if earliest is None:
        raise Unscheduled(f"DAG {dag.dag_id!r} has no start_date: the scheduler creates no runs for it")
    if near is not None and near > earliest and _independent_of_start(timetable):
        earliest = near
    restriction = TimeRestriction(earliest=earliest, latest=latest, catchup=True)
    last = None
    for _ in range(max_steps):
        info = _next_info(timetable, last, restriction)
        if info is None or info.logical_date is None:
            return
        yield _plan(timetable, info)
        last = info
    raise TooManyRuns(
        f"DAG {dag.dag_id!r}: more than {max_steps} scheduled runs from {earliest.isoformat()} on; "
        f"give it a later start_date"
    )


def scheduled_plans(dag: Any, start: datetime, end: datetime) -> list[RunPlan]:
    """Every run the scheduler gives ``dag`` with a logical date in [start, end], in catchup order."""
    if end < start:
        raise NotOnSchedule(f"DAG {dag.dag_id!r}: the range ends ({end}) before it starts ({start})")
    plans = []
    for plan in iter_scheduled(dag, near=start):
        if plan.logical_date > end:
            break
        if plan.logical_date >= start:
            plans.append(plan)
    return plans


def scheduled_plan(dag: Any, logical_date: datetime, max_steps: int = MAX_STEPS) -> RunPlan:
    """The scheduled run of ``dag`` whose logical date is exactly ``logical_date``.

    :raises NotOnSchedule: naming the scheduled runs on either side of it when
        the timetable gives no run that date, or the date is outside the DAG's start and end.
    """
    earliest, latest = _restriction(dag)
    if earliest is not None and logical_date < earliest:
        raise NotOnSchedule(
            f"DAG {dag.dag_id!r}: {logical_date.isoformat()} is before its start_date "
            f"{earliest.isoformat()}; the scheduler never creates that run"
        )
    if latest is not None and logical_date > latest:
        raise NotOnSchedule(
            f"DAG {dag.dag_id!r}: {logical_date.isoformat()} is after its end_date {latest.isoformat()}; "
            f"the scheduler never creates that run"
        )
    # Cron and event schedules are read from the date itself: one step when it is on schedule.
    before, after = _either_side(dag, logical_date, logical_date, max_steps)
    if after is not None and after.logical_date == logical_date:
        return after
    for window in LOOK_BACK:  # off schedule: the run before, looked for in ever wider windows
        if before is not None:
            break
        before, _ = _either_side(dag, logical_date, logical_date - window, max_steps)
    nearest = " and ".join(p.logical_date.isoformat() for p in (before, after) if p) or "none"
    raise NotOnSchedule(
        f"DAG {dag.dag_id!r}: {logical_date.isoformat()} is not a logical date of its schedule "
        f"({core_timetable(dag).summary}); the scheduled runs on either side: {nearest}"
    )


def _either_side(dag: Any, logical_date: datetime, near: datetime,
                 max_steps: int) -> tuple[RunPlan | None, RunPlan | None]:
    """The last scheduled run before ``logical_date`` and the first at or after it, walking from
    ``near`` (cron, events) or from the DAG's start (anchored timetables)."""
    before = None
    for plan in iter_scheduled(dag, near=near, max_steps=max_steps):
        if plan.logical_date >= logical_date:
            return before, plan
        before = plan
    return before, None


def plan_of(dag_run: Any) -> RunPlan:
    """The plan a DagRun was made with (its run type as Airflow names it: "manual", "scheduled", ...)."""
    start, end = dag_run.data_interval_start, dag_run.data_interval_end
    interval = (start, end) if start is not None and end is not None else None
    run_type = getattr(dag_run.run_type, "value", dag_run.run_type)
    return RunPlan(str(run_type), dag_run.logical_date, interval, airflow_adapter().run_after(dag_run),
                   dag_run.run_id, getattr(dag_run, "partition_key", None))


def manual_plan(dag: Any, logical_date: datetime, run_after: datetime) -> RunPlan:
    """The run ``dag.test(logical_date=...)`` creates, triggered at ``run_after``."""
    interval = core_timetable(dag).infer_manual_data_interval(run_after=logical_date)
    return RunPlan(
        "manual", logical_date, (interval.start, interval.end), run_after,
        airflow_adapter().manual_run_id(logical_date, run_after),
    )


@contextmanager
def as_scheduled(plan: RunPlan) -> Iterator[None]:
    """While entered, ``dag.test()`` creates ``plan``'s run instead of a manual one.

    ``dag.test()`` creates its run through ``airflow.models.dagrun.get_or_create_dagrun``
    (imported when called, in Airflow 3.1 to 3.3; on 2.11 ``airflow.models.dag._get_or_create_dagrun``,
    a global of its module); this stands in for it with the arguments the scheduler passes to
    ``create_dagrun``, and, like it, first deletes an earlier run of the same logical date.
    """
    from sqlalchemy import select

    dag_run_model = DAG_RUN.load()
    line = airflow_adapter()

    def create_scheduled_run(*, dag: Any, session: Any, start_date: datetime,
                             logical_date: datetime | None = None, execution_date: datetime | None = None,
                             **manual: Any) -> Any:
        when = logical_date if logical_date is not None else execution_date  # 3.x / 2.11 spelling
        if when != plan.logical_date:
            raise RuntimeError(f"dag.test() ran for {when}, the plan is for {plan.logical_date}")
        earlier = session.scalar(select(dag_run_model).where(
            dag_run_model.dag_id == dag.dag_id, line.logical_date_column(dag_run_model) == when,
        ))
        if earlier is not None:
            session.delete(earlier)
            session.commit()
        return line.create_scheduled_run(dag, plan, session, start_date)

    with Patch(GET_OR_CREATE_DAGRUN, create_scheduled_run):
        yield


def _restriction(dag: Any) -> tuple[datetime | None, datetime | None]:
    """The DAG's earliest and latest logical dates, as the scheduler derives them."""
    import pendulum

    starts = [t.start_date for t in dag.tasks if t.start_date] + ([dag.start_date] if dag.start_date else [])
    earliest = pendulum.instance(min(starts)) if starts else None
    latest = pendulum.instance(dag.end_date) if dag.end_date else None
    return earliest, latest


def _independent_of_start(timetable: Any) -> bool:
    """Whether the timetable's runs are the same wherever a walk over it begins."""
    from airflow.timetables import trigger
    from airflow.timetables.events import EventsTimetable
    from airflow.timetables.interval import CronDataIntervalTimetable

    cron = (CronDataIntervalTimetable, trigger.CronTriggerTimetable)
    multiple = getattr(trigger, "MultipleCronTriggerTimetable", None)  # Airflow 3 only
    return isinstance(timetable, (*cron, *([multiple] if multiple else []), EventsTimetable))


def _next_info(timetable: Any, last: Any, restriction: Any) -> Any:
    if hasattr(timetable, "next_dagrun_info_v2"):  # Airflow 3.2+: partitions pass through it
        return timetable.next_dagrun_info_v2(last_dagrun_info=last, restriction=restriction)
    return timetable.next_dagrun_info(
        last_automated_data_interval=last.data_interval if last else None, restriction=restriction,
    )


def _plan(timetable: Any, info: Any) -> RunPlan:
    from airflow.utils.types import DagRunType

    partition_key = getattr(info, "partition_key", None)
    run_id = airflow_adapter().generate_run_id(timetable, DagRunType.SCHEDULED, info)
    interval = (info.data_interval.start, info.data_interval.end) if info.data_interval else None
    return RunPlan("scheduled", info.logical_date, interval, info.run_after, run_id, partition_key)
