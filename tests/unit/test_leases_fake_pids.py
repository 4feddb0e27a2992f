"""Leases count live processes only: fake lease files for dead and recycled pids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_e2e_harness.housekeeping.leases import Holder, Leases, process_start_time


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_this_process_is_alive_and_a_finished_one_is_not() -> None:
    assert Holder.me().alive()
    assert not Holder(dead_pid(), None).alive()


def test_a_recycled_pid_does_not_count() -> None:
    """Same pid, another start time: not the process that took the lease."""
    me = Holder.me()
    assert me.start is not None and me.start == process_start_time(os.getpid())
    assert not Holder(me.pid, str(int(me.start) - 1)).alive()


def test_prune_drops_dead_and_unreadable_leases(tmp_path: Path) -> None:
    leases = Leases(tmp_path / "leases")
    leases.add("live")
    leases.add("dead", Holder(dead_pid(), "1"))
    (tmp_path / "leases" / "torn.json").write_text("{")  # a writer killed mid-write

    with leases.locked():
        assert leases.prune() == ["live"]
    assert sorted(p.name for p in (tmp_path / "leases").glob("*.json")) == ["live.json"]
    assert json.loads((tmp_path / "leases" / "live.json").read_text())["pid"] == os.getpid()


def test_the_lock_excludes_another_process(tmp_path: Path) -> None:
    leases = Leases(tmp_path / "leases")
    probe = (
        "import fcntl, sys; f = open(sys.argv[1], 'a')\n"
        "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('got')\n"
        "except BlockingIOError:\n    print('blocked')\n"
    )
    lock = str(tmp_path / "leases" / ".lock")
    with leases.locked():
        held = subprocess.run([sys.executable, "-c", probe, lock], capture_output=True, text=True).stdout
    free = subprocess.run([sys.executable, "-c", probe, lock], capture_output=True, text=True).stdout
    assert (held.strip(), free.strip()) == ("blocked", "got")
