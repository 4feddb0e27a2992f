"""Airflow cluster policies the harness registers for a session: they change tasks (never DAG files)
so that they reach the session's daemon and cluster, run the images built here, wait less, retry at once."""
