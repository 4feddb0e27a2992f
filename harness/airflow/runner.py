"""DagRunner: load unmodified DAG files and run one DAG with ``dag.test()``.

``dag.test()`` logs a failing task instead of raising, so the runner reads
every task instance's state and XCom back from the metadata DB and keeps each
task's log, both in the result and on disk under the run's artifacts folder.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

from airflow_e2e_harness.airflow.capture import split_by_task, task_key, tee_output
from airflow_e2e_harness.airflow.hints import hints_here
from airflow_e2e_harness.airflow.home import AirflowHome
from airflow_e2e_harness.airflow.interrupts import InterruptGuard
from airflow_e2e_harness.airflow.lines import current as airflow_adapter
from airflow_e2e_harness.airflow.prestart import ExecutionApiPrestart, keep_one_execution_api
from airflow_e2e_harness.airflow.rendered_fields import read_rendered_fields
from airflow_e2e_harness.airflow.schedule_drift import INTERVAL, RUN_TYPE, schedule_drift
from airflow_e2e_harness.airflow.scheduled_runs import (
    NotOnSchedule,
    RunPlan,
    TooManyRuns,
    Unscheduled,
    as_scheduled,
    interval_text,
    plan_of,
    scheduled_plan,
    scheduled_plans,
)
from airflow_e2e_harness.airflow.xcoms import read_xcoms
from airflow_e2e_harness.compare.record import parse_dags
from airflow_e2e_harness.errors import ConfigurationError, HarnessError
from airflow_e2e_harness.internals.touches import DAG_BAG
from airflow_e2e_harness.timing import Timer, default_timer


class DagImportError(HarnessError, RuntimeError):
    """DAG files failed to import; the message starts with each file's ``path:line: error``, then
    its traceback. ``errors`` maps each path to Airflow's text of its error."""

    def __init__(self, message: str, errors: dict[str, str]) -> None:
        super().__init__(message)
        self.errors = errors


class DagNotFound(HarnessError, LookupError):
    """The DAG id is not defined in the given folder."""


OK_STATES = frozenset({"success", "skipped"})
LOG_TAIL_LINES = 40
DRIFT_CHECK_STEPS = 5_000  # a manual run's drift check gives up quietly past this many timetable steps


@dataclass
class TaskResult:
    task_id: str  # "task", or "task[2]" for a mapped task instance
    state: str | None
    xcom: Any  # return_value, exactly as a downstream task receives it
    log: str
    try_number: int = 0
    xcoms: dict[str, Any] = field(default_factory=dict)  # every key (multiple_outputs adds one per key)
    log_path: Path | None = None
    rendered: dict[str, Any] = field(default_factory=dict)  # template fields as rendered for this run
    started: datetime | None = None  # when its (last) try started and ended, for the report's timeline
    ended: datetime | None = None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log.splitlines()[-lines:])


@dataclass
class RunResult:
    """What one ``dag.test()`` did: the DagRun's state, each task's state, XComs and log.

    ``state`` is the DagRun's own state; ``ok`` is stricter: a DagRun whose
    leaves are ``all_done`` teardown tasks succeeds even when a task before
    them failed (the trap Airflow's system tests guard with a watcher task).
    """

    dag_id: str
    logical_date: datetime
    run_id: str
    state: str
    tasks: dict[str, TaskResult] = field(default_factory=dict)
    log_path: Path | None = None
    seconds: float = 0.0
    findings: list[str] = field(default_factory=list)  # from observers, e.g. image pull failures
    redirected: dict[str, str] = field(default_factory=dict)  # Kubernetes tasks sent to the harness cluster
    run_type: str = "manual"  # "scheduled" for env.run_scheduled / run_catchup
    data_interval: tuple[datetime, datetime] | None = None
    retry_delays: dict[str, str] = field(default_factory=dict)  # tasks retried at once: what the DAG said

    @property
    def ok(self) -> bool:
        return self.state == "success" and not self.failed_tasks()

    @property
    def states(self) -> dict[str, str | None]:
        return {tid: t.state for tid, t in self.tasks.items()}

    @property
    def xcoms(self) -> dict[str, Any]:
        """Each task's return value as a downstream task receives it (a str stays a str)."""
        return {tid: t.xcom for tid, t in self.tasks.items()}

    @property
    def rendered(self) -> dict[str, dict[str, Any]]:
        """Each task's template fields as rendered for this run (``{}`` for a task that never started)."""
        return {tid: t.rendered for tid, t in self.tasks.items()}

    def retried_at_once(self) -> dict[str, str]:
        """Task instances that were retried without the delay their DAG gives, and that delay."""
        return {key: self.retry_delays[key.split("[")[0]] for key, task in self.tasks.items()
                if task.try_number > 1 and key.split("[")[0] in self.retry_delays}

    def failed_tasks(self) -> list[TaskResult]:
        """Tasks that did not succeed: failed, upstream_failed, never ran, ..."""
        return [t for t in self.tasks.values() if t.state not in OK_STATES]

    def raise_for_failures(self) -> None:
        """Raise :class:`DagRunFailed` naming every task that did not succeed, with its log tail."""
        if not self.ok:
            raise DagRunFailed(self)

    @property
    def kind(self) -> str:
        """The run type, and the data interval when it has one: how describe() and the report name it."""
        if self.data_interval is None:
            return self.run_type
        return f"{self.run_type}, {interval_text(self.data_interval)}"

    def describe(self) -> str:
        lines = [f"DAG {self.dag_id} @ {when_label(self.logical_date)} ({self.kind}) -> {self.state}"]
        lines += [f"  {tid}: {state}" for tid, state in self.states.items()]
        lines += [f"  ! {finding}" for finding in self.findings]
        lines += [f"  ~ {tid}: {how}" for tid, how in self.redirected.items()]
        retried = self.retried_at_once()
        lines += [f"  ~ {tid}: retried at once (the DAG says {said})" for tid, said in retried.items()]
        if self.log_path:
            lines.append(f"  logs: {self.log_path.parent}")
        return "\n".join(lines)


class DagRunFailed(HarnessError, AssertionError):
    """A run had failing tasks; ``result`` holds it, the message every failing task's log tail.

    An AssertionError, so pytest reports it as a test failure, not an error.
    """

    def __init__(self, result: RunResult) -> None:
        self.result = result
        parts = [result.describe()]
        for task in result.failed_tasks():
            where = f" (full log: {task.log_path})" if task.log_path else ""
            parts.append(f"--- {task.task_id}: {task.state}{where}\n{task.log_tail() or '(no log)'}")
        super().__init__("\n".join(parts))


def when_label(when: datetime) -> str:
    """The date alone at midnight, else date and time: how runs are named in phases and folders."""
    if (when.hour, when.minute, when.second, when.microsecond) == (0, 0, 0, 0):
        return str(when.date())
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def to_logical_date(value: date | datetime | str) -> datetime:
    """Dates and ISO strings become midnight UTC; aware datetimes stay as given."""
    import pendulum

    if isinstance(value, str):
        value = pendulum.parse(value)  # type: ignore[assignment]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return pendulum.instance(value)
    return pendulum.datetime(value.year, value.month, value.day, tz="UTC")


WARM_UP_DAG_ID = "airflow_e2e_warm_up"
WARM_UP_DAG = """
import pendulum
{imports}

with DAG({dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    @task
    def ready():
        return "ready"

    ready()
"""


class DagRunner:
    """Runs DAGs from registered folders inside one isolated Airflow home."""

    # Whether a runner of this process has started Airflow already (a later session of the rerun
    # loop finds it started: its warm-up run says so).
    started_in_process: ClassVar[bool] = False

    def __init__(self, home: AirflowHome, artifacts_dir: Path, timer: Timer | None = None) -> None:
        self.home = home
        self.artifacts_dir = Path(artifacts_dir)
        self.timer = timer or default_timer()
        self.prestart = ExecutionApiPrestart()
        self._warm = False

    def warm_up(self) -> None:
        """Airflow's one-time start (imports, metadata DB, the in-process execution API, the
        first task's setup) as a phase of its own, so that no DAG run's time includes it.

        When :attr:`prestart` was started earlier, the execution API has been built in the
        background meanwhile, and this only waits for the rest of it.
        """
        if self._warm:
            return
        folder = self.home.root / "warm-up"
        folder.mkdir(parents=True, exist_ok=True)
        line = airflow_adapter()
        source = WARM_UP_DAG.format(imports=line.dag_imports, dag_id=WARM_UP_DAG_ID)
        (folder / "warm_up.py").write_text(source)
        with self.timer.phase("airflow start (one-time)") as phase:
            background = self.prestart.started
            waited = self.prestart.wait()
            keep_one_execution_api()
            dag = self.load(folder).get_dag(WARM_UP_DAG_ID)
            with tee_output(folder / "dag-test.log"), InterruptGuard():
                dag_run = line.dag_test(dag, to_logical_date("2026-01-01"), None)
            phase.note = f"warm-up run {dag_run.state}"
            if DagRunner.started_in_process:
                phase.note += "; Airflow was started earlier in this process"
            if background:
                hidden = max(0.0, self.prestart.seconds - waited)
                phase.note += f"; execution API built in the background, {hidden:.1f}s of it during setup"
                if self.prestart.error is not None:
                    phase.note += f" (it failed there: {self.prestart.error!r}; built again in the run)"
        # What Airflow has built so far (modules, models, the execution API: about 330,000 objects)
        # lives as long as the process: leave it out of every later garbage collection, and so of
        # the pauses they make in the runs and of the interpreter's exit.
        gc.freeze()
        self._warm = DagRunner.started_in_process = True

    def load(self, dags_folder: Path) -> Any:
        """A fresh DagBag of ``dags_folder``; import errors fail loudly with tracebacks.

        Parsed anew for every run, as the DAG processor would: DAG files read
        their deployment settings (paths, networks) from the environment.
        """
        folder = Path(dags_folder).resolve()
        self.home.add_dag_folder(folder)
        self.home.migrate()
        bag = parse_dags(DAG_BAG.load(), folder)  # moved in Airflow 3.2; recorded for compare
        if bag.import_errors:
            errors = dict(bag.import_errors)
            heads = [where_it_failed(path, err) for path, err in errors.items()]
            details = "\n\n".join(
                f"--- {path}\n{err}" + "".join(f"\nHint: {hint}" for hint in _hints(path, err))
                for path, err in errors.items()
            )
            raise DagImportError(
                "\n".join(heads) + f"\n({len(errors)} DAG file(s) in {folder} failed to import)\n\n{details}",
                errors,
            )
        return bag

    def run(
        self,
        dags_folder: Path,
        dag_id: str,
        logical_date: date | datetime | str,
        *,
        run_conf: dict[str, Any] | None = None,
        observers: Sequence[AbstractContextManager[Any]] = (),
        scheduled: bool = False,
    ) -> RunResult:
        """One ``dag.test()``; ``observers`` are entered around it (e.g. a pod watchdog),
        and whatever they report through ``messages()`` lands in ``RunResult.findings``.

        ``scheduled`` makes it the run the scheduler creates for that logical date
        (see scheduled_runs); a manual run's findings name the template fields a
        scheduled run would render differently (see schedule_drift).

        :raises NotOnSchedule: ``scheduled`` and no scheduled run has that logical date.
        """
        dag = self.get_dag(dags_folder, dag_id)
        when = to_logical_date(logical_date)
        plan = scheduled_plan(dag, when) if scheduled else None
        if plan is not None and run_conf:
            raise ConfigurationError(f"{dag_id}: a scheduled run has no conf; run it manually to pass conf")
        base = self.artifacts_dir / "runs" / dag_id / when.strftime("%Y-%m-%dT%H%M%S")
        run_dir, n = base, 1
        while run_dir.exists():  # the same DAG and date again: keep the earlier logs
            n += 1
            run_dir = base.with_name(f"{base.name}.{n}")
        log_path = run_dir / "dag-test.log"
        label = f"run {dag_id} {when_label(when)}" + (" (scheduled)" if plan else "")
        with self.timer.phase(label) as phase:
            try:
                with tee_output(log_path), ExitStack() as stack, InterruptGuard():
                    entered = [stack.enter_context(o) for o in observers]
                    with as_scheduled(plan) if plan else nullcontext():
                        dag_run = airflow_adapter().dag_test(dag, when, run_conf)
            except KeyboardInterrupt as err:
                phase.note = "interrupted"
                why = err or "interrupted"
                self.timer.log(f"{label}: {why}; its log so far: {log_path}")
                raise
            phase.note = str(dag_run.state)
        made = plan_of(dag_run)
        result = self._collect(dag_id, when, dag_run, made, log_path)
        result.seconds = phase.seconds
        if plan is None:
            result.findings.extend(drift_findings(dag, made))
        for observer in entered:
            messages = getattr(observer, "messages", None)
            if callable(messages):
                result.findings.extend(messages())
        return result

    def get_dag(self, dags_folder: Path, dag_id: str) -> Any:
        """``dag_id`` from a fresh parse of ``dags_folder``."""
        bag = self.load(dags_folder)
        dag = bag.get_dag(dag_id)
        if dag is None:
            raise DagNotFound(
                f"DAG {dag_id!r} is not defined in {dags_folder}; found: {sorted(bag.dag_ids)}"
            )
        return dag

    def plan_catchup(self, dags_folder: Path, dag_id: str, start: date | datetime | str,
                     end: date | datetime | str) -> list[RunPlan]:
        """The scheduled runs with logical dates in [start, end], in the order the scheduler makes them.

        :raises NotOnSchedule: when there is none.
        """
        dag = self.get_dag(dags_folder, dag_id)
        first, last = to_logical_date(start), to_logical_date(end)
        plans = scheduled_plans(dag, first, last)
        if not plans:
            raise NotOnSchedule(f"DAG {dag_id!r} has no scheduled run between {first} and {last}")
        return plans

    def _collect(self, dag_id: str, when: datetime, dag_run: Any, made: RunPlan, log_path: Path) -> RunResult:
        logs = split_by_task(log_path.read_text(errors="replace"))
        xcoms = read_xcoms(dag_run)
        rendered = read_rendered_fields(dag_run)
        result = RunResult(dag_id, when, dag_run.run_id, str(dag_run.state), log_path=log_path,
                           run_type=made.run_type, data_interval=made.data_interval)
        for ti in sorted(dag_run.get_task_instances(), key=lambda t: (t.task_id, t.map_index)):
            key = task_key(ti.task_id, ti.map_index)
            text = logs.get(key, "")
            safe = re.sub(r"[^A-Za-z0-9_.\[\]-]", "_", key)
            task_log = log_path.parent / f"{safe}.log"
            task_log.write_text(text)
            state = str(ti.state) if ti.state is not None else None
            values = xcoms.get(key, {})
            if state not in OK_STATES:
                result.findings.extend(f"{key}: {hint}" for hint in hints_here(text))
            result.tasks[key] = TaskResult(
                key, state, values.get("return_value"), text, ti.try_number, values, task_log,
                rendered.get(key, {}), ti.start_date, ti.end_date,
            )
        return result


def drift_findings(dag: Any, manual: RunPlan) -> list[str]:
    """What a manual run of ``dag`` did differently from the scheduled run of its logical date."""
    try:
        scheduled = scheduled_plan(dag, manual.logical_date, max_steps=DRIFT_CHECK_STEPS)
    except (Unscheduled, TooManyRuns):
        return []
    except NotOnSchedule as err:
        return [f"schedule: {err}"]
    except Exception as err:  # noqa: BLE001 - e.g. a custom timetable; the run itself stands
        return [f"schedule drift not checked: the timetable raised {err!r}"]
    drift = schedule_drift(dag, manual, scheduled)
    found = [f"schedule drift: {d}" for d in drift.of_kind(INTERVAL, RUN_TYPE)]
    if found:
        found.append("schedule drift: env.run_scheduled() runs this date as the scheduler would; "
                     "env.schedule_drift() lists every difference")
    return found


def where_it_failed(path: str, error: str) -> str:
    """``path:line: the error's last line``: the innermost line of ``path`` in the traceback (or
    a SyntaxError's own line), for an editor or a CI log to jump to."""
    lines = re.findall(rf'File "{re.escape(path)}", line (\d+)', error)
    last = next((line.strip() for line in reversed(error.splitlines()) if line.strip()), "import failed")
    return f"{path}:{lines[-1]}: {last}" if lines else f"{path}: {last}"


def _hints(path: str, error: str) -> list[str]:
    """The Airflow line's changes behind one file's import error (see airflow.hints)."""
    try:
        source = Path(path).read_text(errors="replace")
    except OSError:
        source = ""
    return hints_here(error, source)
