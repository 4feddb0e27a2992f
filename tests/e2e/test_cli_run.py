"""``python -m airflow_e2e_harness run``, as a user types it: scheduled runs of a range, and an
off-schedule date refused before anything starts (scenarios/schedules on the session's daemon)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_e2e_harness.environment import DockerEnvironment
from tests.e2e.expected import SCHEDULES

pytestmark = [pytest.mark.e2e, pytest.mark.docker]


def cli(env: DockerEnvironment, *args: str) -> subprocess.CompletedProcess[str]:
    """The command on this session's daemon (its images built already); the cache is shared."""
    return subprocess.run(
        [sys.executable, "-m", "airflow_e2e_harness", "run", *args,
         "--dags", str(SCHEDULES / "dags"), "--images", str(SCHEDULES / "images")],
        capture_output=True, text=True, env=dict(os.environ) | env.session.daemon.env(), timeout=600,
    )


def test_until_runs_every_scheduled_run_of_the_range_in_order(
    schedules_docker: DockerEnvironment, tmp_path: Path,
) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    done = cli(schedules_docker, "export_data_interval", "2026-01-01", "--until", "2026-01-02",
               "--env", f"EXPORT_DATA_DIR={out}")
    assert done.returncode == 0, done.stdout + done.stderr
    said = [line for line in done.stdout.splitlines() if line.startswith("DAG ")]
    assert said == [
        "DAG export_data_interval @ 2026-01-01 (scheduled, data interval 2026-01-01T00:00:00+00:00 to "
        "2026-01-02T00:00:00+00:00) -> success",
        "DAG export_data_interval @ 2026-01-02 (scheduled, data interval 2026-01-02T00:00:00+00:00 to "
        "2026-01-03T00:00:00+00:00) -> success",
    ], done.stdout
    assert sorted(p.name for p in (out / "export_data_interval").iterdir()) == [
        "2026-01-01T00:00:00+00:00_2026-01-02T00:00:00+00:00.txt",
        "2026-01-02T00:00:00+00:00_2026-01-03T00:00:00+00:00.txt",
    ]


def test_an_off_schedule_date_is_an_error_naming_the_scheduled_runs(
    schedules_docker: DockerEnvironment,
) -> None:
    done = cli(schedules_docker, "export_cron_trigger", "2026-01-05", "--scheduled")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error: DAG 'export_cron_trigger': 2026-01-05T00:00:00+00:00 is not a logical date" in done.stderr
    assert "2026-01-04T06:30:00+00:00 and 2026-01-05T06:30:00+00:00" in done.stderr
    assert "DAG export_cron_trigger @" not in done.stdout, "nothing ran"
