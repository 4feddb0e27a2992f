"""An isolated AIRFLOW_HOME for one test session, with nothing written to the user's.

Airflow reads its configuration when it is first imported, so ``start()``
must run before anything imports ``airflow``; the harness imports it lazily.
Connections and variables are plain ``AIRFLOW_CONN_*`` / ``AIRFLOW_VAR_*``
environment variables, as in many deployments, set by each environment
around its runs (:mod:`airflow_e2e_harness.environment`). Each DAG folder becomes a
local DAG bundle (Airflow 3's ``dag.test()`` only runs DAGs it can find in a
bundle; Airflow 2.11 has no bundles and ignores the setting). The migrated
sqlite database is cached per Airflow version, so a session pays for the
migration once per machine.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from airflow_e2e_harness.airflow import lines
from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.errors import InputNotFound
from airflow_e2e_harness.internals.touches import INIT_DB
from airflow_e2e_harness.lifecycle import Lifecycle


class AirflowHome(Lifecycle):
    """Owns the environment variables that point Airflow at a private home."""

    def __init__(self, root: Path, *, extra_config: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.extra_config = extra_config or {}
        self.dag_folders: dict[str, Path] = {}
        self._saved: dict[str, str | None] = {}
        self._migrated = False

    @property
    def db_path(self) -> Path:
        return self.root / "airflow.db"

    def _set(self, key: str, value: str) -> None:
        if key not in self._saved:
            self._saved[key] = os.environ.get(key)
        os.environ[key] = value

    def start(self) -> None:
        """Point Airflow here; safe only before ``airflow`` is imported. Chooses the Airflow line's
        adapter first: an unsupported Airflow fails here, before anything starts."""
        lines.current()
        self.root.mkdir(parents=True, exist_ok=True)
        template = self._db_template()
        if template.exists() and not self.db_path.exists():
            shutil.copyfile(template, self.db_path)  # written by backup(): self-contained
            self._migrated = True
        settings = {
            "AIRFLOW_HOME": str(self.root),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.root / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.root / "logs"),
            "AIRFLOW__CORE__FERNET_KEY": "",
            # Airflow keeps the last 2 frames of an import error: often not the DAG file's own line.
            "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH": "50",
            **lines.current().home_settings,
            **self.extra_config,
        }
        for key, value in settings.items():
            self._set(key, value)
        self._write_bundles()

    def stop(self) -> None:
        for key, old in self._saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self._saved.clear()

    # -- configuration that changes during a session ----------------------------------------
    def add_dag_folder(self, folder: Path) -> str:
        """Register ``folder`` as a DAG bundle; returns the bundle name."""
        folder = Path(folder).resolve()
        if not folder.is_dir():
            raise InputNotFound(
                f"DAG folder {folder} does not exist. Pass the folder that holds your DAG files."
            )
        for name, path in self.dag_folders.items():
            if path == folder:
                return name
        base = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{folder.parent.name}-{folder.name}").strip("-")
        name, n = base, 1
        while name in self.dag_folders:
            n += 1
            name = f"{base}-{n}"
        self.dag_folders[name] = folder
        self._write_bundles()
        return name

    def _write_bundles(self) -> None:
        bundles = [
            {
                "name": name,
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(path)},
            }
            for name, path in self.dag_folders.items()
        ]
        self._set("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))

    # -- metadata database -------------------------------------------------------------------
    def _db_template(self) -> Path:
        return cache_dir() / "airflow-db" / f"airflow-{lines.current().core_version}.db"

    def migrate(self) -> None:
        """Create the metadata DB (``dag.test()`` needs one), from the cache when possible."""
        if self._migrated:
            return
        init_db = INIT_DB.load()  # imported late: configuration (logging too) is read at import
        with root_logging_kept():
            init_db()
        template = self._db_template()
        template.parent.mkdir(parents=True, exist_ok=True)
        tmp = template.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        # Airflow's sqlite runs in WAL mode: a file copy could miss the tables.
        with closing(sqlite3.connect(self.db_path)) as src, closing(sqlite3.connect(tmp)) as dst:
            src.backup(dst)
        tmp.replace(template)
        self._migrated = True



@contextmanager
def root_logging_kept() -> Iterator[None]:
    """Airflow 2.11's migrations run alembic's ``fileConfig``, which sets the root logger to WARNING
    with a stderr handler of its own: dag.test()'s INFO lines (each task's start and end, which
    split the run's log by task) would be lost. The root logger is put back as it was."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
