"""Each task's rendered template fields, read back after ``dag.test()``: what every command,
argument, image and environment variable became for that logical date.

The task runner sends them through the execution API as each task starts, and
Airflow stores them (``rendered_task_instance_fields``) as the UI shows them:
values serialized to JSON-able form, secrets masked. Airflow 3.1, 3.2 and 3.3
share the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_e2e_harness.airflow.capture import task_key
from airflow_e2e_harness.internals.touches import RENDERED_FIELDS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def read_rendered_fields(dag_run: Any, session: Session | None = None) -> dict[str, dict[str, Any]]:
    """``{task_key: {field: rendered value}}`` for the task instances of ``dag_run`` that started."""
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if session is None:
        with create_session() as own:
            return read_rendered_fields(dag_run, own)
    rendered = RENDERED_FIELDS.load()
    rows = select(rendered.task_id, rendered.map_index, rendered.rendered_fields).filter_by(
        dag_id=dag_run.dag_id, run_id=dag_run.run_id,
    )
    found = session.execute(rows)
    return {task_key(task_id, map_index): dict(fields or {}) for task_id, map_index, fields in found}
