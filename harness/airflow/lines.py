"""One adapter per Airflow line: what differs between Airflow 2.11 and 3.x outside the registered
internals (:mod:`airflow_e2e_harness.internals.touches`, whose ``by_line`` targets follow the same
line), chosen once, at session start (:func:`current`).

Airflow 2.11 runs a DAG the way 3.x does from the harness's side (``dag.test()`` in-process, the
metadata DB, cluster policies), but names things differently: ``dag.test(execution_date=...)``,
``airflow.models`` instead of ``airflow.sdk``, no ``run_after`` or ``triggered_by`` on a DagRun, run
ids from the logical date. What 2.11 cannot do at all (DAG bundles, the in-process execution API,
Airflow 3's template variables) is said where it is used, never by a crash.

The other modules ask the adapter, never the line: the hints for an error (:mod:`.hints`), how a run's
console output is captured (:mod:`.capture`), which frames are the task runner's (:mod:`.interrupts`).
Those modules import this one, so this one imports them only inside the methods that use them.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from functools import cache
from typing import Any, ClassVar

from airflow_e2e_harness.errors import ConfigurationError
from airflow_e2e_harness.internals import Patch, airflow_line, installed_version
from airflow_e2e_harness.internals.touches import FAB_USER, RUN_TASK_IN_PROCESS, TASK_RUNNER

SUPPORTED = ("2.11", "3.1", "3.2", "3.3")  # tested; every 3.x line gets the Airflow 3 adapter (3.0 fails
# its DockerOperator tasks in its own execution API, as docs/compatibility.md says, but is not refused here)


class UnsupportedAirflow(ConfigurationError):
    """The installed Airflow is a line the harness has no adapter for."""


class Airflow3:
    """Airflow 3.1 to 3.3: the task SDK, its supervisor and the in-process execution API."""

    name: ClassVar[str] = "Airflow 3"
    major: ClassVar[int] = 3
    core_distribution: ClassVar[str] = "apache-airflow-core"
    # The warm-up DAG's imports: what this line's DAG authors write.
    dag_imports: ClassVar[str] = "from airflow.sdk import DAG, task"
    # Configuration the private Airflow home adds on this line.
    home_settings: ClassVar[dict[str, str]] = {}
    # Whether the root logger's console handler writes to whatever sys.stdout is at the time (so a tee
    # of sys.stdout gets its lines already; see capture.tee_output).
    root_console_follows_stdout: ClassVar[bool] = False

    @property
    def task_runner_function(self) -> str | None:
        """The task runner's function whose frames mean "inside a task" (see interrupts.inside_task_runner);
        None: every frame of the runner's module does."""
        return None

    def hints(self, error: str, source: str = "") -> list[str]:
        """What this line's changes or lacks say about ``error`` (a traceback or a task log), given the
        DAG file's ``source`` when there is one (see :mod:`.hints`)."""
        from airflow_e2e_harness.airflow.hints import hints_for

        return hints_for(error, source)

    def console_dedupe(self) -> AbstractContextManager[None]:
        """Held while a run's output is captured: one copy of each console line (see :mod:`.capture`)."""
        return nullcontext()

    @property
    def core_version(self) -> str:
        """The version of the distribution that holds the metadata DB's schema (the cached DB's key)."""
        return installed_version(self.core_distribution) or "unknown"

    def dag_test(self, dag: Any, logical_date: datetime, run_conf: dict[str, Any] | None) -> Any:
        return dag.test(logical_date=logical_date, run_conf=run_conf)

    def run_after(self, dag_run: Any) -> datetime:
        return dag_run.run_after

    def generate_run_id(self, timetable: Any, run_type: Any, info: Any) -> str:
        """The scheduler's run id for a run the timetable gives (``info``: its DagRunInfo)."""
        partition_key = getattr(info, "partition_key", None)
        extra = {"partition_key": partition_key} if partition_key is not None else {}
        return timetable.generate_run_id(
            run_type=run_type, run_after=info.run_after, data_interval=info.data_interval, **extra,
        )

    def manual_run_id(self, logical_date: datetime, run_after: datetime) -> str:
        """The run id ``dag.test()`` gives its manual run."""
        from airflow.utils.types import DagRunType

        return DagRunType.MANUAL.generate_run_id(suffix=run_after.isoformat())

    def create_scheduled_run(self, dag: Any, plan: Any, session: Any, start_date: datetime) -> Any:
        """The DagRun the scheduler would create for ``plan`` (a :class:`RunPlan`)."""
        from airflow.utils.state import DagRunState
        from airflow.utils.types import DagRunTriggeredByType, DagRunType

        extra = {"partition_key": plan.partition_key} if plan.partition_key is not None else {}
        return dag.create_dagrun(
            run_id=plan.run_id, logical_date=plan.logical_date, data_interval=plan.data_interval,
            run_after=plan.run_after, conf=None, run_type=DagRunType.SCHEDULED,
            triggered_by=DagRunTriggeredByType.TIMETABLE, state=DagRunState.RUNNING,
            start_date=start_date, session=session, **extra,
        )

    def logical_date_column(self, dag_run_model: Any) -> Any:
        return dag_run_model.logical_date


class Airflow2(Airflow3):
    """Airflow 2.11: ``airflow.models``, ``dag.test(execution_date=...)``, no execution API."""

    name = "Airflow 2.11"
    major = 2
    core_distribution = "apache-airflow"
    dag_imports = "from airflow import DAG\nfrom airflow.decorators import task"
    # Airflow 3's timer unit, which quiets 2.11's RemovedInAirflow3Warning at every import of its metrics.
    home_settings = {"AIRFLOW__METRICS__TIMER_UNIT_CONSISTENCY": "True"}
    root_console_follows_stdout = True

    @property
    def task_runner_function(self) -> str | None:
        # The runner's module (taskinstance) also serves dag.test()'s loop between tasks.
        return TASK_RUNNER.attribute

    def hints(self, error: str, source: str = "") -> list[str]:
        from airflow_e2e_harness.airflow.hints import hints_for_airflow_2

        return hints_for_airflow_2(error, source)

    def console_dedupe(self) -> AbstractContextManager[None]:
        from airflow_e2e_harness.airflow.capture import airflow_2_console

        return airflow_2_console()

    def dag_test(self, dag: Any, logical_date: datetime, run_conf: dict[str, Any] | None) -> Any:
        if FAB_USER.applies:
            FAB_USER.require()  # its table, which a rerun's delete of the earlier DagRun needs
        as_in_production = Patch(RUN_TASK_IN_PROCESS)
        as_in_production.install(_as_in_production(as_in_production.original))  # inside the interrupt guard's
        try:
            return dag.test(execution_date=logical_date, run_conf=run_conf)
        finally:
            as_in_production.uninstall()

    def run_after(self, dag_run: Any) -> datetime:
        # 2.11's DagRun has no run_after: a manual run may start at its logical date, as in 3.x's
        # dag.test(); a scheduled one at its data interval's end (the timetable's run_after).
        if str(getattr(dag_run.run_type, "value", dag_run.run_type)) == "scheduled" and \
                dag_run.data_interval_end is not None:
            return dag_run.data_interval_end
        return dag_run.execution_date

    def generate_run_id(self, timetable: Any, run_type: Any, info: Any) -> str:
        return timetable.generate_run_id(
            run_type=run_type, logical_date=info.logical_date, data_interval=info.data_interval,
        )

    def manual_run_id(self, logical_date: datetime, run_after: datetime) -> str:
        from airflow.utils.types import DagRunType

        return DagRunType.MANUAL.generate_run_id(logical_date)  # what 2.11's dag.test() uses

    def create_scheduled_run(self, dag: Any, plan: Any, session: Any, start_date: datetime) -> Any:
        from airflow.utils.state import DagRunState
        from airflow.utils.types import DagRunType

        return dag.create_dagrun(
            run_id=plan.run_id, execution_date=plan.logical_date, data_interval=plan.data_interval,
            conf=None, run_type=DagRunType.SCHEDULED, external_trigger=False, state=DagRunState.RUNNING,
            start_date=start_date, session=session,
        )

    def logical_date_column(self, dag_run_model: Any) -> Any:
        return dag_run_model.execution_date


def _as_in_production(run_task: Any) -> Any:
    """2.11's ``dag.test()`` per-task call (``_run_task``), with what production's task runner adds:

    - the task's start is stamped (``check_and_change_state_before_execution``, which ``dag.test()``
      skips), as the task or its retry starts; a resumed deferral keeps its own;
    - a task ended by ``execution_timeout`` (``AirflowTaskTimeout``, a BaseException on 2.11) has
      been failed by the runner, which re-raises it; ``dag.test()`` catches only ``Exception``, so
      it would end the whole run. As under the scheduler, the run goes on with the next task.
    """
    from airflow.exceptions import AirflowTaskTerminated, AirflowTaskTimeout
    from airflow.utils import timezone

    dag_log = logging.getLogger("airflow.models.dag")

    def run_task_as_in_production(*args: Any, ti: Any, session: Any, **kwargs: Any) -> Any:
        if not ti.next_method:
            ti.start_date = timezone.utcnow()
            session.merge(ti)
            session.commit()  # the runner reads the task instance back from the DB first
        try:
            return run_task(*args, ti=ti, session=session, **kwargs)
        except (AirflowTaskTimeout, AirflowTaskTerminated) as ended:
            session.merge(ti)
            session.commit()
            dag_log.error("Task failed; ti=%s (%s; the harness goes on with the run, as the scheduler "
                          "would)", ti, type(ended).__name__)
            dag_log.info("[DAG TEST] end task task_id=%s map_index=%s", ti.task_id, ti.map_index)
            return None

    return run_task_as_in_production


@cache
def current() -> Airflow3:
    """The adapter for the installed Airflow; :class:`UnsupportedAirflow` for a line without one
    (Airflow 2.10 and older), raised at session start."""
    line = airflow_line()
    major = int(line.partition(".")[0] or 0)
    if major < 2 or (major == 2 and line not in SUPPORTED):
        version = installed_version("apache-airflow") or "none"
        raise UnsupportedAirflow(
            f"airflow-e2e-harness supports Airflow {', '.join(SUPPORTED)}; installed: apache-airflow "
            f"{version}. Install one of those (tests/constraints/ holds tested sets); see "
            "docs/compatibility.md."
        )
    return Airflow2() if line.startswith("2.") else Airflow3()


def is_airflow_2() -> bool:
    """Whether the installed Airflow is 2.11 (without raising for an unsupported line)."""
    return airflow_line().startswith("2.")
