"""The comparison as one self-contained HTML page, in the run report's style (its CSS and helpers):
per version pair, a table of differences for each DAG run that differs, then the runs that are the
same, the DAG imports, and links to each version's own run report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from airflow_e2e_harness.airflow.report import STYLE, _colour, _e, _json
from airflow_e2e_harness.compare.diff import ADDED, REMOVED, Comparison, Difference, RunPair, airflow_first
from airflow_e2e_harness.compare.suite import SuiteOutcome

EXTRA_STYLE = """
table.diff { border-collapse: collapse; width: 100%; margin: 0.5rem 0; }
table.diff td, table.diff th { border: 1px solid #e0e0e0; padding: 0.25rem 0.5rem; vertical-align: top;
  text-align: left; font-size: 0.85rem; }
table.diff td.address { font-family: monospace; white-space: nowrap; }
table.diff pre { margin: 0; border: none; padding: 0; background: none; white-space: pre-wrap;
  overflow-wrap: anywhere; }
tr.allowed { color: #757575; } .absent { color: #9e9e9e; font-style: italic; }
.verdict { font-weight: 600; }
"""


def render(comparisons: Sequence[Comparison], outcomes: Sequence[SuiteOutcome], title: str,
           out: Path) -> str:
    failing = sum(len(c.unallowed) for c in comparisons)
    errors = [o.error for o in outcomes if o.error]
    if errors:
        verdict = "".join(f'<pre class="error">{_e(error)}</pre>' for error in errors)
    elif failing:
        verdict = _verdict("failed", f"{failing} difference(s) not allowed")
    else:
        verdict = _verdict("success", "no difference that is not allowed")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{STYLE}{EXTRA_STYLE}</style></head><body><h1>{_e(title)}</h1>{verdict}"
        + _versions(outcomes, out) + "".join(_comparison(c) for c in comparisons) + "</body></html>\n"
    )


def _verdict(state: str, text: str) -> str:
    return f'<p class="verdict" style="color:{_colour(state)}">{_e(text)}</p>'


def _versions(outcomes: Sequence[SuiteOutcome], out: Path) -> str:
    rows = []
    for o in outcomes:
        reports = sorted(o.log.parent.glob("artifacts/*/report.html"))
        links = " ".join(f'<a href="{_e(p.relative_to(out).as_posix())}">run report</a>' for p in reports)
        rows.append(f'<tr class="version" data-label="{_e(o.label)}"><td>{_e(o.label)}</td>'
                    f"<td>{len(o.records.runs)}</td><td>{o.returncode}</td><td>{o.seconds:.1f}s</td>"
                    f'<td><a href="{_e(o.log.relative_to(out).as_posix())}">pytest log</a> {links}</td></tr>')
    return ('<table class="diff"><tr><th>airflow</th><th>DAG runs</th><th>pytest exit</th><th>suite</th>'
            f"<th></th></tr>{''.join(rows)}</table>")


def _comparison(c: Comparison) -> str:
    differing = [p for p in c.runs if p.differences]
    same = [p for p in c.runs if not p.differences]
    body = "".join(_run(p, c) for p in differing)
    if same:
        items = "".join(f'<li class="same-run" data-run="{_e(p.label)}">{_e(p.label)}</li>' for p in same)
        body += f"<details><summary>{len(same)} run(s) the same</summary><ul>{items}</ul></details>"
    imports = _table(c.imports, c) if c.imports else "<p>same import errors and deprecation warnings</p>"
    return (f'<h2>airflow {_e(c.before)} &rarr; {_e(c.after)}: {len(differing)} of {len(c.runs)} '
            f"DAG run(s) differ</h2>{_installed(c)}{body}"
            f'<section class="run imports"><h2>DAG imports</h2>{imports}</section>')


def _installed(c: Comparison) -> str:
    """The distributions the two virtualenvs hold in different versions: what was compared."""
    if c.installed is None:
        return ""
    if not c.installed:
        return '<p class="installed-same">the same distributions and versions installed</p>'
    rows = "".join(
        f'<tr class="installed" data-distribution="{_e(name)}"><td class="address">{_e(name)}</td>'
        + "".join(f"<td>{_version(version)}</td>" for version in c.installed[name]) + "</tr>"
        for name in airflow_first(c.installed))
    head = f"<tr><th>installed, where it differs</th><th>{_e(c.before)}</th><th>{_e(c.after)}</th></tr>"
    return f'<table class="diff">{head}{rows}</table>'


def _version(version: str | None) -> str:
    return _e(version) if version is not None else '<span class="absent">absent</span>'


def _run(pair: RunPair, c: Comparison) -> str:
    test = f"<small>{_e(pair.key[0])}</small>" if pair.key[0] else ""
    states = " &rarr; ".join(
        f'<span class="state" style="color:{_colour(state)}">{_e(state or "absent")}</span>'
        for state in (r.state if r else None for r in (pair.before, pair.after)))
    return (f'<section class="run" data-run="{_e(pair.label)}"><h2>{_e(pair.label)} {states}</h2>{test}'
            f"{_table(pair.differences, c)}</section>")


def _table(differences: Sequence[Difference], c: Comparison) -> str:
    rows = "".join(
        f'<tr class="difference{" allowed" if d.allowed else ""}" data-address="{_e(d.address)}" '
        f'data-how="{d.how}" data-allowed="{_e(d.allowed_by or "")}"><td class="address">{_e(d.address)}</td>'
        f"<td>{_value(d.before, d.how == ADDED)}</td><td>{_value(d.after, d.how == REMOVED)}</td>"
        f"<td>{_e('allowed by ' + d.allowed_by) if d.allowed_by else ''}</td></tr>"
        for d in differences)
    head = f"<tr><th>what</th><th>{_e(c.before)}</th><th>{_e(c.after)}</th><th></th></tr>"
    return f'<table class="diff">{head}{rows}</table>'


def _value(value: object, absent: bool) -> str:
    return '<span class="absent">absent</span>' if absent else f"<pre>{_e(_json(value))}</pre>"
