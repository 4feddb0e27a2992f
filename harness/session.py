"""One test session's identity, scratch space and keep-for-debugging choices."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class KeepOptions:
    """What to leave behind for debugging; everything is cleaned up by default."""

    daemon: bool = False
    cluster: bool = False
    resources: bool = False  # service containers, networks, temp dirs


@dataclass
class HarnessSession:
    artifacts_root: Path
    keep: KeepOptions = field(default_factory=KeepOptions)
    id: str = field(default_factory=lambda: time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}")
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="airflow-e2e-")))

    @property
    def artifacts_path(self) -> Path:
        return self.artifacts_root / self.id

    @property
    def artifacts_dir(self) -> Path:
        """The artifacts path, created on first use (a passing run leaves none)."""
        self.artifacts_path.mkdir(parents=True, exist_ok=True)
        return self.artifacts_path

    @property
    def short_id(self) -> str:
        return self.id.rsplit("-", 1)[-1]

    def cleanup(self) -> None:
        if not self.keep.resources:
            shutil.rmtree(self.scratch, ignore_errors=True)
