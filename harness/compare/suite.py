"""The user's own pytest suite, run once in one version's virtualenv, recording its DAG runs.

The suite runs as the user runs it (their pytest arguments, from the current folder), with
``HARNESS_RECORD_DIR`` set so that each DAG run leaves a record (see record), and its own
artifacts folder, so that each version's run report stays. Its output goes to a log file and,
each line marked with the version, to the terminal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from airflow_e2e_harness.compare.record import RECORD_DIR_VARIABLE, SuiteRecords, load_records
from airflow_e2e_harness.lifecycle import Lifecycle

# pytest's exit codes that mean the suite itself did not run as asked (interrupted, internal
# error, usage error, nothing collected); 0 and 1 (tests failed) leave runs to compare.
SUITE_ERRORS = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}
STOP_GRACE = 60.0  # seconds a stopped suite gets for its session's teardown


@dataclass
class SuiteOutcome:
    """How one version's suite ended, and what it recorded."""

    label: str
    returncode: int
    log: Path
    records: SuiteRecords
    seconds: float = 0.0
    installed: dict[str, str] = field(default_factory=dict)  # its virtualenv's distributions -> versions

    @property
    def error(self) -> str | None:
        """Why this suite's runs cannot be compared, or None: pytest did not run the suite
        (an exit code of its own), or it exited non-zero before any DAG run."""
        if self.returncode in SUITE_ERRORS:
            why = f"pytest exit {self.returncode} ({SUITE_ERRORS[self.returncode]})"
        elif self.returncode != 0 and not self.records.runs:
            why = f"pytest exit {self.returncode} before any DAG run"
        else:
            return None
        return f"the suite on {self.label} did not run: {why}; its output: {self.log}\n{self.tail()}"

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(f"    {line}" for line in text.splitlines()[-lines:])


@dataclass
class Suite(Lifecycle):
    """One pytest process in a virtualenv (``with``: started, and stopped if still running).

    :param python: the virtualenv's interpreter.
    :param pytest_args: the user's pytest arguments.
    :param folder: where this version's records, log and artifacts go (emptied first).
    :param label: the version, as each echoed line and the summary name it.
    :param cwd: the folder pytest runs in (the user's project).
    :param echo: where the suite's lines are echoed (None: only to the log).
    """

    python: Path
    pytest_args: Sequence[str]
    folder: Path
    label: str
    cwd: Path = field(default_factory=Path.cwd)
    echo: TextIO | None = field(default_factory=lambda: sys.stderr)
    _proc: subprocess.Popen[str] | None = None

    @property
    def records_dir(self) -> Path:
        return self.folder / "records"

    @property
    def log(self) -> Path:
        return self.folder / "pytest.log"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env[RECORD_DIR_VARIABLE] = str(self.records_dir)
        env["HARNESS_ARTIFACTS_DIR"] = str(self.folder / "artifacts")
        env["VIRTUAL_ENV"] = str(self.python.parent.parent)
        env["PATH"] = os.pathsep.join([str(self.python.parent), env.get("PATH", "")])
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.records_dir.mkdir(parents=True)
        self._proc = subprocess.Popen(
            [str(self.python), "-m", "pytest", *self.pytest_args], cwd=self.cwd, env=self.environment(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1,
        )

    def wait(self) -> SuiteOutcome:
        """Stream the suite's output until it ends; what it recorded."""
        assert self._proc is not None and self._proc.stdout is not None
        with self.log.open("w", encoding="utf-8") as log:
            for line in self._proc.stdout:
                log.write(line)
                if self.echo is not None:
                    self.echo.write(f"  [{self.label}] {line}")
                    self.echo.flush()
        returncode = self._proc.wait()
        return SuiteOutcome(self.label, returncode, self.log, load_records(self.records_dir))

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # the harness takes SIGTERM as Ctrl-C: its session tears down
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
