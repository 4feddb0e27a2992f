"""The terminal's summary of a comparison: per version pair, each run that differs with its
differences (address, first version's value, the other's), then the runs that are the same."""

from __future__ import annotations

import json
import re
from typing import Any

from airflow_e2e_harness.compare.diff import ADDED, REMOVED, Comparison, Difference, airflow_first

INSTALLED_SHOWN = 6  # distributions whose versions differ, named in the summary (Airflow's first)
WIDTH = 70  # characters of a value shown; the page and compare.json have all of it
SHA256 = re.compile(r"[0-9a-f]{64}")


def value_text(value: Any, width: int = WIDTH) -> str:
    """A value as compact JSON (a str keeps its quotes), a sha256 as its first 12 digits, cut to ``width``."""
    if isinstance(value, str) and SHA256.fullmatch(value):
        return f"sha256:{value[:12]}"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def change_text(d: Difference) -> str:
    if d.how == ADDED:
        return f"(absent) -> {value_text(d.after)}"
    if d.how == REMOVED:
        return f"{value_text(d.before)} -> (absent)"
    return f"{value_text(d.before)} -> {value_text(d.after)}"


def installed_text(changes: dict[str, tuple[str | None, str | None]]) -> str:
    """``name before -> after, ...``: Airflow's distributions first, then the others, the rest counted."""
    if not changes:
        return "the same distributions and versions"
    names = airflow_first(changes)
    shown = [f"{name} {changes[name][0] or '(absent)'} -> {changes[name][1] or '(absent)'}"
             for name in names[:INSTALLED_SHOWN]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f", and {more} more (compare.json, the page)" if more else "")


def summary(comparison: Comparison) -> str:
    c = comparison
    differing = [p for p in c.runs if p.differences]
    allowed = sum(1 for d in c.differences if d.allowed)
    lines = [f"airflow {c.before} -> {c.after}: {len(differing)} of {len(c.runs)} DAG run(s) differ, "
             f"{len(c.differences)} difference(s) ({allowed} allowed)"]
    if c.installed is not None:
        lines.append(f"  installed: {installed_text(c.installed)}")
    for pair in differing:
        test = f"  [{pair.key[0]}]" if pair.key[0] else ""
        lines.append(f"  {pair.label}{test}")
        lines += _rows(pair.differences)
    same = [p.label for p in c.runs if not p.differences]
    if same:
        lines.append(f"  same: {', '.join(same)}")
    if c.imports:
        lines.append("  DAG imports")
        lines += _rows(c.imports)
    else:
        lines.append("  DAG imports: same (import errors, deprecation warnings)")
    return "\n".join(lines)


def _rows(differences: list[Difference]) -> list[str]:
    width = max(len(d.address) for d in differences)
    return [f"    {d.address:<{width}}  {change_text(d)}"
            + (f"  (allowed: {d.allowed_by})" if d.allowed else "") for d in differences]
