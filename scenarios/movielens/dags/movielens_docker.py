"""MovieLens, chapter 10 of "Data Pipelines with Apache Airflow", on one Docker host.

fetch_ratings pulls one day of ratings from the API into /data/ratings/<ds>.json;
rank_movies turns it into /data/rankings/<ds>.csv. Both tasks are containers.

Deployment-specific values come from the environment, as in production:
MOVIELENS_DATA_DIR (host folder mounted at /data) and MOVIELENS_NETWORK (the
user-defined network the API is reachable on, by the name ``movielens``).
The API's address and credentials come from the Airflow connection ``movielens``.
"""

from __future__ import annotations

import os

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import Mount

DATA_DIR = os.environ.get("MOVIELENS_DATA_DIR", "/tmp/airflow/movielens")
NETWORK = os.environ.get("MOVIELENS_NETWORK", "movielens")

# Templated from the logical date only: under Airflow 3's default daily
# timetable `data_interval_end | ds` equals `ds`, which would ask for an empty
# range; `ds_add(ds, 1)` means the same day in scheduled and manual runs alike.
START = "{{ ds }}"
END = "{{ macros.ds_add(ds, 1) }}"

with DAG(
    dag_id="movielens_docker",
    description="Fetch ratings from the MovieLens API and rank movies (DockerOperator).",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    end_date=pendulum.datetime(2026, 3, 1, tz="UTC"),
    catchup=False,
    tags=["movielens", "docker"],
) as dag:
    common = dict(
        mounts=[Mount(target="/data", source=DATA_DIR, type="bind")],
        network_mode=NETWORK,
        mount_tmp_dir=False,
        auto_remove="success",
    )

    fetch_ratings = DockerOperator(
        task_id="fetch_ratings",
        image="movielens-fetch:e2e",
        command=[
            "fetch-ratings",
            "--start-date", START,
            "--end-date", END,
            "--output-path", "/data/ratings/{{ ds }}.json",
            "--host", "http://{{ conn.movielens.host }}:{{ conn.movielens.port }}",
        ],
        environment={
            "MOVIELENS_USER": "{{ conn.movielens.login }}",
            "MOVIELENS_PASSWORD": "{{ conn.movielens.password }}",
        },
        **common,
    )

    rank_movies = DockerOperator(
        task_id="rank_movies",
        image="movielens-rank:e2e",
        command=[
            "rank-movies",
            "--input-path", "/data/ratings/{{ ds }}.json",
            "--output-path", "/data/rankings/{{ ds }}.csv",
            "--min-ratings", "2",
        ],
        **common,
    )

    fetch_ratings >> rank_movies
