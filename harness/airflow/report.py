"""One self-contained HTML page per session: every DAG run, each as a timeline of its tasks.

People look at a picture of a run before they read its logs. Each run is a
Gantt-style chart (one bar per task instance, placed by its start and end,
coloured by state, with its duration and tries), and under it each task's
rendered template fields, XComs, the Kubernetes events its log recorded, and
its log. No scripts, no external files: the page opens from the artifacts
folder, from a CI artifact store, or embedded in pytest-html's report.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_e2e_harness.airflow.runner import RunResult, TaskResult, when_label

STATE_COLOURS = {
    "success": "#2e7d32", "failed": "#c62828", "upstream_failed": "#ef6c00", "skipped": "#9e9e9e",
    "up_for_retry": "#f9a825", "running": "#1565c0",
}
EVENT = re.compile(r"The Pod has an Event: (.*?) from ")
LOG_LIMIT = 20_000  # characters of each task's log on the page; the full log is linked

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #212121; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.run { border: 1px solid #ddd; border-radius: 6px; padding: 0.5rem 1rem 1rem; margin-bottom: 1.5rem; }
.state { font-weight: 600; } .timeline { margin: 0.75rem 0; }
.row { display: flex; align-items: center; height: 1.6rem; }
.label { width: 14rem; flex: none; font-family: monospace; overflow: hidden; text-overflow: ellipsis; }
.lane { position: relative; flex: 1; height: 1.1rem; background: #f5f5f5; }
.bar { position: absolute; top: 0; height: 100%; min-width: 2px; border-radius: 2px; }
.dur { width: 9rem; flex: none; text-align: right; font-size: 0.85rem; color: #555; }
details { margin: 0.3rem 0; } summary { cursor: pointer; font-family: monospace; }
pre { background: #fafafa; border: 1px solid #eee; padding: 0.5rem; overflow-x: auto; font-size: 0.8rem; }
.legend span { display: inline-block; margin-right: 1rem; font-size: 0.85rem; }
.legend i { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.3rem; }
"""


def write_report(runs: Sequence[RunResult], path: Path, title: str) -> Path:
    """Write the page for ``runs`` to ``path`` (replacing it); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(runs, title), encoding="utf-8")
    return path


def render(runs: Sequence[RunResult], title: str) -> str:
    legend = "".join(f'<span><i style="background:{c}"></i>{s}</span>' for s, c in STATE_COLOURS.items())
    body = "\n".join(_run(n, run) for n, run in enumerate(runs, 1)) or "<p>No DAG runs in this session.</p>"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{_e(title)}</h1><p>{len(runs)} DAG run(s)</p><div class=\"legend\">{legend}</div>"
        f"{body}</body></html>\n"
    )


def _run(n: int, run: RunResult) -> str:
    timed = [t for t in run.tasks.values() if t.started is not None]
    start = min((t.started for t in timed), default=None)  # type: ignore[type-var]
    end = max((t.ended or t.started for t in timed), default=None)  # type: ignore[type-var]
    span = max((end - start).total_seconds(), 0.001) if start and end else 0.0
    rows = "".join(_row(task, start, span) for task in run.tasks.values())
    details = "".join(_details(task) for task in run.tasks.values())
    findings = "".join(f"<li>{_e(f)}</li>" for f in run.findings)
    return (
        f'<section class="run" id="run-{n}" data-dag="{_e(run.dag_id)}" data-state="{_e(run.state)}" '
        f'data-run-type="{_e(run.run_type)}">'
        f"<h2>{_e(run.dag_id)} @ {when_label(run.logical_date)} "
        f'<span class="state" style="color:{_colour(run.state)}">{_e(run.state)}</span> '
        f"<small>({run.seconds:.1f}s, {_e(run.kind)}, run id {_e(run.run_id)})</small></h2>"
        + (f"<ul class=\"findings\">{findings}</ul>" if findings else "")
        + f'<div class="timeline">{rows}</div>{details}'
        + (f'<p><small>logs: {_e(str(run.log_path.parent))}</small></p>' if run.log_path else "")
        + "</section>"
    )


def _row(task: TaskResult, start: datetime | None, span: float) -> str:
    left = width = 0.0
    duration = ""
    if task.started is not None and start is not None and span:
        ended = task.ended or task.started
        left = (task.started - start).total_seconds() / span * 100
        width = max((ended - task.started).total_seconds() / span * 100, 0.2)
        duration = f"{(ended - task.started).total_seconds():.1f}s"
    tries = f", try {task.try_number}" if task.try_number > 1 else ""
    return (
        f'<div class="row task" data-task="{_e(task.task_id)}" data-state="{_e(task.state or "none")}">'
        f'<span class="label" title="{_e(task.task_id)}">{_e(task.task_id)}</span>'
        f'<span class="lane"><span class="bar" style="left:{left:.2f}%;width:{width:.2f}%;'
        f'background:{_colour(task.state)}" title="{_e(task.state or "no state")}"></span></span>'
        f'<span class="dur">{_e(task.state or "no state")} {duration}{tries}</span></div>'
    )


def _details(task: TaskResult) -> str:
    events = EVENT.findall(task.log)
    parts = [
        _block("rendered template fields", _json(task.rendered)) if task.rendered else "",
        _block("XComs", _json(task.xcoms)) if task.xcoms else "",
        _block("pod events", "\n".join(events)) if events else "",
        _block("log" + (f" (last {LOG_LIMIT} characters)" if len(task.log) > LOG_LIMIT else ""),
               task.log[-LOG_LIMIT:]),
    ]
    where = f"<p><small>full log: {_e(str(task.log_path))}</small></p>" if task.log_path else ""
    return (f'<details class="task-details" data-task="{_e(task.task_id)}"><summary>{_e(task.task_id)}'
            f"</summary>{''.join(parts)}{where}</details>")


def _block(name: str, text: str) -> str:
    kind = _e(name.split()[0])
    return f'<details open class="{kind}"><summary>{_e(name)}</summary><pre>{_e(text)}</pre></details>'


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, sort_keys=True)


def _colour(state: str | None) -> str:
    return STATE_COLOURS.get(state or "", "#757575")


def _e(text: str) -> str:
    return html.escape(text, quote=True)
