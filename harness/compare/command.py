"""``python -m airflow_e2e_harness compare``: run the user's suite on each version, then diff.

The first ``--airflow`` is the baseline; each other version is compared with it. Exit status:
0 when every difference is allowed, 1 when one is not, 2 when a version's suite did not run
(or the command's input is wrong).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from airflow_e2e_harness.compare.allow import AllowList
from airflow_e2e_harness.compare.diff import Comparison, compare, installed_changes
from airflow_e2e_harness.compare.page import render
from airflow_e2e_harness.compare.suite import Suite, SuiteOutcome
from airflow_e2e_harness.compare.text import summary
from airflow_e2e_harness.compare.venvs import VersionSpec, VersionVenv
from airflow_e2e_harness.compare.wheel import content_hash, harness_wheel
from airflow_e2e_harness.errors import ConfigurationError
from airflow_e2e_harness.timing import Timer, default_timer

SIDE_PIN = re.compile(r"(\d+):(.+)")  # --with 2:REQ: only for the second --airflow


def add_parser(sub: Any) -> None:
    c = sub.add_parser(
        "compare", help="run your pytest suite on each Airflow version and show what differs",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--airflow", action="append", required=True, metavar="VERSION",
                   help="an Airflow version (give two or more; the first is the baseline)")
    c.add_argument("--constraints", action="append", default=[], type=Path, metavar="FILE",
                   help="pip constraints: once for every version, or once per --airflow, in order")
    c.add_argument("--with", dest="pins", action="append", default=[], metavar="[N:]REQUIREMENT",
                   help="a requirement for every version, or with N: for the N-th --airflow only "
                        "(e.g. 2:apache-airflow-providers-cncf-kubernetes==10.26.0); wins over --constraints")
    c.add_argument("--allow", action="append", default=[], metavar="PATTERN",
                   help="a glob over difference addresses (DAG.TASK.FIELD ...) that does not fail the run")
    c.add_argument("--out", type=Path, default=Path("e2e-artifacts") / "compare",
                   help="where each version's log, records and run report go, and compare.html")
    c.add_argument("--harness-wheel", type=Path,
                   help="the harness wheel to install (default: the running harness's)")
    c.add_argument("--rebuild", action="store_true", help="make each virtualenv anew even when cached")
    c.add_argument("pytest_args", nargs="*", help="after --: your pytest arguments")
    c.set_defaults(func=cmd_compare)


def specs(airflow: list[str], constraints: list[Path], pins: list[str]) -> list[VersionSpec]:
    """One spec per ``--airflow``, with its constraints and pins, and a label that tells it apart."""
    if len(airflow) < 2:
        raise ConfigurationError("compare needs two or more --airflow versions")
    if len(constraints) not in (0, 1, len(airflow)):
        raise ConfigurationError(f"--constraints: give it once, or once per --airflow ({len(airflow)}), "
                                 f"not {len(constraints)} times")
    shared = [p for p in pins if not SIDE_PIN.fullmatch(p)]
    own: dict[int, list[str]] = {}
    for pin in pins:
        match = SIDE_PIN.fullmatch(pin)
        if match:
            n = int(match.group(1))
            if not 1 <= n <= len(airflow):
                raise ConfigurationError(f"--with {pin}: there is no --airflow number {n}")
            own.setdefault(n, []).append(match.group(2))
    labels = side_labels(airflow, own, constraints)
    files = [constraints[i if len(constraints) > 1 else 0].resolve() if constraints else None
             for i in range(len(airflow))]
    return [VersionSpec(version, files[i], tuple(shared + own.get(i + 1, [])), labels[i])
            for i, version in enumerate(airflow)]


def side_labels(airflow: list[str], own: dict[int, list[str]], constraints: list[Path]) -> list[str]:
    """The Airflow version; where two sides share it, what tells them apart (their own pins, their
    constraints file, else their number)."""
    labels = []
    for i, version in enumerate(airflow):
        label = version
        if airflow.count(version) > 1:
            extra = " ".join(own.get(i + 1, []))
            if not extra and len(constraints) > 1:
                extra = constraints[i].name
            label = f"{version} {extra}".strip() if extra else f"{version} #{i + 1}"
        labels.append(label)
    if len(set(labels)) < len(labels):
        labels = [f"{label} #{i + 1}" for i, label in enumerate(labels)]
    return labels


def cmd_compare(args: argparse.Namespace) -> int:
    timer = default_timer()
    sides = specs(args.airflow, args.constraints, args.pins)
    allow = AllowList(args.allow)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with timer.phase("harness wheel") as phase:
        wheel = harness_wheel(args.harness_wheel, out / "wheel")
        wheel_hash = content_hash(wheel)
        phase.note = str(wheel)
    outcomes = [run_side(n, spec, wheel, wheel_hash, args, out, timer) for n, spec in enumerate(sides, 1)]
    errors = [o.error for o in outcomes if o.error]
    comparisons = [] if errors else [  # a suite that did not run has nothing to compare
        compare_sides(outcomes[0], o, allow) for o in outcomes[1:]]
    page = out / "compare.html"
    title = "airflow-e2e compare: " + " vs ".join(s.label for s in sides)
    page.write_text(render(comparisons, outcomes, title, out), encoding="utf-8")
    (out / "compare.json").write_text(json.dumps(_as_json(comparisons, outcomes), indent=1, default=str),
                                      encoding="utf-8")
    for o in outcomes:
        print(f"airflow {o.label}: {len(o.records.runs)} DAG run(s) recorded, pytest exit {o.returncode}, "
              f"{o.seconds:.1f}s")
    for comparison in comparisons:
        print(summary(comparison))
    for pattern in allow.unused():
        print(f"note: --allow {pattern!r} matched no difference")
    print(f"page: {page}")
    print(timer.summary(), file=sys.stderr)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        return 2
    unallowed = sum(len(c.unallowed) for c in comparisons)
    if unallowed:
        print(f"{unallowed} difference(s) not allowed (--allow PATTERN allows one)")
        return 1
    return 0


def compare_sides(first: SuiteOutcome, other: SuiteOutcome, allow: AllowList) -> Comparison:
    """``other``'s runs against the baseline's, and the distributions their virtualenvs hold differently."""
    comparison = compare(first.records, other.records, (first.label, other.label), allow)
    comparison.installed = installed_changes(first.installed, other.installed)
    return comparison


def run_side(n: int, spec: VersionSpec, wheel: Path, wheel_hash: str, args: argparse.Namespace, out: Path,
             timer: Timer) -> SuiteOutcome:
    """One version: its virtualenv (cached), then the suite in it."""
    folder = out / f"{n}-airflow-{re.sub(r'[^A-Za-z0-9._=-]+', '_', spec.label)}"
    with VersionVenv(spec, wheel, wheel_hash, rebuild=args.rebuild, timer=timer) as env:
        with timer.phase(f"suite on airflow {spec.label}") as phase, \
                Suite(env.python, args.pytest_args, folder, spec.label) as suite:
            outcome = suite.wait()
            phase.note = f"pytest exit {outcome.returncode}, {len(outcome.records.runs)} DAG run(s)"
        outcome.installed = env.installed()  # what this side compared: the report names its versions
    outcome.seconds = phase.seconds
    return outcome


def _as_json(comparisons: list[Comparison], outcomes: list[SuiteOutcome]) -> dict[str, Any]:
    """compare.json: every difference, for a CI step to read."""
    return {
        "versions": [{"label": o.label, "returncode": o.returncode, "runs": len(o.records.runs),
                      "seconds": o.seconds, "error": o.error, "installed": o.installed} for o in outcomes],
        "comparisons": [{"before": c.before, "after": c.after,
                         "installed": {k: list(v) for k, v in c.installed.items()}
                         if c.installed is not None else None,
                         "differences": [asdict(d) for d in c.differences]} for c in comparisons],
    }
