"""Where a manual ``dag.test()`` run differs from the scheduled run of the same logical date.

Both runs share the logical date (``ds``, ``ts``, ``logical_date``); what can
differ is the data interval (for data-interval timetables a manual run's
interval ends where the scheduled one starts), the run's identity (run id,
run type, run_after), and what earlier runs left (``prev_*_success``). A
template only drifts if it uses one of those, so each task's template fields
are parsed with its own Jinja environment and searched for them. Python
callables reading the context directly are not seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from airflow_e2e_harness.airflow.scheduled_runs import RunPlan

INTERVAL = "interval"  # what data the run covers: the drift that changes results
RUN_TYPE = "run type"  # DAGs branch on it (skip work in manual runs, ...)
IDENTITY = "identity"  # run id, run type, run_after: always differ, matter for paths and branching
HISTORY = "history"  # depends on earlier runs: right only when dates run in order

HISTORY_VARIABLES = (
    "prev_data_interval_start_success", "prev_data_interval_end_success",
    "prev_start_date_success", "prev_end_date_success",
)


@dataclass(frozen=True)
class Drift:
    """One template field that renders differently in the two runs, and why."""

    task_id: str
    field: str
    variable: str  # as the template writes it: "data_interval_end", "dag_run.run_type", ...
    kind: str  # INTERVAL, RUN_TYPE, IDENTITY or HISTORY
    manual: str
    scheduled: str

    def __str__(self) -> str:
        where = f"{self.task_id}.{self.field} uses {self.variable}"
        if self.kind == HISTORY:
            return f"{where}, which comes from earlier runs: only dates run in order (run_catchup) get " \
                   f"production's value"
        return f"{where}: {self.manual} under dag.test(), {self.scheduled} in the scheduled run"


@dataclass
class ScheduleDrift:
    """What ``schedule_drift`` found for one DAG and logical date."""

    dag_id: str
    manual: RunPlan
    scheduled: RunPlan
    differences: list[Drift] = field(default_factory=list)

    @property
    def interval_differs(self) -> bool:
        return self.manual.data_interval != self.scheduled.data_interval

    def of_kind(self, *kinds: str) -> list[Drift]:
        return [d for d in self.differences if d.kind in kinds]

    def describe(self) -> str:
        lines = [f"DAG {self.dag_id}, logical date {self.scheduled.logical_date.isoformat()}:",
                 f"  dag.test(): {self.manual.describe()}", f"  scheduler:  {self.scheduled.describe()}"]
        lines += [f"  ~ {d}" for d in self.differences] or ["  no template field uses what differs"]
        return "\n".join(lines)


def schedule_drift(dag: Any, manual: RunPlan, scheduled: RunPlan) -> ScheduleDrift:
    """Every template field of ``dag`` that renders differently in ``manual`` and ``scheduled``."""
    values = _values(manual, scheduled)
    drift = ScheduleDrift(dag.dag_id, manual, scheduled)
    for task in dag.tasks:
        for name, variables in template_variables(task).items():
            for variable in sorted(variables):
                if variable not in values:
                    continue
                kind, before, after = values[variable]
                if before != after:
                    drift.differences.append(Drift(task.task_id, name, variable, kind, before, after))
    return drift


def template_variables(task: Any) -> dict[str, set[str]]:
    """``{field: variables its templates use}``, a ``dag_run`` attribute as ``dag_run.<attr>``."""
    import jinja2

    try:
        env = task.get_template_env()
    except Exception:  # noqa: BLE001 - a task whose environment fails fails its own run, loudly
        return {}
    found: dict[str, set[str]] = {}
    for name in getattr(task, "template_fields", ()):
        names: set[str] = set()
        for text in _strings(getattr(task, name, None), 0):
            source = _template_source(env, text, getattr(task, "template_ext", ()))
            try:
                names |= _variables(env.parse(source))
            except jinja2.TemplateSyntaxError:
                continue  # rendering reports it in the run
        if names:
            found[name] = names
    return found


def _variables(ast: Any) -> set[str]:
    from jinja2 import meta, nodes

    names = set(meta.find_undeclared_variables(ast))
    for node in ast.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "dag_run":
            names.add(f"dag_run.{node.attr}")
    return names


def _values(manual: RunPlan, scheduled: RunPlan) -> dict[str, tuple[str, str, str]]:
    """``{variable: (kind, value under dag.test, value when scheduled)}`` for what can differ."""

    def interval(plan: RunPlan, end: int) -> str:
        return "None" if plan.data_interval is None else plan.data_interval[end].isoformat()

    values = {
        "data_interval_start": (INTERVAL, interval(manual, 0), interval(scheduled, 0)),
        "data_interval_end": (INTERVAL, interval(manual, 1), interval(scheduled, 1)),
        "run_id": (IDENTITY, manual.run_id, scheduled.run_id),
        "dag_run.run_type": (RUN_TYPE, manual.run_type, scheduled.run_type),
        "dag_run.run_id": (IDENTITY, manual.run_id, scheduled.run_id),
        "dag_run.run_after": (IDENTITY, manual.run_after.isoformat(), scheduled.run_after.isoformat()),
    }
    for attr in ("data_interval_start", "data_interval_end"):
        values[f"dag_run.{attr}"] = values[attr]
    for variable in HISTORY_VARIABLES:
        values[variable] = (HISTORY, "earlier runs of this session", "the previous scheduled run")
    return values


def _template_source(env: Any, text: str, template_ext: Any) -> str:
    """A field naming a template file (``template_ext``) is templated by the file's text."""
    if isinstance(template_ext, str):
        template_ext = (template_ext,)
    if any(text.endswith(ext) for ext in template_ext or ()):
        try:
            return env.loader.get_source(env, text)[0]
        except Exception:  # noqa: BLE001 - not found: rendering fails the same way in the run
            return text
    return text


def _strings(value: Any, depth: int) -> Iterator[str]:
    """Every string a template field holds, through lists, dicts and nested templated objects."""
    if depth > 8 or value is None:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, depth + 1)
    elif hasattr(value, "template_fields"):  # nested templated objects render their own fields
        for name in value.template_fields:
            yield from _strings(getattr(value, name, None), depth + 1)
    elif hasattr(value, "openapi_types"):  # kubernetes models (env vars, volumes, ...)
        for name in value.openapi_types:
            yield from _strings(getattr(value, name, None), depth + 1)
