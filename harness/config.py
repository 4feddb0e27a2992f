"""Where the harness keeps its caches, and the settings users may override.

Everything built here (engine state, base and node images, Go binaries) is
cached outside the repository so that a second run costs seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

APP_NAME = "airflow-e2e-harness"


def cache_dir() -> Path:
    """Root of every cache the harness writes; ``HARNESS_CACHE_DIR`` overrides."""
    from airflow_e2e_harness.options import HarnessOptions

    path = HarnessOptions.from_env().cache_dir
    if path is None:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        path = base / APP_NAME
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for a while, then put back exactly those.

    Child processes (kind, the docker CLI) and code that reads the environment
    when called (DockerOperator's DOCKER_HOST, DAG files) see them meanwhile.
    """
    saved = {key: os.environ.get(key) for key in values}
    for key, new in values.items():
        if new is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = new
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
