"""Phases with elapsed time, and the closing summary of where the time went."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Phase:
    name: str
    seconds: float
    note: str = ""


@dataclass
class Timer:
    """Records named phases; prints a line when each starts and ends.

    A phase that takes long prints a heartbeat every ``heartbeat`` seconds so
    that a user watching a cold build sees it is alive.
    """

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    heartbeat: float = 30.0
    label: str = ""  # e.g. a pytest-xdist worker id, so interleaved lines say whose they are
    phases: list[Phase] = field(default_factory=list)
    _t0: float = field(default_factory=time.monotonic)

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self._t0
        who = f"harness {self.label}" if self.label else "harness"
        print(f"[{who} {elapsed:7.1f}s] {message}", file=self.stream, flush=True)

    @contextmanager
    def phase(self, name: str) -> Iterator[Phase]:
        record = Phase(name, 0.0)
        start = time.monotonic()
        self.log(f"{name} ...")
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat):
                self.log(f"{name}: still running ({time.monotonic() - start:.0f}s)")

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield record
        except BaseException:
            record.seconds = time.monotonic() - start
            record.note = (record.note + " FAILED").strip()
            self.phases.append(record)
            self.log(f"{name}: failed after {record.seconds:.1f}s")
            raise
        finally:
            stop.set()
        record.seconds = time.monotonic() - start
        self.phases.append(record)
        suffix = f" ({record.note})" if record.note else ""
        self.log(f"{name}: done in {record.seconds:.1f}s{suffix}")

    def restart(self) -> None:
        """Forget the phases and start the clock again: the next summary is of what follows (a
        rerun in the same process, see :mod:`airflow_e2e_harness.loop`)."""
        self.phases.clear()
        self._t0 = time.monotonic()

    def record(self, name: str, seconds: float, note: str = "") -> None:
        self.phases.append(Phase(name, seconds, note))

    def summary(self) -> str:
        if not self.phases:
            return "no timed phases"
        total = time.monotonic() - self._t0
        width = max(len(p.name) for p in self.phases)
        lines = ["where the time went:"]
        for p in self.phases:
            note = f"  {p.note}" if p.note else ""
            lines.append(f"  {p.name:<{width}}  {p.seconds:8.1f}s{note}")
        lines.append(f"  {'total wall time':<{width}}  {total:8.1f}s")
        return "\n".join(lines)


_default: Timer | None = None


def default_timer() -> Timer:
    """One process-wide timer so that library objects and fixtures share a summary."""
    global _default
    if _default is None:
        _default = Timer()
    return _default
