"""The Airflow line the tests run on, and the skip for what Airflow 2.11 lacks.

A test that cannot hold on 2.11 says what 2.11 lacks (docs/compatibility.md lists them all);
everything else runs on 2.11 and 3.x alike, from the same DAG files.
"""

from __future__ import annotations

import pytest

from airflow_e2e_harness.airflow.lines import is_airflow_2

AIRFLOW_2 = is_airflow_2()


def needs_airflow_3(lacks: str) -> pytest.MarkDecorator:
    """Skip on Airflow 2.11, whose lack of ``lacks`` the test depends on (the reason names it)."""
    return pytest.mark.skipif(AIRFLOW_2, reason=f"Airflow 2.11 lacks {lacks}")
