"""stop_process on a real child process (no Docker daemon): once it has exited it is reaped and
counted as stopped, not waited for as if alive and then sent SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_e2e_harness.docker import daemon
from airflow_e2e_harness.docker.daemon import stop_process


def test_a_child_of_this_process_is_reaped_not_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    pidfile = tmp_path / "pid"
    pidfile.write_text(str(child.pid))
    sent: list[int] = []
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        sent.append(sig)
        real_kill(pid, sig)

    monkeypatch.setattr(daemon.os, "kill", kill)
    assert stop_process(pidfile, timeout=30) is True
    assert signal.SIGKILL not in sent, "the exited child looked alive until the wait ran out"
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # reaped already
    assert not pidfile.exists()
