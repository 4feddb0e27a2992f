"""A nested pytest session run as a user runs one, to be interrupted, killed or run side by side.

The inner test prints ``SESSION <id> ...`` once its environments are up; the
outer test waits for that line, then does what it tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import OUTER_CACHE

# A shell without job control (CI runners, `cmd &`) starts its children with
# SIGINT ignored, and Python then installs no KeyboardInterrupt handler: a
# Ctrl-C test has to put the default handler back itself.
RESTORE_SIGINT_AND_RUN_PYTEST = (
    "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.exit(pytest.main(sys.argv[1:]))"
)


def start_inner(tmp_path: Path, test_source: str, *extra_args: str) -> subprocess.Popen[str]:
    """The inner session in its own process group (a terminal's Ctrl-C reaches the whole group)."""
    (tmp_path / "test_inner.py").write_text(test_source)
    args = ["-s", "-p", "no:cacheprovider", str(tmp_path / "test_inner.py"),
            f"--artifacts-dir={tmp_path / 'artifacts'}", *extra_args]
    return subprocess.Popen(
        [sys.executable, "-c", RESTORE_SIGINT_AND_RUN_PYTEST, *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, HARNESS_CACHE_DIR=str(OUTER_CACHE)), start_new_session=True,
    )


def wait_for_line(
    proc: subprocess.Popen[str], output: list[str], match: Callable[[str], bool], what: str,
    timeout: float = 240,
) -> str:
    """What ``proc`` printed from now up to and including the first line ``match`` accepts; all it
    printed goes to ``output``."""
    assert proc.stdout is not None
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line)
        seen.append(line)
        if match(line):
            return "".join(seen)
    raise AssertionError(f"{what}:\n" + "".join(output))


def wait_for_session(proc: subprocess.Popen[str], output: list[str], timeout: float = 240) -> str:
    """The inner session's id, once it printed its SESSION line; what it printed goes to ``output``."""
    text = wait_for_line(proc, output, lambda line: line.startswith("SESSION "),
                         "the inner session never started its run", timeout)
    return text.splitlines()[-1].split()[1]


def wait_until(check: Callable[[], object], what: str, timeout: float = 120) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def interrupt(proc: subprocess.Popen[str], signum: int, output: list[str]) -> tuple[str, float]:
    """Send ``signum`` to the inner session's process group; (everything it printed, seconds to exit)."""
    sent = time.monotonic()
    os.killpg(proc.pid, signum)
    rest, _ = proc.communicate(timeout=120)
    return "".join(output) + rest, time.monotonic() - sent


def stop_inner(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
