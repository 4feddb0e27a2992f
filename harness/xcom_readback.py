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

from typing import Any

from airflow_e2e_harness.capture import task_key


def read_xcoms(dag_run: Any) -> dict[str, dict[str, Any]]:
    """``{task_key: {xcom key: value}}`` for every task instance of ``dag_run``.

    ``task_key`` is ``task`` or ``task[2]`` for a mapped task instance; the keys
    include ``return_value`` and, for ``multiple_outputs``, one per dict key.
    """
    from airflow.models.xcom import XComModel
    from airflow.sdk.bases.xcom import _XComValueWrapper
    from airflow.sdk.execution_time.xcom import resolve_xcom_backend
    from airflow.utils.session import create_session
    from sqlalchemy import select

    backend = resolve_xcom_backend()  # the user's custom backend, if configured
    query = select(XComModel.task_id, XComModel.map_index, XComModel.key, XComModel.value).where(
        XComModel.dag_id == dag_run.dag_id, XComModel.run_id == dag_run.run_id,
    )
    found: dict[str, dict[str, Any]] = {}
    with create_session() as session:
        rows = session.execute(query).all()
    for task_id, map_index, key, raw in rows:
        value = backend.deserialize_value(_XComValueWrapper(raw))
        found.setdefault(task_key(task_id, map_index), {})[key] = value
    return found
