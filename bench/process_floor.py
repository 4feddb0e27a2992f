"""The floor of any process that runs a DAG with Airflow: what the rerun loop pays before the
harness does anything.

A team's smallest check, ``python dags/x.py`` whose ``__main__`` calls ``dag.test()``, of a
DAG with one ``@task`` that returns at once, in an Airflow home migrated beforehand (not
timed): the interpreter, Airflow's imports, its one-time start (on Airflow 3 the in-process
execution API), one task, and the interpreter's exit. No harness code, no container. The
rerun loop (``pytest ... --keep-cluster`` in a new process) pays this at least once, whatever
the harness does; what is above it and above its DAG runs' own floor is what the harness and
pytest add.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stock_dag_test import stock_environment

DAG_ID = "process_floor"
DAG_FILE = f'''
import pendulum

from airflow.sdk import DAG, task

with DAG({DAG_ID!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
    @task
    def ready():
        return "ready"

    ready()

if __name__ == "__main__":
    run = dag.test(logical_date=pendulum.datetime(2026, 1, 2, tz="UTC"))
    if run.state != "success":
        raise SystemExit(f"{{run!r}} did not succeed")
'''


def process_floor_seconds(scratch: Path, rounds: int = 3) -> float:
    """Median wall time over ``rounds`` of ``python dags/process_floor.py`` in a migrated home."""
    home = Path(tempfile.mkdtemp(prefix="process-floor-", dir=scratch))
    dags = home / "dags"
    dags.mkdir()
    dag_file = dags / f"{DAG_ID}.py"
    dag_file.write_text(DAG_FILE)
    env = stock_environment(home, dags)
    log = scratch / "process-floor.log"
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, stdout=out,
                       stderr=subprocess.STDOUT, check=True)
        seconds = []
        for _ in range(rounds):
            start = time.monotonic()
            code = subprocess.run([sys.executable, str(dag_file)], env=env, cwd=home, stdout=out,
                                  stderr=subprocess.STDOUT, check=False).returncode
            seconds.append(time.monotonic() - start)
            if code != 0:
                raise RuntimeError(f"the process floor's dag.test() failed (exit {code}); see {log}")
    return statistics.median(seconds)
