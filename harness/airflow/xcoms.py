"""XComs of a finished run, exactly as a downstream task receives them.

A task's return value is serialized by the task SDK and stored, through the
execution API, in the XCom table's JSON column; a downstream pull gets the
raw column value back from the API and decodes it once, with the configured
XCom backend's ``deserialize_value``. Reading through the metadata DB's
``TaskInstance.xcom_pull`` decodes once more (``XComModel.deserialize_value``
runs ``json.loads`` on it): the str ``'{"a": 1}'`` comes back a dict and
``"42"`` an int. So this reads the raw column and decodes it the SDK's way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_e2e_harness.airflow.capture import task_key
from airflow_e2e_harness.internals.touches import RESOLVE_XCOM_BACKEND, TASK_INSTANCE, XCOM_MODEL, XCOM_RESULT

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def read_xcoms(dag_run: Any, session: Session | None = None) -> dict[str, dict[str, Any]]:
    """``{task_key: {xcom key: value}}`` for every task instance of ``dag_run``.

    ``task_key`` is ``task``, or ``task[2]`` for a mapped task instance; every
    task instance of the run is there, with ``{}`` when it pushed nothing (a
    task returning None pushes no XCom; a downstream task then receives None).
    The keys are ``return_value`` and, for ``multiple_outputs``, one per dict key.
    Airflow 3.1, 3.2 and 3.3 share the models and helpers it loads (internals.touches).
    """
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if session is None:
        with create_session() as own:
            return read_xcoms(dag_run, own)
    task_instance, xcom_model, xcom_result = TASK_INSTANCE.load(), XCOM_MODEL.load(), XCOM_RESULT.load()
    backend = RESOLVE_XCOM_BACKEND.load()()  # [core] xcom_backend, as the task SDK resolves it
    where = {"dag_id": dag_run.dag_id, "run_id": dag_run.run_id}
    tis = select(task_instance.task_id, task_instance.map_index).filter_by(**where)
    xcoms = select(xcom_model.task_id, xcom_model.map_index, xcom_model.key, xcom_model.value)
    xcoms = xcoms.filter_by(**where)
    found: dict[str, dict[str, Any]] = {
        task_key(task_id, map_index): {} for task_id, map_index in session.execute(tis)
    }
    for task_id, map_index, key, raw in session.execute(xcoms):
        # What BaseXCom.get_one does with the execution API's answer (the raw column value).
        value = None if raw is None else backend.deserialize_value(xcom_result(key=key, value=raw))
        found.setdefault(task_key(task_id, map_index), {})[key] = value
    return found
