"""The alternative the harness is measured against: plain ``dag.test()``, as a team writes it.

Run by ``bench.run`` in a process of its own, with no harness code loaded: no
cluster policies, no patched waits, the providers' defaults. The process gets
what a team's own script would set: ``AIRFLOW_HOME`` (a fresh one, migrated with
``airflow db migrate`` before anything is timed), the DAGs folder (``dag.test()``
syncs the DAG from it on Airflow 3), no example DAGs, the DAG's connection and
deployment variables, ``KUBECONFIG`` and ``DOCKER_HOST`` of the bench's cluster
and daemon. The DAG file is executed as ``python dags/x.py`` would, and its DAG's
``test()`` is called once per day; the first day is a warm-up (Airflow's
one-time start), as the harness's own warm-up run is, and is not reported.

    python -m bench.stock_dag_test OUT DAG_FILE DAG_ID WARM_UP_DAY DAY [DAY ...]

Writes one JSON object to OUT (stdout is the DAG runs' own log):
``{"runs": [[day, seconds, state], ...]}`` in the order run (days may repeat: rounds).
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def stock_environment(home: Path, dags: Path) -> dict[str, str]:
    """This process's environment without Airflow or harness settings, plus what a team's own
    script sets: the home, the DAGs folder ``dag.test()`` syncs from, no example DAGs."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HARNESS_"))}
    return clean | {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def migrate() -> None:
    """The metadata DB, as a team's CI would make it (the ``airflow`` CLI of this interpreter)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def find_dag(dag_file: str, dag_id: str) -> Any:
    """The DAG object the file defines, found as its ``if __name__ == "__main__"`` block would use it."""
    from airflow.sdk import DAG

    namespace = runpy.run_path(dag_file, run_name="stock_dag_test")
    for value in namespace.values():
        if isinstance(value, DAG) and value.dag_id == dag_id:
            return value
    raise SystemExit(f"{dag_file}: no DAG {dag_id!r} at module level")


def main(argv: list[str]) -> int:
    out, dag_file, dag_id, warm_up, *days = argv
    migrate()
    dag = find_dag(dag_file, dag_id)
    runs: list[tuple[str, float, str]] = []
    for n, day in enumerate([warm_up, *days]):
        logical_date = datetime.fromisoformat(day).replace(tzinfo=UTC)
        start = time.monotonic()
        dag_run = dag.test(logical_date=logical_date)
        if n:
            runs.append((day, time.monotonic() - start, str(dag_run.state)))
    Path(out).write_text(json.dumps({"runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
