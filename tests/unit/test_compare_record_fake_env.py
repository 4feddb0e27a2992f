"""What a suite under compare writes: one file per run, the session's own names neutral, the files a
run wrote, import errors and deprecation warnings (fake environments and DagBags, no Airflow run)."""

from __future__ import annotations

import hashlib
import json
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_e2e_harness.airflow.runner import RunResult, TaskResult
from airflow_e2e_harness.compare import record
from airflow_e2e_harness.compare.record import (
    RECORD_DIR_VARIABLE,
    catchup_runs,
    jsonable,
    load_records,
    neutral,
    parse_dags,
    record_run,
)


class FakeSession:
    id = "20260105-120000-42"
    artifacts_dir = Path("/work/project/e2e-artifacts/20260105-120000-42")


class FakeEnvironment:
    def __init__(self, data_dir: Path) -> None:
        self.session = FakeSession()
        self.data_dir = data_dir

    def placeholders(self) -> dict[str, str]:
        return {"data_dir": str(self.data_dir), "network": "etl-net-4242"}


class FakeDagBag:
    """What the runner's DagBag class gives: import errors, and warnings raised while parsing."""

    def __init__(self, dag_folder: str) -> None:
        self.import_errors = {f"{dag_folder}/broken.py": (
            f'Traceback (most recent call last):\n  File "{dag_folder}/broken.py", line 3, in <module>\n'
            "ImportError: cannot import name 'X'")}
        warnings.warn_explicit("old import", DeprecationWarning, f"{dag_folder}/etl.py", 2)
        warnings.warn_explicit("not a deprecation", UserWarning, f"{dag_folder}/etl.py", 4)


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "records"
    monkeypatch.setenv(RECORD_DIR_VARIABLE, str(folder))
    monkeypatch.setattr(record, "_last_seen", {})
    monkeypatch.setattr(record, "_seen_keys", [])
    return folder


def result(data_dir: Path) -> RunResult:
    run = RunResult("etl", datetime(2026, 1, 5, tzinfo=UTC), "manual__2026-12-02T20:55:14+00:00", "success",
                    data_interval=(datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC)))
    run.tasks["extract"] = TaskResult(
        "extract", "success", f'{{"out": "{data_dir}/a.csv"}}', "", 2,
        rendered={"command": ["extract", "--net", "etl-net-4242", "--run", run.run_id]})
    return run


def test_nothing_is_written_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RECORD_DIR_VARIABLE, raising=False)
    record_run(FakeEnvironment(tmp_path), result(tmp_path))  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_a_run_is_one_file_with_the_sessions_names_neutral(records: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "2026-01-05").mkdir(parents=True)
    (data / "2026-01-05" / "a.csv").write_text("day,n\n")
    record_run(FakeEnvironment(data), result(data))  # type: ignore[arg-type]
    (written,) = records.glob("run-*.json")
    saved = json.loads(written.read_text())
    assert saved["test"].endswith("::test_a_run_is_one_file_with_the_sessions_names_neutral")  # node id
    assert saved["kind"] == "manual"
    assert saved["tasks"] == {"extract": {"state": "success", "tries": 2}}
    assert saved["xcoms"] == {"extract": '{"out": "${data_dir}/a.csv"}'}  # still a str
    assert saved["rendered"]["extract"]["command"] == ["extract", "--net", "${network}", "--run", "${run_id}"]
    assert saved["files"] == {"2026-01-05/a.csv": hashlib.sha256(b"day,n\n").hexdigest()}
    assert saved["written"] == ["2026-01-05/a.csv"]
    assert saved["data_interval"] == ["2026-01-05T00:00:00+00:00", "2026-01-05T00:00:00+00:00"]


def test_later_runs_list_only_what_they_wrote_and_count_occurrences(records: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "old.txt").write_text("x")
    env = FakeEnvironment(data)
    record_run(env, result(data))  # type: ignore[arg-type]
    (data / "new.txt").write_text("y")
    (data / "old.txt").unlink()
    with catchup_runs():
        record_run(env, result(data))  # type: ignore[arg-type]
    record_run(env, result(data))  # type: ignore[arg-type]
    runs = sorted(load_records(records).runs, key=lambda r: r.sequence)
    assert [(r.kind, r.occurrence, r.written) for r in runs] == [
        ("manual", 1, ["old.txt"]), ("catchup", 1, ["new.txt", "old.txt"]), ("manual", 2, [])]
    assert runs[1].files == {"new.txt": hashlib.sha256(b"y").hexdigest()}
    assert len({path.name for path in records.glob("run-*.json")}) == 3


def test_import_errors_and_deprecation_warnings_are_recorded_and_still_raised(
    records: Path, tmp_path: Path,
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        bag = parse_dags(FakeDagBag, dags)
    assert isinstance(bag, FakeDagBag)
    assert {str(w.message) for w in outside} == {"old import", "not a deprecation"}  # pytest still sees them
    imports = load_records(records).imports
    assert imports.errors == {"broken.py": "broken.py:3: ImportError: cannot import name 'X'"}
    assert imports.warnings == {"etl.py": ["DeprecationWarning: old import"]}


def test_jsonable_keeps_what_json_can_tell_apart() -> None:
    assert jsonable({"a": (1, 2), 3: {"b"}}) == {"a": [1, 2], "3": {"__type__": "set", "repr": "['b']"}}
    assert jsonable(datetime(2026, 1, 5, tzinfo=UTC)) == {
        "__type__": "datetime", "repr": "2026-01-05T00:00:00+00:00"}
    assert jsonable(b"\x00") == {"__type__": "bytes", "repr": "b'\\x00'"}


def test_neutral_replaces_the_longest_name_first() -> None:
    names: dict[str, Any] = {"artifacts": "/p/e2e", "data_dir": "/p/e2e/data/docker", "network": ""}
    assert neutral(["/p/e2e/data/docker/x", "/p/e2e/log"], names) == ["${data_dir}/x", "${artifacts}/log"]


def test_the_same_key_twice_in_one_suite_is_numbered_on(records: Path, tmp_path: Path) -> None:
    """A test run twice (a rerun plugin, two workers) records the same key twice: none is dropped."""
    records.mkdir()
    for worker in ("gw0", "gw1"):
        run = json.loads(json.dumps({
            "test": "t::x", "dag_id": "etl", "logical_date": "2026-01-05T00:00:00+00:00", "kind": "manual",
            "occurrence": 1, "run_id": "r", "state": "success", "ok": True, "data_interval": None,
            "tasks": {}, "xcoms": {}, "rendered": {}, "files": {}, "written": [], "worker": worker,
            "sequence": 1}))
        (records / f"run-{worker}.json").write_text(json.dumps(run))
    assert [(r.worker, r.occurrence) for r in load_records(records).runs] == [("gw0", 1), ("gw1", 2)]
