"""InterruptGuard against a fake task runner and a fake dag.test loop (no Airflow).

The fake runner mimics what matters of Airflow's: it installs its own
SIGTERM handler, calls the task's pre-execute hook, and turns every
exception the task raises into a failure; the fake loop, like
``dag.test()``, catches ``Exception`` only and moves on to the next task.
On Airflow 2.11 the runner is one function of its module (``_run_raw_task``):
the fake one is named so.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import types

import pytest

from airflow_e2e_harness.airflow.interrupts import (
    TASK_RUNNER_MODULE,
    Interrupted,
    InterruptGuard,
    _before_task,
)
from airflow_e2e_harness.airflow.lines import current as airflow_adapter

RUNNER = airflow_adapter().task_runner_function or "run"
RUNNER_SOURCE = '''
import signal

def RUNNER(task, pre_execute):
    def _on_term(signum, frame):
        task.on_kill()
    signal.signal(signal.SIGTERM, _on_term)
    try:
        pre_execute({"task": task})
        task.execute()
        return "success"
    except BaseException:
        return "failed"
'''


def fake_runner() -> types.ModuleType:
    module = types.ModuleType(TASK_RUNNER_MODULE)
    source = RUNNER_SOURCE.replace("def RUNNER(", f"def {RUNNER}(")
    exec(compile(source, "<fake task_runner>", "exec"), module.__dict__)  # noqa: S102
    return module


class SleepyTask:
    def __init__(self, name: str) -> None:
        self.name = name
        self.killed = threading.Event()
        self.started = False

    def execute(self) -> None:
        self.started = True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.killed.is_set():
            time.sleep(0.05)
        time.sleep(0.3)  # a task that takes a moment to notice, like a container stopping

    def on_kill(self) -> None:
        self.killed.set()


def fake_dag_test(runner: types.ModuleType, tasks: list[SleepyTask], states: dict[str, str]) -> None:
    for task in tasks:
        try:
            states[task.name] = getattr(runner, RUNNER)(task, _before_task)
        except Exception:  # noqa: BLE001 - dag.test() logs and goes on
            states[task.name] = "error"
        time.sleep(0.2)  # between tasks: the scheduler loop's own work


def signal_later(signum: int, after: float) -> threading.Timer:
    timer = threading.Timer(after, os.kill, (os.getpid(), signum))
    timer.start()
    return timer


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_inside_a_task_kills_it_and_stops_the_run(signum: int) -> None:
    runner, states = fake_runner(), {}
    first, second = SleepyTask("first"), SleepyTask("second")
    saved = signal.getsignal(signal.SIGTERM)
    signal_later(signum, 0.5)
    with pytest.raises(Interrupted) as caught, InterruptGuard():
        fake_dag_test(runner, [first, second], states)

    assert caught.value.signum == signum
    assert first.killed.is_set(), "the running task's on_kill ran"
    assert states == {"first": "failed"}, "the task failed and the loop went no further"
    assert not second.started
    assert signal.getsignal(signal.SIGTERM) is saved, "handlers are put back"


def test_a_signal_between_tasks_stops_the_run_at_once() -> None:
    runner, states = fake_runner(), {}
    tasks = [SleepyTask("a"), SleepyTask("b")]
    tasks[0].killed.set()  # "a" ends by itself after 0.3 s; the signal lands in the loop's 0.2 s gap
    signal_later(signal.SIGTERM, 0.4)
    with pytest.raises(Interrupted), InterruptGuard():
        fake_dag_test(runner, tasks, states)
    assert states == {"a": "success"}
    assert not tasks[1].started


def test_without_a_signal_nothing_changes() -> None:
    runner, states = fake_runner(), {}
    tasks = [SleepyTask("a"), SleepyTask("b")]
    for task in tasks:
        task.killed.set()
    with InterruptGuard():
        fake_dag_test(runner, tasks, states)
    assert states == {"a": "success", "b": "success"}


