"""What a downstream task receives of every kind of return value.

``receive`` writes the repr and type of each value it got into the JSON file
named by ``PYTHON_XCOMS_OUT``; the test compares the harness's read-back
(``RunResult.xcoms``) with it.
"""

from __future__ import annotations

import json
import os

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike

try:
    from airflow.sdk import task
except ImportError:  # Airflow 2.11: no task SDK
    from airflow.decorators import task

with DAG(
    dag_id="python_xcoms",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["xcom"],
):

    @task
    def json_string() -> str:
        return '{"file": "a.txt", "total": 3}'

    @task
    def numeric_string() -> str:
        return "42"

    @task
    def null_string() -> str:
        return "null"

    @task
    def a_dict() -> dict:
        return {"rows": 42, "nested": {"ok": True}}

    @task
    def a_list() -> list:
        return [1, "two", None]

    @task
    def nothing() -> None:
        return None

    @task
    def an_int() -> int:
        return 7

    @task
    def a_float() -> float:
        return 2.5

    @task
    def a_bool() -> bool:
        return False

    @task
    def a_tuple() -> tuple:
        return (1, 2)

    @task
    def mapped(n: int) -> str:
        return str(n * 10)

    @task(multiple_outputs=True)
    def several() -> dict:
        return {"count": "3", "names": ["a", "b"]}

    @task
    def receive(values: dict, mapped_values: list, count: str, names: list) -> None:
        seen = {k: [repr(v), type(v).__name__] for k, v in values.items()}
        seen["mapped"] = [[repr(v), type(v).__name__] for v in mapped_values]
        seen["several.count"] = [repr(count), type(count).__name__]
        seen["several.names"] = [repr(names), type(names).__name__]
        with open(os.environ["PYTHON_XCOMS_OUT"], "w") as handle:
            json.dump(seen, handle)

    outputs = several()
    receive(
        {
            "json_string": json_string(), "numeric_string": numeric_string(), "null_string": null_string(),
            "a_dict": a_dict(), "a_list": a_list(), "nothing": nothing(), "an_int": an_int(),
            "a_float": a_float(), "a_bool": a_bool(), "a_tuple": a_tuple(),
        },
        mapped.expand(n=[1, 2, 3]),
        outputs["count"],
        outputs["names"],
    )
