"""What a suite run under ``compare`` leaves behind: one JSON file per DAG run, and per process a
file of what importing the DAG files said (import errors, deprecation warnings).

Both are written only while ``HARNESS_RECORD_DIR`` is set (``compare`` sets it for each suite),
from two calls: :func:`record_run` where an environment finishes a run, and :func:`parse_dags`
where the runner parses a DAGs folder. Each run gets a file of its own with a unique name, so
pytest-xdist workers never write to the same file. Strings that name this session's own
resources (the data folder, network, namespace, artifacts folder, session id) are written as
``${data_dir}`` and so on: two sessions of the same suite name them differently.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import re
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_e2e_harness.options import HarnessOptions

if TYPE_CHECKING:
    from airflow_e2e_harness.airflow.runner import RunResult
    from airflow_e2e_harness.environment import Environment

RECORD_DIR_VARIABLE = "HARNESS_RECORD_DIR"  # HarnessOptions.record_dir; compare sets it for each suite
RUN_PREFIX = "run-"
IMPORTS_PREFIX = "imports-"
FORMAT = 1

# A run made by run_catchup() is recorded as "catchup" (run_type says "scheduled").
_catchup = contextvars.ContextVar("harness_compare_catchup", default=False)
# Per data folder, in this process: each file's digest when the last run there was recorded.
_last_seen: dict[Path, dict[str, str]] = {}
_seen_keys: list[tuple[str, str, str, str]] = []  # (test, dag, date, kind) of each run recorded here
_sequence = 0


def record_dir() -> Path | None:
    """Where records go, or None when nobody asked for them (the usual case)."""
    value = HarnessOptions.from_env().record_dir
    return Path(value) if value else None


@contextmanager
def catchup_runs() -> Iterator[None]:
    """Runs made meanwhile are recorded as catchup runs."""
    token = _catchup.set(True)
    try:
        yield
    finally:
        _catchup.reset(token)


# -- the records ------------------------------------------------------------------------------------
@dataclass
class RunRecord:
    """One DAG run as ``compare`` diffs it; ``key`` matches it with the same run of another suite."""

    test: str  # the pytest node id that made the run ("" outside pytest)
    dag_id: str
    logical_date: str
    kind: str  # manual, scheduled or catchup
    occurrence: int  # 1 for the first run of this (test, dag, date, kind) in its process, 2 ...
    run_id: str
    state: str
    ok: bool
    data_interval: list[str] | None
    tasks: dict[str, dict[str, Any]]  # {task: {"state": ..., "tries": ...}}
    xcoms: dict[str, Any]  # RunResult.xcoms, as JSON (see jsonable)
    rendered: dict[str, dict[str, Any]]
    files: dict[str, str]  # every file under the data folder after the run: relative path -> sha256
    written: list[str]  # the paths that changed (new, modified, removed) since the folder's last record
    worker: str = ""
    sequence: int = 0
    format: int = FORMAT

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        return (self.test, self.dag_id, self.logical_date, self.kind, self.occurrence)

    @property
    def label(self) -> str:
        """How the summary and the page name the run."""
        date_ = self.logical_date[:10] if self.logical_date.endswith("T00:00:00+00:00") else self.logical_date
        return f"{self.dag_id} @ {date_} ({self.kind}" + (
            f", #{self.occurrence})" if self.occurrence > 1 else ")")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class ImportRecord:
    """What parsing the DAG files said in one suite: import errors and deprecation warnings."""

    errors: dict[str, str] = field(default_factory=dict)  # DAG file (relative) -> path:line: error
    warnings: dict[str, list[str]] = field(default_factory=dict)  # file -> ["Category: message", ...]

    def merge(self, other: ImportRecord) -> None:
        self.errors.update(other.errors)
        for where, messages in other.warnings.items():
            mine = self.warnings.setdefault(where, [])
            mine.extend(m for m in messages if m not in mine)


@dataclass
class SuiteRecords:
    """Everything one suite recorded."""

    runs: list[RunRecord] = field(default_factory=list)
    imports: ImportRecord = field(default_factory=ImportRecord)


def load_records(folder: Path) -> SuiteRecords:
    """The records a suite wrote into ``folder`` (none if it wrote nothing)."""
    found = SuiteRecords()
    for path in sorted(folder.glob(f"{RUN_PREFIX}*.json")):
        found.runs.append(RunRecord.from_json(json.loads(path.read_text(encoding="utf-8"))))
    for path in sorted(folder.glob(f"{IMPORTS_PREFIX}*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                found.imports.merge(ImportRecord(data.get("errors", {}), data.get("warnings", {})))
    found.runs.sort(key=lambda r: (*r.key, r.worker, r.sequence))
    counts: dict[tuple[str, str, str, str], int] = {}
    for run in found.runs:  # one test run twice (reruns): numbered on, none dropped
        base = run.key[:4]
        counts[base] = max(counts.get(base, 0) + 1, run.occurrence)
        run.occurrence = counts[base]
    return found


# -- writing, inside the suite ---------------------------------------------------------------------
def record_run(env: Environment, result: RunResult) -> None:
    """Write ``result`` as one JSON file when records were asked for; otherwise do nothing."""
    folder = record_dir()
    if folder is None:
        return
    global _sequence
    _sequence += 1
    session = env.session
    # A manual run's id holds the time it was made: ${run_id} in values, so that it is no difference.
    names = {**env.placeholders(), "artifacts": str(session.artifacts_dir), "session": session.id,
             "run_id": result.run_id}
    data_dir = getattr(env, "data_dir", None)
    files = digests(Path(data_dir)) if data_dir is not None else {}
    before = _last_seen.get(Path(data_dir)) if data_dir is not None else None
    if data_dir is not None:
        _last_seen[Path(data_dir)] = files
    written = sorted(files) if before is None else sorted(
        p for p in set(files) | set(before) if files.get(p) != before.get(p))
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    kind = "catchup" if _catchup.get() else result.run_type
    when = result.logical_date.isoformat()
    occurrence = 1 + sum(1 for key in _seen_keys if key == (test, result.dag_id, when, kind))
    _seen_keys.append((test, result.dag_id, when, kind))
    record = RunRecord(
        test=test, dag_id=result.dag_id, logical_date=when, kind=kind, occurrence=occurrence,
        run_id=result.run_id, state=result.state, ok=result.ok,
        data_interval=[d.isoformat() for d in result.data_interval] if result.data_interval else None,
        tasks={tid: {"state": t.state, "tries": t.try_number} for tid, t in result.tasks.items()},
        xcoms=neutral(jsonable(result.xcoms), names), rendered=neutral(jsonable(result.rendered), names),
        files=files, written=written, worker=os.environ.get("PYTEST_XDIST_WORKER", ""), sequence=_sequence,
    )
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{RUN_PREFIX}{record.worker or 'main'}-{os.getpid()}-{_sequence:04d}-{uuid.uuid4().hex[:8]}.json"
    (folder / name).write_text(json.dumps(asdict(record), indent=1, sort_keys=True), encoding="utf-8")



def parse_dags(make_bag: Callable[..., Any], folder: Path) -> Any:
    """``make_bag(dag_folder=folder)`` (a DagBag); while records are asked for, its import errors and
    the deprecation warnings raised meanwhile are written down too (and the warnings still raised)."""
    out = record_dir()
    if out is None:
        return make_bag(dag_folder=str(folder))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bag = make_bag(dag_folder=str(folder))
    found = ImportRecord()
    for path, error in dict(getattr(bag, "import_errors", {}) or {}).items():
        found.errors[relative(str(path), folder)] = import_error_head(str(path), str(error), folder)
    for w in caught:
        if is_deprecation(w.category):
            where = relative(str(w.filename), folder)
            message = f"{w.category.__name__}: {w.message}"
            if message not in found.warnings.setdefault(where, []):
                found.warnings[where].append(message)
    out.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with (out / f"{IMPORTS_PREFIX}{worker}-{os.getpid()}.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(found), sort_keys=True) + "\n")
    for w in caught:  # as if nobody had looked: pytest's warning summary still gets them
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return bag


# -- helpers --------------------------------------------------------------------------------------------
def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by path relative to it (a file nobody can read says so)."""
    found: dict[str, str] = {}
    if not folder.is_dir():
        return found
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(folder).as_posix()
        try:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as err:
            found[rel] = f"unreadable: {type(err).__name__}"
    return found


def jsonable(value: Any) -> Any:
    """``value`` as JSON holds it, without losing a difference: a str stays a str and a dict a dict;
    what JSON has no type for becomes ``{"__type__": name, "repr": repr}``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return {"__type__": type(value).__name__, "repr": value.isoformat()}
    if isinstance(value, set | frozenset):
        return {"__type__": type(value).__name__, "repr": repr(sorted(value, key=repr))}
    return {"__type__": type(value).__name__, "repr": repr(value)}


def neutral(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with the session's own names (``names``: placeholder -> its value here) written as
    ``${placeholder}``, longest first (``data_dir`` lies under ``artifacts``)."""
    pairs = sorted(((v, k) for k, v in names.items() if v), key=lambda p: -len(p[0]))
    if isinstance(value, str):
        for text, name in pairs:
            value = value.replace(text, f"${{{name}}}")
        return value
    if isinstance(value, dict):
        return {k: neutral(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [neutral(v, names) for v in value]
    return value


def relative(path: str, folder: Path) -> str:
    """A DAG file relative to its folder; a library's file relative to its site-packages."""
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        pass
    _, sep, rest = path.partition("site-packages/")
    return rest if sep else path


def import_error_head(path: str, error: str, folder: Path) -> str:
    """``file:line: last line of the error``, with the file relative (see runner.where_it_failed)."""
    lines = re.findall(rf'File "[^"]*{re.escape(Path(path).name)}", line (\d+)', error)
    last = next((line.strip() for line in reversed(error.splitlines()) if line.strip()), "import failed")
    where = relative(path, folder)
    return f"{where}:{lines[-1]}: {last}" if lines else f"{where}: {last}"


def is_deprecation(category: type[Warning]) -> bool:
    """Deprecation warnings by any name: Python's, and the ones Airflow and providers define."""
    return issubclass(category, DeprecationWarning | PendingDeprecationWarning | FutureWarning) or (
        "deprecat" in category.__name__.lower())
