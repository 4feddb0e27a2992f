"""What differs between two suites' records: per DAG run and task, field by field, each difference
with an address that ``--allow`` patterns match (see allow).

Runs are matched by the test that made them, DAG id, logical date, kind and their order among
such runs of that test. Addresses:

- ``DAG.run``: the run happened in one version only; ``DAG.state``, ``DAG.run_id`` (scheduled and
  catchup runs: a manual run's id holds the time it was made), ``DAG.data_interval.start``,
  ``DAG.data_interval.end``
- ``DAG.TASK``: the task instance exists in one version only; ``DAG.TASK.state``,
  ``DAG.TASK.tries``, ``DAG.TASK.xcom`` (its return value as a downstream task receives it),
  ``DAG.TASK.rendered.FIELD``
- ``DAG.files.PATH``: a file under the environment's data folder that the run wrote (new,
  changed or removed) in either version, by its sha256 after the run
- ``imports.errors.FILE``, ``imports.warnings.FILE.CATEGORY``: a DAG file's import error, a
  deprecation warning raised while importing the DAG files (FILE: where it points)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_e2e_harness.compare.allow import AllowList
from airflow_e2e_harness.compare.record import ImportRecord, RunRecord, SuiteRecords

CHANGED, ADDED, REMOVED = "changed", "added", "removed"  # ADDED: only in the later version


@dataclass(frozen=True)
class Difference:
    """One field that differs. ``before`` is the first version's value, ``after`` the other's;
    ``how`` says whether it is only in one of them."""

    address: str
    before: Any
    after: Any
    how: str = CHANGED
    run: str = ""  # the run's label ("" for imports)
    test: str = ""
    allowed_by: str | None = None

    @property
    def allowed(self) -> bool:
        return self.allowed_by is not None


@dataclass
class RunPair:
    """One run as both versions made it (either may be missing), and what differs."""

    key: tuple[str, str, str, str, int]
    before: RunRecord | None
    after: RunRecord | None
    differences: list[Difference] = field(default_factory=list)

    @property
    def label(self) -> str:
        record = self.before or self.after
        assert record is not None
        return record.label


@dataclass
class Comparison:
    """Two versions' suites, compared."""

    before: str  # labels
    after: str
    runs: list[RunPair]
    imports: list[Difference]
    # Installed distributions whose version differs: name -> (before, after), None where absent;
    # None when a side's could not be read. What was compared, not a difference of behaviour.
    installed: dict[str, tuple[str | None, str | None]] | None = None

    @property
    def differences(self) -> list[Difference]:
        return [d for pair in self.runs for d in pair.differences] + self.imports

    @property
    def unallowed(self) -> list[Difference]:
        return [d for d in self.differences if not d.allowed]


def compare(before: SuiteRecords, after: SuiteRecords, labels: tuple[str, str],
            allow: AllowList | None = None) -> Comparison:
    """Match the runs of ``before`` and ``after`` and list every difference, marked when an
    ``allow`` pattern matches it."""
    allow = allow or AllowList(())
    mine = {r.key: r for r in before.runs}
    theirs = {r.key: r for r in after.runs}
    pairs = []
    for key in sorted(set(mine) | set(theirs)):
        pair = RunPair(key, mine.get(key), theirs.get(key))
        pair.differences = [allow.mark(d) for d in diff_runs(pair.before, pair.after)]
        pairs.append(pair)
    imports = [allow.mark(d) for d in diff_imports(before.imports, after.imports)]
    return Comparison(labels[0], labels[1], pairs, imports)


def installed_changes(before: dict[str, str], after: dict[str, str]
                      ) -> dict[str, tuple[str | None, str | None]] | None:
    """The distributions two virtualenvs hold in different versions (or one only); None when either
    list is unknown (empty)."""
    if not before or not after:
        return None
    return {name: (before.get(name), after.get(name)) for name in _union(before, after)
            if before.get(name) != after.get(name)}


def airflow_first(names: Iterable[str]) -> list[str]:
    """Distribution names, Airflow's own first (``apache-airflow*``), each group alphabetical."""
    return sorted(names, key=lambda name: (not name.startswith("apache-airflow"), name))


def diff_runs(before: RunRecord | None, after: RunRecord | None) -> list[Difference]:
    """Every difference between two records of the same run (either may be missing)."""
    record = before or after
    assert record is not None
    if before is None or after is None:
        how = ADDED if before is None else REMOVED
        return [Difference(f"{record.dag_id}.run", _state(before), _state(after), how, record.label,
                           record.test)]
    return [Difference(address, old, new, how, record.label, record.test)
            for address, old, new, how in _fields(before, after)]


def _state(record: RunRecord | None) -> str | None:
    return record.state if record is not None else None


def _fields(a: RunRecord, b: RunRecord) -> Iterator[tuple[str, Any, Any, str]]:
    dag = a.dag_id
    yield from _same(f"{dag}.state", a.state, b.state)
    if a.kind != "manual":  # a manual run's id holds the time it was made
        yield from _same(f"{dag}.run_id", a.run_id, b.run_id)
    interval_a, interval_b = a.data_interval or [None, None], b.data_interval or [None, None]
    yield from _same(f"{dag}.data_interval.start", interval_a[0], interval_b[0])
    yield from _same(f"{dag}.data_interval.end", interval_a[1], interval_b[1])
    for task in _union(a.tasks, b.tasks):
        if task not in a.tasks or task not in b.tasks:
            yield (f"{dag}.{task}", a.tasks.get(task, {}).get("state"), b.tasks.get(task, {}).get("state"),
                   ADDED if task not in a.tasks else REMOVED)
            continue
        yield from _same(f"{dag}.{task}.state", a.tasks[task].get("state"), b.tasks[task].get("state"))
        yield from _same(f"{dag}.{task}.tries", a.tasks[task].get("tries"), b.tasks[task].get("tries"))
        yield from _same(f"{dag}.{task}.xcom", a.xcoms.get(task), b.xcoms.get(task))
        fields_a, fields_b = a.rendered.get(task, {}), b.rendered.get(task, {})
        for name in _union(fields_a, fields_b):
            yield from _maybe(f"{dag}.{task}.rendered.{name}", fields_a, fields_b, name)
    for path in sorted(set(a.written) | set(b.written)):
        yield from _maybe(f"{dag}.files.{path}", a.files, b.files, path)


def diff_imports(before: ImportRecord, after: ImportRecord) -> list[Difference]:
    """Import errors and deprecation warnings found in one version and not (or not so) in the other."""
    found = [Difference(address, old, new, how)
             for address, old, new, how in _maybe_all("imports.errors", before.errors, after.errors)]
    for where in _union(before.warnings, after.warnings):
        old, new = set(before.warnings.get(where, [])), set(after.warnings.get(where, []))
        for message in sorted(old ^ new):
            category = message.split(":", 1)[0]
            found.append(Difference(f"imports.warnings.{where}.{category}",
                                    message if message in old else None, message if message in new else None,
                                    REMOVED if message in old else ADDED))
    return found


def same(a: Any, b: Any) -> bool:
    """Equal as JSON: ``1``, ``1.0`` and ``True`` differ, as do a str and the dict it spells."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _same(address: str, a: Any, b: Any) -> Iterator[tuple[str, Any, Any, str]]:
    if not same(a, b):
        yield address, a, b, CHANGED


Found = Iterator[tuple[str, Any, Any, str]]  # (address, before, after, how)


def _maybe(address: str, a: dict[str, Any], b: dict[str, Any], key: str) -> Found:
    if key not in a or key not in b:
        if key in a or key in b:
            yield address, a.get(key), b.get(key), ADDED if key not in a else REMOVED
    elif not same(a[key], b[key]):
        yield address, a[key], b[key], CHANGED


def _maybe_all(prefix: str, a: dict[str, Any], b: dict[str, Any]) -> Iterator[tuple[str, Any, Any, str]]:
    for key in _union(a, b):
        yield from _maybe(f"{prefix}.{key}", a, b, key)


def _union(a: Sequence[str] | dict[str, Any], b: Sequence[str] | dict[str, Any]) -> list[str]:
    return sorted(set(a) | set(b))
