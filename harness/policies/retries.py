"""Retries without waiting: a failing test ends in seconds, not after the DAG's retry delays.

``dag.test()`` honours a task's ``retry_delay``: it finds the task up for retry, sleeps a second,
and asks again until the delay has passed. A production ``retries=3, retry_delay=5min`` made one
failing test take 15 minutes, and ``retries=2, retry_delay=30s`` took 63 s. A cluster policy (see
:mod:`airflow_e2e_harness.policies.base`) sets ``retry_delay`` to zero and turns exponential backoff
off (its shortest delay is a second) on every task with retries, so each retry is scheduled at
once. Everything else stays as Airflow makes it: the number of tries, ``try_number``, the retry
callbacks and the final state. ``keep=True`` (``--keep-retry-delays``) leaves the DAG's delays.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow_e2e_harness.policies.base import PolicyPlugin, hookimpl, of_dag

NO_DELAY = timedelta(0)


class FastRetries(PolicyPlugin):
    """The policy plugin. ``shortened`` says, per ``(dag_id, task_id)``, what the DAG had said.

    :param enabled: shorten retry delays (False keeps the DAG's own).
    """

    plugin_name = "airflow-e2e-harness-fast-retries"

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.shortened: dict[tuple[str, str], str] = {}

    def describe(self, retried: int) -> str:
        """The closing summary's line: on or off, and how many task instances it spared a wait."""
        if not self.enabled:
            return "retries: after each task's own retry_delay (--keep-retry-delays)"
        return (f"retries: at once, without the DAGs' retry_delay ({retried} task instance(s) retried); "
                "--keep-retry-delays keeps the delays")

    def shortened_in(self, dag_id: str) -> dict[str, str]:
        return of_dag(self.shortened, dag_id)

    @hookimpl(trylast=True)
    def task_policy(self, task: Any) -> None:
        """After the user's policies, which may set retries themselves."""
        if not self.enabled:
            return
        shortened = _shorten(task)  # a mapped task passes these on to each instance
        if shortened:
            self.shortened[(task.dag_id, task.task_id)] = shortened


def _shorten(task: Any) -> str | None:
    """Zero the delay where there are retries and a delay; the DAG's values, or None."""
    retries, delay = getattr(task, "retries", 0), getattr(task, "retry_delay", NO_DELAY)
    backoff = getattr(task, "retry_exponential_backoff", 0)
    if not retries or (delay == NO_DELAY and not backoff):
        return None
    said = f"retries={retries}, retry_delay={_seconds(delay)}" + (", exponential backoff" if backoff else "")
    task.retry_delay = NO_DELAY
    task.retry_exponential_backoff = False if isinstance(backoff, bool) else 0  # 3.1: bool; from 3.2: factor
    return said


def _seconds(delay: Any) -> str:
    value = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    return f"{value:g}s"
