"""Multi-node kind needs more inotify instances than the kernel's default: raised as root, else
named with the command (a temp folder stands in for /proc/sys/fs/inotify)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_e2e_harness.kubernetes import cluster
from airflow_e2e_harness.kubernetes.cluster import raise_inotify_limits


def fake_proc(tmp_path: Path, instances: int, watches: int) -> Path:
    (tmp_path / "max_user_instances").write_text(f"{instances}\n")
    (tmp_path / "max_user_watches").write_text(f"{watches}\n")
    return tmp_path


def test_low_limits_are_raised_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster.os, "geteuid", lambda: 0)
    proc = fake_proc(tmp_path, 128, 600000)
    line = raise_inotify_limits(proc)
    assert (proc / "max_user_instances").read_text() == "512"
    assert (proc / "max_user_watches").read_text() == "600000\n"  # already above: left alone
    assert "fs.inotify.max_user_instances 128 -> 512" in line


def test_others_get_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster.os, "geteuid", lambda: 1000)
    proc = fake_proc(tmp_path, 128, 8192)
    line = raise_inotify_limits(proc)
    assert "sudo sysctl fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=524288" in line
    assert (proc / "max_user_instances").read_text() == "128\n"


def test_enough_is_left_alone(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 1024, 1048576)
    assert raise_inotify_limits(proc) == "inotify limits: enough for several kind nodes"
