"""DagRunner: load unmodified DAG files and run one DAG with ``dag.test()``.

``dag.test()`` logs a failing task instead of raising, so the runner reads
every task instance's state and XCom back from the metadata DB and keeps each
task's log, both in the result and on disk under the run's artifacts folder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from airflow_e2e_harness.airflow_home import AirflowHome
from airflow_e2e_harness.capture import split_by_task, task_key, tee_output
from airflow_e2e_harness.timing import Timer, default_timer


class DagImportError(RuntimeError):
    """A DAG file failed to import; the message carries each file's traceback."""


class DagNotFound(LookupError):
    """The DAG id is not defined in the given folder."""


@dataclass
class TaskResult:
    task_id: str
    state: str | None
    xcom: Any
    log: str
    try_number: int = 0


@dataclass
class RunResult:
    dag_id: str
    logical_date: datetime
    run_id: str
    state: str
    tasks: dict[str, TaskResult] = field(default_factory=dict)
    log_path: Path | None = None
    seconds: float = 0.0
    findings: list[str] = field(default_factory=list)  # from observers, e.g. image pull failures

    @property
    def ok(self) -> bool:
        return self.state == "success"

    @property
    def states(self) -> dict[str, str | None]:
        return {tid: t.state for tid, t in self.tasks.items()}

    @property
    def xcoms(self) -> dict[str, Any]:
        return {tid: t.xcom for tid, t in self.tasks.items()}

    def failed_tasks(self) -> list[TaskResult]:
        return [t for t in self.tasks.values() if t.state not in ("success", "skipped")]

    def describe(self) -> str:
        lines = [f"DAG {self.dag_id} @ {self.logical_date.date()} -> {self.state}"]
        lines += [f"  {tid}: {state}" for tid, state in self.states.items()]
        lines += [f"  ! {finding}" for finding in self.findings]
        if self.log_path:
            lines.append(f"  logs: {self.log_path.parent}")
        return "\n".join(lines)


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


class DagRunner:
    """Runs DAGs from registered folders inside one isolated Airflow home."""

    def __init__(self, home: AirflowHome, artifacts_dir: Path, timer: Timer | None = None) -> None:
        self.home = home
        self.artifacts_dir = Path(artifacts_dir)
        self.timer = timer or default_timer()

    def load(self, dags_folder: Path) -> Any:
        """A fresh DagBag of ``dags_folder``; import errors fail loudly with tracebacks.

        Parsed anew for every run, as the DAG processor would: DAG files read
        their deployment settings (paths, networks) from the environment.
        """
        folder = Path(dags_folder).resolve()
        self.home.add_dag_folder(folder)
        self.home.migrate()
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(folder))
        if bag.import_errors:
            details = "\n\n".join(f"--- {path}\n{err}" for path, err in bag.import_errors.items())
            raise DagImportError(
                f"{len(bag.import_errors)} DAG file(s) in {folder} failed to import:\n\n{details}"
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
    ) -> RunResult:
        """One ``dag.test()``; ``observers`` are entered around it (e.g. a pod watchdog),
        and whatever they report through ``messages()`` lands in ``RunResult.findings``."""
        bag = self.load(dags_folder)
        dag = bag.get_dag(dag_id)
        if dag is None:
            raise DagNotFound(
                f"DAG {dag_id!r} is not defined in {dags_folder}; found: {sorted(bag.dag_ids)}"
            )
        when = to_logical_date(logical_date)
        base = self.artifacts_dir / "runs" / dag_id / when.strftime("%Y-%m-%dT%H%M%S")
        run_dir, n = base, 1
        while run_dir.exists():  # the same DAG and date again: keep the earlier logs
            n += 1
            run_dir = base.with_name(f"{base.name}.{n}")
        log_path = run_dir / "dag-test.log"
        with self.timer.phase(f"run {dag_id} {when.date()}") as phase:
            with tee_output(log_path), ExitStack() as stack:
                entered = [stack.enter_context(o) for o in observers]
                dag_run = dag.test(logical_date=when, run_conf=run_conf)
            phase.note = str(dag_run.state)
        result = self._collect(dag_id, when, dag_run, log_path)
        result.seconds = phase.seconds
        for observer in entered:
            messages = getattr(observer, "messages", None)
            if callable(messages):
                result.findings.extend(messages())
        return result

    def _collect(self, dag_id: str, when: datetime, dag_run: Any, log_path: Path) -> RunResult:
        logs = split_by_task(log_path.read_text(errors="replace"))
        result = RunResult(dag_id, when, dag_run.run_id, str(dag_run.state), log_path=log_path)
        for ti in sorted(dag_run.get_task_instances(), key=lambda t: (t.task_id, t.map_index)):
            key = task_key(ti.task_id, ti.map_index)
            xcom = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index if ti.map_index >= 0 else None)
            text = logs.get(key, "")
            safe = re.sub(r"[^A-Za-z0-9_.\[\]-]", "_", key)
            (log_path.parent / f"{safe}.log").write_text(text)
            state = str(ti.state) if ti.state is not None else None
            result.tasks[key] = TaskResult(key, state, xcom, text, ti.try_number)
        return result
