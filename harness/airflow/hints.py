"""Name the Airflow 3 change behind a DAG import error or a task's render error, when it can tell.

DAGs written for Airflow 2 fail on Airflow 3 with messages that say what broke,
not why (``unexpected keyword argument 'schedule_interval'``, ``'next_ds' is
undefined``). ruff's AIR rules catch some of these statically; the harness sees
the actual error, so it adds the change and the replacement to the message.

On Airflow 2.11 the opposite happens: a DAG written for Airflow 3 imports what
2.11 lacks (``airflow.sdk``, the standard provider); :func:`hints_here` gives the
hints of the installed line (its adapter, :mod:`.lines`, picks :func:`hints_for` or
:func:`hints_for_airflow_2`).
"""

from __future__ import annotations

import re

from airflow_e2e_harness.airflow.lines import current as airflow_adapter

# Template variables Airflow 3 removed, and what to write instead.
REMOVED_TEMPLATE_VARIABLES = {
    "execution_date": "logical_date",
    "next_ds": "{{ data_interval_end | ds }}",
    "next_ds_nodash": "{{ data_interval_end | ds_nodash }}",
    "next_execution_date": "data_interval_end",
    "prev_ds": "{{ prev_data_interval_start_success | ds }} (or data_interval_start of the run before)",
    "prev_ds_nodash": "{{ prev_data_interval_start_success | ds_nodash }}",
    "prev_execution_date": "prev_data_interval_start_success",
    "prev_execution_date_success": "prev_data_interval_start_success",
    "tomorrow_ds": "{{ macros.ds_add(ds, 1) }}",
    "tomorrow_ds_nodash": "{{ macros.ds_format(macros.ds_add(ds, 1), '%Y-%m-%d', '%Y%m%d') }}",
    "yesterday_ds": "{{ macros.ds_add(ds, -1) }}",
    "yesterday_ds_nodash": "{{ macros.ds_format(macros.ds_add(ds, -1), '%Y-%m-%d', '%Y%m%d') }}",
}

# Modules Airflow 3 moved to providers (the prefix that fails -> where it lives now).
MOVED_MODULES = {
    "airflow.providers.cncf.kubernetes.operators.kubernetes_pod":
        "airflow.providers.cncf.kubernetes.operators.pod (KubernetesPodOperator)",
    "airflow.operators.bash": "airflow.providers.standard.operators.bash",
    "airflow.operators.python": "airflow.providers.standard.operators.python",
    "airflow.operators.empty": "airflow.providers.standard.operators.empty",
    "airflow.operators.trigger_dagrun": "airflow.providers.standard.operators.trigger_dagrun",
    "airflow.sensors.external_task": "airflow.providers.standard.sensors.external_task",
    "airflow.sensors.time_delta": "airflow.providers.standard.sensors.time_delta",
    "airflow.operators.docker_operator": "airflow.providers.docker.operators.docker",
    "airflow.contrib": "the provider packages (airflow.contrib is gone)",
}


# What a DAG written for Airflow 3 imports that Airflow 2.11 lacks, and what both lines accept.
AIRFLOW_3_ONLY_MODULES = {
    "airflow.sdk": "Airflow 2.11 has no task SDK (airflow.sdk): import DAG from airflow and task from "
                   "airflow.decorators, which Airflow 3 accepts too",
    "airflow.providers.standard": "Airflow 2.11 ships these operators in airflow.operators; or install "
                                  "apache-airflow-providers-standard next to it",
}


def hints_here(error: str, source: str = "") -> list[str]:
    """The hints for the installed Airflow line: Airflow 3's changes, or what 2.11 lacks."""
    return airflow_adapter().hints(error, source)


def hints_for_airflow_2(error: str, source: str = "") -> list[str]:
    """What Airflow 2.11 lacks that ``error`` (a traceback or a task log) tripped over."""
    hints = [hint for hint in hints_for(error, source) if "DockerOperator(volumes" in hint]
    for module, instead in AIRFLOW_3_ONLY_MODULES.items():
        if re.search(rf"No module named '{re.escape(module)}(\.|')", error):
            hints.append(instead)
    return hints


def hints_for(error: str, source: str = "") -> list[str]:
    """Airflow 3 changes that explain ``error`` (a traceback or a task log), given the DAG
    file's ``source`` when there is one; empty when none applies."""
    hints: list[str] = []
    if "schedule_interval" in error:
        hints.append("Airflow 3 removed DAG(schedule_interval=...): write schedule=... (a cron string, "
                     "a timedelta, a timetable or None)")
    if re.search(r"unexpected keyword argument 'volumes'", error) or (
            "DockerOperator" in source and re.search(r"\bvolumes\s*=", source) and "volumes" in error):
        hints.append("the docker provider removed DockerOperator(volumes=...): write "
                     "mounts=[docker.types.Mount(target=..., source=..., type='bind')]")
    for module, now in MOVED_MODULES.items():
        if re.search(rf"No module named '{re.escape(module)}(\.|')", error) or (
                module in error and "ModuleNotFoundError" in error):
            hints.append(f"{module} is gone in Airflow 3: import from {now}")
    for name, instead in REMOVED_TEMPLATE_VARIABLES.items():
        if re.search(rf"'{name}' is undefined", error):
            hints.append(f"Airflow 3 removed the template variable {name}: use {instead}")
    return hints
