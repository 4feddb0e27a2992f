"""XComs of a finished run, exactly as a downstream task receives them.

A task's return value is serialized by the task SDK and stored, through the
execution API, in the XCom table's JSON column; a downstream pull gets the
raw column value back from the API and decodes it once, with the configured
XCom backend's ``deserialize_value``. Reading through the metadata DB's
``TaskInstance.xcom_pull`` decodes once more (``XComModel.deserialize_value``
runs ``json.loads`` on it): the str ``'{"a": 1}'`` comes back a dict and
``"42"`` an int. So this reads the raw column and decodes it the SDK's way.

Airflow 2.11 has no execution API: a downstream task's pull reads the XCom rows
from the metadata DB and decodes each once with the configured backend's
``deserialize_value``; so does this.
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
    Airflow 3.1, 3.2 and 3.3 share the models and helpers it loads; 2.11 has its own
    (internals.touches).
    """
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if session is None:
        with create_session() as own:
            return read_xcoms(dag_run, own)
    task_instance, xcom_model = TASK_INSTANCE.load(), XCOM_MODEL.load()
    backend = RESOLVE_XCOM_BACKEND.load()()  # [core] xcom_backend, as the task SDK resolves it
    where = {"dag_id": dag_run.dag_id, "run_id": dag_run.run_id}
    tis = select(task_instance.task_id, task_instance.map_index).filter_by(**where)
    found: dict[str, dict[str, Any]] = {
        task_key(task_id, map_index): {} for task_id, map_index in session.execute(tis)
    }
    if not XCOM_RESULT.applies:  # Airflow 2.11: the columns TaskInstance.xcom_pull hands the backend
        columns = (backend.run_id, backend.task_id, backend.dag_id, backend.map_index, backend.key,
                   backend.value)
        for row in session.execute(select(*columns).filter_by(**where)):
            value = None if row.value is None else backend.deserialize_value(row)
            found.setdefault(task_key(row.task_id, row.map_index), {})[row.key] = value
        return found
    xcom_result = XCOM_RESULT.load()
    xcoms = select(xcom_model.task_id, xcom_model.map_index, xcom_model.key, xcom_model.value)
    xcoms = xcoms.filter_by(**where)
    for task_id, map_index, key, raw in session.execute(xcoms):
        # What BaseXCom.get_one does with the execution API's answer (the raw column value).
        value = None if raw is None else backend.deserialize_value(xcom_result(key=key, value=raw))
        found.setdefault(task_key(task_id, map_index), {})[key] = value
    return found
