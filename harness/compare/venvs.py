"""One virtualenv per version to compare, made once and cached in the harness cache.

A virtualenv holds one Airflow version, the user's pins (a constraints file, ``--with``
requirements) and the running harness's wheel. Its folder is named by a key over exactly those
inputs and the Python version, so a second ``compare`` with the same inputs reuses it, and any
change (a new pin, an edited harness) makes a new one. Only the newest few are kept.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.errors import ConfigurationError, HarnessError
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.timing import Timer, default_timer

# Every distribution a virtualenv holds, by its interpreter: name -> version, as JSON.
LIST_INSTALLED = ("import importlib.metadata as m, json, sys; "
                  "json.dump({d.metadata['Name']: d.version for d in m.distributions()}, sys.stdout)")
KEEP = 4  # cached virtualenvs kept (the newest used): two comparisons of two versions; each is ~450 MB
READY = "ready.json"


class VenvNotCreated(HarnessError, RuntimeError):
    """pip could not install a version's virtualenv; the message has the end of its output."""


@dataclass(frozen=True)
class VersionSpec:
    """One side of the comparison: an Airflow version and the user's pins for it.

    :param airflow: the ``apache-airflow`` version, e.g. ``3.3.2``.
    :param constraints: a pip constraints file (the user's pins), or None.
    :param pins: further requirements, e.g. a provider pinned for this side.
    :param label: how the summary names this side.
    """

    airflow: str
    constraints: Path | None = None
    pins: tuple[str, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        try:
            Version(self.airflow)
        except InvalidVersion as err:
            raise ConfigurationError(f"--airflow {self.airflow!r}: not a version ({err})") from err
        for pin in self.pins:
            try:
                Requirement(pin)
            except InvalidRequirement as err:
                raise ConfigurationError(f"--with {pin!r}: not a requirement ({err})") from err
        if self.constraints is not None and not self.constraints.is_file():
            raise ConfigurationError(f"--constraints {self.constraints}: no such file")

    @property
    def requirements(self) -> list[str]:
        return [f"apache-airflow=={self.airflow}", *self.pins]

    def effective_constraints(self) -> str:
        """The constraints file's text without the lines for what the command line names itself
        (``apache-airflow`` and each ``--with`` distribution): those win."""
        if self.constraints is None:
            return ""
        named = {canonicalize_name(Requirement(r).name) for r in self.requirements}
        kept = []
        for line in self.constraints.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
            if match and not line.lstrip().startswith("#") and canonicalize_name(match.group(1)) in named:
                continue
            kept.append(line)
        return "\n".join(kept) + "\n"


def cache_key(spec: VersionSpec, wheel_hash: str, python: str | None = None) -> str:
    """A name for the virtualenv of ``spec``: the Python version, the Airflow version, the
    constraints' content, the pins (in any order) and the harness wheel's content hash."""
    inputs = {
        "python": python or sys.version, "airflow": spec.airflow,
        "constraints": hashlib.sha256(spec.effective_constraints().encode()).hexdigest(),
        "pins": sorted(spec.pins), "harness": wheel_hash,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return f"airflow-{spec.airflow}-{digest}"


def lock_path(venv_path: Path) -> Path:
    """The lock file next to a virtualenv (its name has dots: no with_suffix)."""
    return venv_path.parent / f"{venv_path.name}.lock"


def venvs_root() -> Path:
    return cache_dir() / "compare" / "venvs"


@dataclass
class VersionVenv(Lifecycle):
    """The cached virtualenv of one side, made if missing, locked while in use (``with``).

    :param spec: the version and pins it holds.
    :param wheel: the harness wheel to install.
    :param wheel_hash: that wheel's content hash (see wheel.content_hash), part of the key.
    :param root: where cached virtualenvs live (default: ``<harness cache>/compare/venvs``).
    :param rebuild: make it anew even when cached.
    :param timer: where progress lines and the phase go.
    """

    spec: VersionSpec
    wheel: Path
    wheel_hash: str
    root: Path | None = None
    rebuild: bool = False
    timer: Timer = field(default_factory=default_timer)
    cached: bool = False
    seconds: float = 0.0
    _lock: IO[str] | None = None

    @property
    def key(self) -> str:
        return cache_key(self.spec, self.wheel_hash)

    @property
    def path(self) -> Path:
        return (self.root or venvs_root()) / self.key

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(lock_path(self.path), "a+")  # held until stop()
        fcntl.flock(self._lock, fcntl.LOCK_EX)  # one maker; others wait, then find it made
        with self.timer.phase(f"virtualenv airflow {self.spec.label}") as phase:
            self.cached = not self.rebuild and (self.path / READY).is_file() and self.python.exists()
            if not self.cached:
                self._create()
            (self.path / READY).touch()  # newest used: kept longest
            phase.note = f"cached, {self.path}" if self.cached else f"created, {self.path}"
        self.seconds = phase.seconds
        fcntl.flock(self._lock, fcntl.LOCK_SH)  # in use: prune() leaves it alone
        prune(self.path.parent, keep=KEEP, timer=self.timer)

    def installed(self) -> dict[str, str]:
        """Every distribution installed here (canonical name -> version); empty if that cannot be read."""
        return installed_distributions(self.python)

    def stop(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _create(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)  # a half-made one (killed, failed)
        venv.EnvBuilder(with_pip=True, clear=True).create(self.path)
        argv = [str(self.python), "-m", "pip", "install", "--disable-pip-version-check",
                "--progress-bar", "off"]
        constraints = self.spec.effective_constraints()
        if constraints:
            (self.path / "constraints.txt").write_text(constraints, encoding="utf-8")
            argv += ["-c", str(self.path / "constraints.txt")]
        argv += [*self.spec.requirements, str(self.wheel)]
        env = {k: v for k, v in os.environ.items() if k not in {"PIP_CONSTRAINT", "PIP_REQUIREMENT"}}
        log = self.path / "install.log"
        with log.open("w", encoding="utf-8") as out:
            out.write(" ".join(argv) + "\n")
            out.flush()
            proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        if proc.returncode != 0:
            tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
            raise VenvNotCreated(f"installing airflow {self.spec.airflow} ({self.spec.label}) failed "
                                 f"with exit {proc.returncode}; full output: {log}\n{tail}")
        inputs = {"airflow": self.spec.airflow, "pins": list(self.spec.pins), "wheel": str(self.wheel),
                  "constraints": str(self.spec.constraints) if self.spec.constraints else None,
                  "python": sys.version, "made": time.strftime("%Y-%m-%dT%H:%M:%S")}
        (self.path / READY).write_text(json.dumps(inputs, indent=1), encoding="utf-8")


def installed_distributions(python: Path) -> dict[str, str]:
    """What the virtualenv of ``python`` holds: canonical name -> version ({} when it cannot say)."""
    try:
        proc = subprocess.run([str(python), "-c", LIST_INSTALLED], capture_output=True, text=True,
                              timeout=120)
        found = json.loads(proc.stdout) if proc.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}
    return {canonicalize_name(str(name)): str(version) for name, version in sorted(found.items()) if name}


def prune(root: Path, keep: int, timer: Timer | None = None) -> list[Path]:
    """Remove all but the ``keep`` most recently used virtualenvs under ``root``; one in use (locked
    by another ``compare``) or half-made stays. Returns what was removed."""
    made = sorted((p for p in root.iterdir() if (p / READY).is_file()),
                  key=lambda p: (p / READY).stat().st_mtime, reverse=True)
    removed = []
    for path in made[keep:]:
        with open(lock_path(path), "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed and timer is not None:
        timer.log(f"compare: removed {len(removed)} older cached virtualenv(s) under {root}")
    return removed
