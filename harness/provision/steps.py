"""An ordered list of small cached actions, walked like kind's create actions.

Each step names what it was built from (its cache key) and how to tell that
its output is already there, so a warm run is a walk printing "cached".
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.housekeeping.leases import exclusive
from airflow_e2e_harness.timing import Timer, default_timer


class ProvisionError(HarnessError, RuntimeError):
    """A provisioning step failed; the message says which and where its log is."""


class Step(ABC):
    """One provisioning action with a cache key and an is-done check."""

    name: str = "step"

    @abstractmethod
    def cache_key(self) -> str:
        """What the output was built from; a change invalidates the cache."""

    @abstractmethod
    def outputs_present(self) -> bool:
        """True when the step's product exists (binary, image, package)."""

    @abstractmethod
    def execute(self, timer: Timer) -> None:
        """Produce the output."""

    def _stamp(self) -> Path:
        return cache_dir() / "stamps" / f"{self.name}.json"

    def is_done(self) -> bool:
        stamp = self._stamp()
        if not stamp.exists():
            return False
        try:
            recorded = json.loads(stamp.read_text())["key"]
        except (ValueError, KeyError):
            return False
        return recorded == self.cache_key() and self.outputs_present()

    def mark_done(self) -> None:
        stamp = self._stamp()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({"key": self.cache_key()}))


class UnstampedStep(Step):
    """A step whose product is its own record (an image labelled or tagged by
    its key, installed packages): present means done, and no stamp is kept."""

    def is_done(self) -> bool:
        return self.outputs_present()

    def mark_done(self) -> None:
        pass


def run_steps(steps: Iterable[Step], timer: Timer | None = None) -> None:
    """Run each step that is not done yet, in order; print "cached" for the rest.

    A step runs under a lock of its own, so that sessions side by side (pytest-xdist
    workers on a cold cache) build each thing once: the others wait, then find it done.
    """
    timer = timer or default_timer()
    for step in steps:
        if step.is_done():
            timer.log(f"{step.name}: cached")
            continue
        lock = cache_dir() / "locks" / f"step-{step.name}.lock"
        waiting = f"{step.name}: another session is building it; waiting"
        with exclusive(lock, lambda waiting=waiting: timer.log(waiting)):
            if step.is_done():  # done by another session meanwhile
                timer.log(f"{step.name}: built by another session")
                continue
            with timer.phase(step.name):
                step.execute(timer)
            step.mark_done()
