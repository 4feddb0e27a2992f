"""End-to-end test harness for Airflow DAGs whose tasks run in containers.

The library never imports pytest: the pytest plugin in ``fixtures/`` only
wires these objects together, so the same pieces work from a script or the
``python -m airflow_e2e_harness`` command line.
"""

from airflow_e2e_harness.airflow.runner import DagRunFailed, RunResult
from airflow_e2e_harness.airflow.schedule_drift import ScheduleDrift
from airflow_e2e_harness.airflow.scheduled_runs import NotOnSchedule
from airflow_e2e_harness.environment import DockerEnvironment, KindEnvironment, Service
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.session import E2ESession, KeepOptions, KindOptions

__all__ = [
    "DagRunFailed", "DockerEnvironment", "E2ESession", "HarnessError", "KeepOptions", "KindEnvironment",
    "KindOptions", "NotOnSchedule", "RunResult", "ScheduleDrift", "Service",
]
