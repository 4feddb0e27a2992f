"""``python -m airflow_e2e_harness compare``: the user's own suite once per Airflow version, each in a
cached virtualenv, and what differs between the versions' DAG runs (see docs/compare.md).

Inside a suite only :mod:`.record` runs; the rest runs in the process that compares.
"""
