"""Ctrl-C and SIGTERM stop a DAG run, not just the task that happens to be running.

Inside ``dag.test()`` the task runner catches every exception a task raises,
KeyboardInterrupt included, and turns it into a task failure; it also
installs its own SIGTERM handler (it only calls the operator's ``on_kill``)
and never puts the previous one back. ``dag.test()`` then goes on with the
next task. :class:`InterruptGuard` holds SIGINT and SIGTERM while a DAG runs:

- between tasks, the signal raises :class:`Interrupted` at once, which
  ``dag.test()`` does not catch;
- inside a task, the running task is stopped (its ``on_kill``: the container
  or pod goes) and failed, and :class:`Interrupted` is raised as soon as the
  task runner hands control back to ``dag.test()`` (its in-process entry
  point is wrapped for the run; a short SIGALRM timer is the fallback).

A policy plugin puts the guard's handler back before each task (after the
runner installed its own) and refuses to start tasks once interrupted.

On Airflow 2.11 the runner (``TaskInstance._run_raw_task``) fails the task and
re-raises, and ``dag.test()`` only catches ``Exception``: :class:`Interrupted`
raised inside a task leaves the run at once, after the task's ``on_kill``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Self

from airflow_e2e_harness.airflow.lines import current as airflow_adapter
from airflow_e2e_harness.internals import Patch
from airflow_e2e_harness.internals.touches import RUN_TASK_IN_PROCESS, TASK_RUNNER
from airflow_e2e_harness.policies.base import PolicyPlugin, chain_pre_execute, hookimpl

TASK_RUNNER_MODULE = TASK_RUNNER.module
ON_KILL_WAIT = 2.0  # seconds given to a task's on_kill (docker stop, pod delete) before moving on
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The session was told to stop (Ctrl-C or SIGTERM) while a DAG ran."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def inside_task_runner(frame: FrameType | None) -> bool:
    """Whether the task runner is on the stack (its catch-all turns an exception into a task failure).

    Airflow 2.11's runner shares its module with what ``dag.test()`` calls between tasks: there only
    its own function's frames count (the adapter's ``task_runner_function``; asked here, when a signal
    comes during a run, not at import: this module is imported where no supported Airflow need be)."""
    function = airflow_adapter().task_runner_function
    while frame is not None:
        if frame.f_globals.get("__name__") == TASK_RUNNER_MODULE and (
                function is None or frame.f_code.co_name == function):
            return True
        frame = frame.f_back
    return False


class InterruptGuard:
    """Held around ``dag.test()`` by the runner; a no-op outside the main thread."""

    active: InterruptGuard | None = None  # the guard of the run in progress, for the policy hook

    def __init__(self, on_kill_wait: float = ON_KILL_WAIT) -> None:
        self.on_kill_wait = on_kill_wait
        self.signum: int | None = None
        self.task: Any = None
        self._saved: dict[int, Any] = {}
        self._task_entry = Patch(RUN_TASK_IN_PROCESS)

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._wrap_task_entry()  # first: a missing target fails before any handler changes
            self._saved = {sig: signal.getsignal(sig) for sig in (*SIGNALS, signal.SIGALRM)}
            for sig in SIGNALS:
                signal.signal(sig, self._on_signal)
            InterruptGuard.active = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._task_entry.uninstall()
        if not self._saved:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in self._saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._saved = {}
        InterruptGuard.active = None

    def _wrap_task_entry(self) -> None:
        """``dag.test()`` imports ``run_task_in_process`` when it runs each task: the moment
        that call returns, control is outside the runner's catch-all, and the run can stop."""
        TASK_RUNNER.require()
        if not RUN_TASK_IN_PROCESS.applies:
            return
        original = self._task_entry.original

        def run_task_in_process(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if self.signum is not None:
                raise Interrupted(self.signum)
            return result

        self._task_entry.install(run_task_in_process)

    # -- hooks --------------------------------------------------------------------------------
    def before_task(self, task: Any) -> None:
        """First thing in each task: take SIGTERM back from the runner; once told to stop, start nothing."""
        if not self._saved:
            return
        if self.signum is not None:
            raise Interrupted(self.signum)
        self.task = task
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        if inside_task_runner(frame):
            self._kill_task()
            signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)
        raise Interrupted(signum)  # inside a task: fails it, and ends whatever wait it was in

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None and not inside_task_runner(frame):
            signal.setitimer(signal.ITIMER_REAL, 0)
            raise Interrupted(self.signum)

    def _kill_task(self) -> None:
        """The operator's own on_kill (DockerOperator stops its container, KubernetesPodOperator
        deletes its pod), in a thread with a time limit: teardown removes whatever remains."""
        task, self.task = self.task, None
        on_kill = getattr(task, "on_kill", None)
        if on_kill is None:
            return
        worker = threading.Thread(target=_quietly, args=(on_kill,), name="on_kill", daemon=True)
        worker.start()
        worker.join(self.on_kill_wait)


def _quietly(call: Any) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001, S110 - best effort: teardown removes what on_kill could not
        pass


class InterruptPolicy(PolicyPlugin):
    """The policy plugin: every task calls :meth:`InterruptGuard.before_task` first."""

    plugin_name = "airflow-e2e-harness-interrupts"

    @hookimpl
    def task_policy(self, task: Any) -> None:
        chain_pre_execute(task, _before_task)


def _before_task(context: Any) -> None:
    guard = InterruptGuard.active
    if guard is not None:
        guard.before_task(context.get("task"))


def sigterm_as_keyboard_interrupt() -> None:
    """SIGTERM (a CI cancel, ``kill``) then cleans up the way Ctrl-C does; main thread only."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupted)


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


CLEANUP_COMMAND = "python -m airflow_e2e_harness cleanup"


@contextmanager
def skip_on_interrupt(leftovers: Callable[[], list[str]]) -> Iterator[None]:
    """During teardown, Ctrl-C or SIGTERM exits at once, naming what is left and how to remove it.

    Teardown itself may take seconds (a cluster delete); someone who presses
    Ctrl-C again wants out now. The session's record and leases stay behind,
    so ``cleanup`` (or the next session) finds everything once this process is gone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def give_up(signum: int, frame: FrameType | None) -> None:
        items = "".join(f"\n  - {item}" for item in leftovers())
        sys.stderr.write(
            f"\nairflow-e2e: {signal.Signals(signum).name} during teardown: skipped it. Left:{items}\n"
            f"Remove them with: {CLEANUP_COMMAND}\n"
        )
        sys.stderr.flush()
        os._exit(128 + signum)

    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, give_up)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
