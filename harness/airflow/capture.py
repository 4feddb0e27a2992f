"""Capture what a ``dag.test()`` run prints, and split it per task.

Tasks run in-process and log through structlog (to ``sys.stdout``) and the
standard logging module (to a handler bound when Airflow configured logging).
Both are teed into one file while the run lasts; the original streams still
get everything, so pytest's own capture keeps working.

Airflow 2.11 logs through the standard logging module only, to a root handler
that writes to whatever ``sys.stdout`` is (the tee); ``dag.test()`` adds a
second console handler for task logs, and logs each failed task's traceback
once more after the task's own. There the log keeps one copy of each line (see
:func:`airflow_2_console`, which the line's adapter holds while a run is captured),
so that a failed task's log tail still reaches back to its container's output.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from airflow_e2e_harness.airflow.lines import current as airflow_adapter

_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+) map_index=(-?\d+)")


# Loggers cache the stream they saw first, so a tee from an earlier run may
# still be written to: every tee forwards to whatever sink is current now.
_sink: TextIO | None = None


class _Tee:
    def __init__(self, original: TextIO) -> None:
        self._original = original

    def write(self, text: str) -> int:
        sink = _sink
        if sink is not None:
            try:
                sink.write(text)
            except ValueError:  # closed between check and write
                pass
        return self._original.write(text)

    def flush(self) -> None:
        self._original.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._original, name)


class _SinkHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        sink = _sink
        if sink is None:
            return
        try:
            sink.write(f"{record.levelname.lower():<8} {record.getMessage()} [{record.name}]\n")
        except Exception:  # noqa: BLE001, S110 - a log sink must never break the run
            pass


@contextmanager
def tee_output(path: Path) -> Iterator[Path]:
    """Everything printed or logged while inside goes to ``path`` too."""
    global _sink
    path.parent.mkdir(parents=True, exist_ok=True)
    line = airflow_adapter()
    with path.open("w") as sink, line.console_dedupe():
        handler = _SinkHandler(logging.DEBUG)
        root = logging.getLogger()
        old_out, old_err = sys.stdout, sys.stderr
        tee_out = old_out if isinstance(old_out, _Tee) else _Tee(old_out)
        tee_err = old_err if isinstance(old_err, _Tee) else _Tee(old_err)
        sys.stdout, sys.stderr = tee_out, tee_err  # type: ignore[assignment]
        teed = any(getattr(h, "stream", None) in (tee_out, tee_err) for h in root.handlers)
        if not (line.root_console_follows_stdout and teed):
            root.addHandler(handler)  # unless a root handler writes to the tee already (Airflow 2.11's)
        _sink = sink
        try:
            yield path
        finally:
            _sink = None
            if sys.stdout is tee_out:
                sys.stdout = old_out
            if sys.stderr is tee_err:
                sys.stderr = old_err
            root.removeHandler(handler)


class _ConsoleStandIn(logging.StreamHandler):  # type: ignore[type-arg]
    """Stands where Airflow 2.11's ``dag.test()`` would add its own console handler to the task
    logger (it adds one only when the logger has no StreamHandler): the root handler prints
    those lines already."""

    def emit(self, record: logging.LogRecord) -> None:
        return


class _NoSecondTraceback(logging.Filter):
    """Airflow 2.11's ``dag.test()`` logs each failed task's exception again, with its traceback,
    after the task's own log printed it: the line stays, the copy of the traceback goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Task failed; ti="):
            record.exc_info, record.exc_text = None, None
        return True


@contextmanager
def airflow_2_console() -> Iterator[None]:
    """Airflow 2.11's ``dag.test()`` console, one copy of each line (``lines.Airflow2.console_dedupe``)."""
    task_logger = logging.getLogger("airflow.task")  # TaskInstance.log, which dag.test() gives a handler
    dag_logger = logging.getLogger("airflow.models.dag.DAG")  # dag.test()'s own log
    stand_in, no_copy = _ConsoleStandIn(), _NoSecondTraceback()
    task_logger.addHandler(stand_in)
    dag_logger.addFilter(no_copy)
    try:
        yield
    finally:
        task_logger.removeHandler(stand_in)
        dag_logger.removeFilter(no_copy)


def task_key(task_id: str, map_index: int) -> str:
    """How results and logs name a task instance: ``task`` or ``task[2]`` when mapped."""
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def split_by_task(text: str) -> dict[str, str]:
    """Lines between dag.test's "starting task" and "end task" markers, per task."""
    per_task: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        start = _START.search(line)
        if start:
            current = task_key(start.group(1), int(start.group(2)))
            per_task.setdefault(current, [])
        if current is not None:
            per_task[current].append(line)
        if _END.search(line):
            current = None
    return {task: "\n".join(lines) + "\n" for task, lines in per_task.items()}
