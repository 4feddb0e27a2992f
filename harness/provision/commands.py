"""Run an external build command with its output kept in a log file.

Used only where no SDK exists (apt-get, debootstrap, go): the log path is in
the error so a failure can be read after the fact.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.provision.steps import ProvisionError


def log_path(name: str) -> Path:
    path = cache_dir() / "logs" / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def run_logged(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    append: bool = False,
) -> None:
    """Run ``argv``; on failure raise with the log's tail and its path."""
    log = log_path(name)
    merged = dict(os.environ)
    if env:
        merged.update(env)
    with log.open("a" if append else "w") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        proc = subprocess.run(
            list(argv), stdout=out, stderr=subprocess.STDOUT, env=merged, cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise ProvisionError(
            f"{name}: `{' '.join(argv)}` exited {proc.returncode}.\n"
            f"Last lines:\n{tail}\nFull log: {log}"
        )
