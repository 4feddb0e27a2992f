"""compare's diff, allow patterns and rendering, on records made by hand (fake suites, no Airflow run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_e2e_harness import cli
from airflow_e2e_harness.compare import command
from airflow_e2e_harness.compare.allow import AllowList
from airflow_e2e_harness.compare.diff import (
    ADDED,
    CHANGED,
    REMOVED,
    compare,
    diff_imports,
    installed_changes,
    same,
)
from airflow_e2e_harness.compare.page import render
from airflow_e2e_harness.compare.record import ImportRecord, RunRecord, SuiteRecords
from airflow_e2e_harness.compare.suite import SuiteOutcome
from airflow_e2e_harness.compare.text import summary, value_text
from airflow_e2e_harness.compare.venvs import VersionSpec

SHA_A, SHA_B = "a" * 64, "b" * 64


def fake_run(dag: str = "etl", **changes: Any) -> RunRecord:
    fields: dict[str, Any] = dict(
        test="tests/test_etl.py::test_daily", dag_id=dag, logical_date="2026-01-05T00:00:00+00:00",
        kind="manual", occurrence=1, run_id="manual__2026-01-05T00:00:00+00:00", state="success", ok=True,
        data_interval=["2026-01-05T00:00:00+00:00", "2026-01-05T00:00:00+00:00"],
        tasks={"extract": {"state": "success", "tries": 1}, "load": {"state": "success", "tries": 1}},
        xcoms={"extract": '{"rows": 42}', "load": None},
        rendered={"extract": {"command": ["extract", "--ds", "2026-01-05"], "image": "etl:1.0"}, "load": {}},
        files={"2026-01-05.csv": SHA_A}, written=["2026-01-05.csv"],
    )
    return RunRecord(**(fields | changes))


def suite(*runs: RunRecord, imports: ImportRecord | None = None) -> SuiteRecords:
    return SuiteRecords(list(runs), imports or ImportRecord())


def addresses(records_a: SuiteRecords, records_b: SuiteRecords, allow: list[str] = ()) -> dict[str, tuple]:
    found = compare(records_a, records_b, ("3.2.2", "3.3.2"), AllowList(list(allow)))
    return {d.address: (d.before, d.after, d.how, d.allowed_by) for d in found.differences}


def test_the_same_runs_have_no_difference() -> None:
    comparison = compare(suite(fake_run()), suite(fake_run()), ("a", "b"))
    assert comparison.differences == [] and len(comparison.runs) == 1


def test_each_field_that_differs_is_named_with_both_values() -> None:
    after = fake_run(
        state="failed", ok=False, data_interval=["2026-01-04T00:00:00+00:00", "2026-01-05T00:00:00+00:00"],
        tasks={"extract": {"state": "success", "tries": 2}, "load": {"state": "failed", "tries": 1}},
        xcoms={"extract": {"rows": 42}, "load": None},
        rendered={"extract": {"command": ["extract", "--ds", "2026-01-04"], "image": "etl:1.0"}, "load": {}},
        files={"2026-01-05.csv": SHA_B}, written=["2026-01-05.csv"],
    )
    assert addresses(suite(fake_run()), suite(after)) == {
        "etl.state": ("success", "failed", CHANGED, None),
        "etl.data_interval.start": ("2026-01-05T00:00:00+00:00", "2026-01-04T00:00:00+00:00", CHANGED, None),
        "etl.extract.tries": (1, 2, CHANGED, None),
        "etl.load.state": ("success", "failed", CHANGED, None),
        # a str that spells a dict is not that dict: what a downstream task receives changed
        "etl.extract.xcom": ('{"rows": 42}', {"rows": 42}, CHANGED, None),
        "etl.extract.rendered.command": (["extract", "--ds", "2026-01-05"], ["extract", "--ds", "2026-01-04"],
                                         CHANGED, None),
        "etl.files.2026-01-05.csv": (SHA_A, SHA_B, CHANGED, None),
    }


def test_json_equality_keeps_types_apart() -> None:
    assert not same(1, True) and not same(1, 1.0) and not same("1", 1)
    assert same({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1})


def test_tasks_fields_runs_and_files_in_one_version_only() -> None:
    after = fake_run(
        tasks={"extract": {"state": "success", "tries": 1}, "notify": {"state": "success", "tries": 1}},
        xcoms={"extract": '{"rows": 42}', "notify": None},
        rendered={"extract": {"command": ["extract", "--ds", "2026-01-05"], "image": "etl:1.0",
                              "environment": {}}, "notify": {}},
        files={"2026-01-05.csv": SHA_A, "extra.txt": SHA_B}, written=["extra.txt"],
    )
    other = fake_run(dag="report")
    assert addresses(suite(fake_run(), other), suite(after)) == {
        "etl.load": ("success", None, REMOVED, None),
        "etl.notify": (None, "success", ADDED, None),
        "etl.extract.rendered.environment": (None, {}, ADDED, None),
        "etl.files.extra.txt": (None, SHA_B, ADDED, None),
        "report.run": ("success", None, REMOVED, None),
    }


def test_only_files_a_run_wrote_are_its_differences() -> None:
    """A file an earlier run wrote differently is that run's difference, not every later run's."""
    before = fake_run(files={"old.txt": SHA_A, "2026-01-05.csv": SHA_A}, written=["2026-01-05.csv"])
    after = fake_run(files={"old.txt": SHA_B, "2026-01-05.csv": SHA_A}, written=["2026-01-05.csv"])
    assert addresses(suite(before), suite(after)) == {}
    removed = fake_run(files={}, written=["2026-01-05.csv"])
    assert addresses(suite(fake_run()), suite(removed)) == {
        "etl.files.2026-01-05.csv": (SHA_A, None, REMOVED, None)}


def test_runs_are_matched_by_test_dag_date_kind_and_order() -> None:
    first, second = fake_run(), fake_run(occurrence=2, state="failed")
    scheduled = fake_run(kind="scheduled")
    found = compare(suite(first, second, scheduled), suite(second, scheduled, first), ("a", "b"))
    assert found.differences == [] and len(found.runs) == 3
    other_test = fake_run(test="tests/test_etl.py::test_other")
    assert set(addresses(suite(first), suite(other_test))) == {"etl.run"}


def test_imports_errors_and_warnings() -> None:
    before = ImportRecord(errors={"broken.py": "broken.py:3: ImportError: x"},
                          warnings={"etl.py": ["DeprecationWarning: old"]})
    after = ImportRecord(errors={}, warnings={"etl.py": ["DeprecationWarning: old",
                                                        "RemovedInAirflow4Warning: also old"]})
    found = {d.address: (d.before, d.after, d.how) for d in diff_imports(before, after)}
    assert found == {
        "imports.errors.broken.py": ("broken.py:3: ImportError: x", None, REMOVED),
        "imports.warnings.etl.py.RemovedInAirflow4Warning": (
            None, "RemovedInAirflow4Warning: also old", ADDED),
    }


def test_allow_patterns_are_globs_over_the_whole_address() -> None:
    allow = AllowList(["etl.*.xcom", "*.files.*.csv", "nothing.*"])
    assert allow.match("etl.extract.xcom") == "etl.*.xcom"
    assert allow.match("etl.group.inner.xcom") == "etl.*.xcom"  # * crosses dots (task groups)
    assert allow.match("etl.extract.xcomx") is None
    assert allow.match("etl.files.out/2026-01-05.csv") == "*.files.*.csv"
    assert allow.match("etl.state") is None
    assert allow.unused() == ["nothing.*"]


def test_allowed_differences_are_marked_and_do_not_count() -> None:
    after = fake_run(xcoms={"extract": "x", "load": None}, state="failed")
    found = compare(suite(fake_run()), suite(after), ("a", "b"), AllowList(["etl.*.xcom"]))
    assert [(d.address, d.allowed_by) for d in found.differences] == [
        ("etl.state", None), ("etl.extract.xcom", "etl.*.xcom")]
    assert [d.address for d in found.unallowed] == ["etl.state"]


def test_text_summary_lists_differences_under_their_run() -> None:
    after = fake_run(xcoms={"extract": "3.3.2", "load": None}, files={"2026-01-05.csv": SHA_B})
    steady = fake_run(dag="steady")
    comparison = compare(suite(fake_run(), steady), suite(after, steady), ("3.2.2", "3.3.2"),
                         AllowList(["etl.files.*"]))
    text = summary(comparison)
    assert text.splitlines() == [
        "airflow 3.2.2 -> 3.3.2: 1 of 2 DAG run(s) differ, 2 difference(s) (1 allowed)",
        "  etl @ 2026-01-05 (manual)  [tests/test_etl.py::test_daily]",
        '    etl.extract.xcom          "{\\"rows\\": 42}" -> "3.3.2"',
        f"    etl.files.2026-01-05.csv  sha256:{'a' * 12} -> sha256:{'b' * 12}  (allowed: etl.files.*)",
        "  same: steady @ 2026-01-05 (manual)",
        "  DAG imports: same (import errors, deprecation warnings)",
    ]


def test_long_values_are_cut_in_the_summary() -> None:
    assert value_text("x" * 200).endswith('...') and len(value_text("x" * 200)) == 70
    assert value_text(None) == "null"


def test_page_has_a_row_per_difference_escaped(tmp_path: Path) -> None:
    after = fake_run(xcoms={"extract": "<script>", "load": None})
    comparison = compare(suite(fake_run()), suite(after), ("3.2.2", "3.3.2"))
    (tmp_path / "1").mkdir()
    outcome = SuiteOutcome("3.2.2", 0, tmp_path / "1" / "pytest.log", suite(fake_run()), 12.5)
    page = render([comparison], [outcome], "compare <x>", tmp_path)
    row = '<tr class="difference" data-address="etl.extract.xcom" data-how="changed" data-allowed="">'
    assert row in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<title>compare &lt;x&gt;</title>" in page
    assert "1 difference(s) not allowed" in page
    assert 'href="1/pytest.log"' in page


def test_a_suite_that_did_not_run_is_an_error_and_failed_tests_are_not(tmp_path: Path) -> None:
    log = tmp_path / "pytest.log"
    log.write_text("ERROR: usage: pytest [options]\n")
    assert SuiteOutcome("3.2.2", 0, log, suite(fake_run())).error is None
    assert SuiteOutcome("3.2.2", 1, log, suite(fake_run())).error is None  # tests failed, runs to compare
    usage = SuiteOutcome("3.2.2", 4, log, suite(fake_run())).error
    assert usage is not None and "pytest exit 4 (usage error)" in usage and "ERROR: usage" in usage
    before_any = SuiteOutcome("3.2.2", 1, log, suite()).error
    assert before_any is not None and "pytest exit 1 before any DAG run" in before_any


def test_the_page_of_a_suite_that_did_not_run_says_so(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    log = tmp_path / "1" / "pytest.log"
    log.write_text("ImportError while loading conftest\n")
    page = render([], [SuiteOutcome("3.2.2", 4, log, suite())], "compare", tmp_path)
    assert '<pre class="error">the suite on 3.2.2 did not run: pytest exit 4 (usage error)' in page
    assert "ImportError while loading conftest" in page and "not allowed" not in page


def test_installed_versions_that_differ_are_named_not_counted_as_differences(tmp_path: Path) -> None:
    before = {"apache-airflow": "3.3.2", "apache-airflow-providers-docker": "4.6.1", "docker": "7.2.0",
              "gone": "1.0"}
    after = {"apache-airflow": "3.3.2", "apache-airflow-providers-docker": "4.6.0", "docker": "7.2.0",
             "added": "2.0"}
    changes = installed_changes(before, after)
    assert changes == {"added": (None, "2.0"), "apache-airflow-providers-docker": ("4.6.1", "4.6.0"),
                       "gone": ("1.0", None)}
    assert installed_changes(before, dict(before)) == {}
    assert installed_changes(before, {}) is None  # a side's list could not be read: nothing said

    comparison = compare(suite(fake_run()), suite(fake_run()), ("3.3.2 a", "3.3.2 b"))
    comparison.installed = changes
    assert comparison.differences == []  # what was compared, not a difference of behaviour
    assert summary(comparison).splitlines()[1] == (
        "  installed: apache-airflow-providers-docker 4.6.1 -> 4.6.0, added (absent) -> 2.0, "
        "gone 1.0 -> (absent)")
    (tmp_path / "1").mkdir()
    outcome = SuiteOutcome("3.3.2 a", 0, tmp_path / "1" / "pytest.log", suite(fake_run()))
    page = render([comparison], [outcome], "compare", tmp_path)
    assert ('<tr class="installed" data-distribution="apache-airflow-providers-docker"><td class="address">'
            "apache-airflow-providers-docker</td><td>4.6.1</td><td>4.6.0</td></tr>") in page
    assert page.index("apache-airflow-providers-docker</td>") < page.index(">added</td>")

    comparison.installed = {}
    assert summary(comparison).splitlines()[1] == "  installed: the same distributions and versions"
    comparison.installed = {f"lib{n}": ("1", "2") for n in range(9)}
    assert summary(comparison).splitlines()[1].endswith(", and 3 more (compare.json, the page)")
    comparison.installed = None
    assert "installed" not in summary(comparison)


@pytest.mark.parametrize("second_ran", [True, False])
def test_the_command_on_fake_sides_compares_or_stops_at_a_suite_that_did_not_run(
    second_ran: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    wheel = tmp_path / "harness.whl"
    wheel.write_text("a wheel")
    monkeypatch.setattr(command, "harness_wheel", lambda given, out: wheel)
    monkeypatch.setattr(command, "content_hash", lambda path: "hash")
    monkeypatch.setattr(cli, "sigterm_as_keyboard_interrupt", lambda: None)

    def fake_side(n: int, spec: VersionSpec, *args: object) -> SuiteOutcome:
        folder = tmp_path / "out" / str(n)
        folder.mkdir(parents=True)
        (folder / "pytest.log").write_text("ERROR: usage\n")
        ran = n == 1 or second_ran
        installed = {"apache-airflow": "3.3.2",
                     "apache-airflow-providers-docker": "4.6.1" if n == 1 else "4.6.0"}
        return SuiteOutcome(spec.label, 0 if ran else 4, folder / "pytest.log",
                            suite(fake_run()) if ran else suite(), 1.0, installed)

    monkeypatch.setattr(command, "run_side", fake_side)
    argv = ["compare", "--airflow", "3.3.2", "--airflow", "3.3.2",
            "--with", "2:apache-airflow-providers-docker==4.6.0", "--out", str(tmp_path / "out")]
    assert cli.main(argv) == (0 if second_ran else 2)
    report = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert [v["label"] for v in report["versions"]] == [
        "3.3.2 #1", "3.3.2 apache-airflow-providers-docker==4.6.0"]
    if second_ran:
        (comparison,) = report["comparisons"]
        assert comparison["differences"] == []
        assert comparison["installed"] == {"apache-airflow-providers-docker": ["4.6.1", "4.6.0"]}
        assert "  installed: apache-airflow-providers-docker 4.6.1 -> 4.6.0\n" in capsys.readouterr().out
    else:
        assert report["comparisons"] == []
        assert "did not run: pytest exit 4 (usage error)" in capsys.readouterr().err
