"""``compare`` on a team's own project, outside this repository: its suite on two Airflow versions,
each in a virtualenv compare makes from the built wheel and that version's constraints.

The project (``tests/e2e/compare_project/``: three DockerOperator DAGs and their image) has one DAG
whose behaviour depends on the Airflow version (``version_probe``: the version is in its command,
its output file and its XCom), one that does not (``steady``), and one whose manual run's data
interval depends on the timetable a cron schedule gets (``interval_probe``: Airflow 2's
CronDataIntervalTimetable, Airflow 3's CronTriggerTimetable). The test works out what must differ
from the versions alone, and checks that compare finds exactly that, in its JSON, its summary and
its page, and nothing else; then that ``--allow`` turns the exit status to 0, on cached virtualenvs,
and that a suite which does not run at all makes it 2.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from airflow_e2e_harness.session import E2ESession
from tests.e2e.conftest import OUTER_CACHE
from tests.e2e.html_elements import Elements

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).resolve().parent / "compare_project"
CONSTRAINTS = REPO / "tests" / "constraints"
DAY = date(2026, 1, 5)

CONFTEST = '''\
import pytest


@pytest.fixture(scope="session")
def probe(airflow_e2e):
    images = {"probe:1.0": "images/probe"}
    with airflow_e2e.docker(images=images, env={"PROBE_DATA_DIR": "${data_dir}"}) as env:
        yield env
'''

TESTS = '''\
def test_version_probe(probe):
    run = probe.run("version_probe", "2026-01-05")
    assert run.ok, run.describe()


def test_steady(probe):
    run = probe.run("steady", "2026-01-05")
    assert run.ok, run.describe()
    assert run.xcoms["check"] == '{"checked": 3}'


def test_interval_probe(probe):
    run = probe.run("interval_probe", "2026-01-05")
    assert run.ok, run.describe()
'''


@dataclass(frozen=True)
class Case:
    """Two versions to compare, each with its constraints file."""

    before: str
    after: str
    before_constraints: Path
    after_constraints: Path


CASES = [
    pytest.param(Case("3.2.2", "3.3.2", CONSTRAINTS / "airflow-3.2.txt", CONSTRAINTS / "airflow-3.3.txt"),
                 id="3.2-vs-3.3"),
    # Nothing in compare is version-specific. Both constraints files pin the same docker provider, so
    # no other rendered field differs; a provider with other template fields would add those here.
    pytest.param(Case("2.11.2", "3.3.2", CONSTRAINTS / "airflow-2.11.txt", CONSTRAINTS / "airflow-3.3.txt"),
                 id="2.11-vs-3.3"),
]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def manual_interval(version: str) -> tuple[date, date]:
    """A manual run's data interval for ``schedule="@daily"`` on DAY: Airflow 2's cron timetable
    gives the day before it, Airflow 3's a point at the logical date."""
    return (DAY - timedelta(days=1), DAY) if Version(version).major < 3 else (DAY, DAY)


def expected(before: str, after: str) -> dict[str, tuple[Any, Any]]:
    """Every difference compare must find, by address: (before's value, after's)."""
    out = f"/data/{DAY}"
    found: dict[str, tuple[Any, Any]] = {
        "version_probe.write.xcom": (before, after),
        "version_probe.write.rendered.command": tuple(
            ["version", "--out", out, "--version", v] for v in (before, after)),
        f"version_probe.files.{DAY}/version.txt": (sha(f"{before}\n"), sha(f"{after}\n")),
    }
    (start_a, end_a), (start_b, end_b) = manual_interval(before), manual_interval(after)
    if (start_a, end_a) != (start_b, end_b):
        found["interval_probe.data_interval.start"] = (f"{start_a}T00:00:00+00:00",
                                                       f"{start_b}T00:00:00+00:00")
        found["interval_probe.interval.xcom"] = (f"{start_a}..{end_a}", f"{start_b}..{end_b}")
        found["interval_probe.interval.rendered.command"] = tuple(
            ["interval", "--out", out, "--start", str(s), "--end", str(e)] for s, e in ((start_a, end_a),
                                                                                        (start_b, end_b)))
        found[f"interval_probe.files.{DAY}/interval.txt"] = (sha(f"{start_a}..{end_a}\n"),
                                                             sha(f"{start_b}..{end_b}\n"))
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(REPO), "-w", str(dist)],
                   check=True, capture_output=True)
    (built,) = dist.glob("airflow_e2e_harness-*.whl")
    return built


def compare(
    project: Path, case: Case, wheel: Path, env: dict[str, str], *extra: str,
    pytest_args: tuple[str, ...] = ("-p", "no:cacheprovider", "-q"),
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "airflow_e2e_harness", "compare",
            "--airflow", case.before, "--airflow", case.after,
            "--constraints", str(case.before_constraints), "--constraints", str(case.after_constraints),
            "--harness-wheel", str(wheel), "--out", "compare-out", *extra, "--", *pytest_args]
    return subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=1800)


def team_project(tmp_path: Path) -> Path:
    """The team's repository, outside this one: the compare project and its tests."""
    project = tmp_path / "team-repo"
    shutil.copytree(PROJECT, project)
    (project / "tests").mkdir()
    (project / "tests" / "conftest.py").write_text(CONFTEST)
    (project / "tests" / "test_dags.py").write_text(TESTS)
    return project


def compare_env(session: E2ESession) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PIP_CONSTRAINT"}  # tox sets the outer env's
    env["DOCKER_HOST"] = session.start_daemon().url  # the session's daemon, shared
    env["HARNESS_CACHE_DIR"] = str(OUTER_CACHE)  # the virtualenvs stay cached for the next run
    return env


@pytest.mark.parametrize("case", CASES)
def test_compare_finds_exactly_what_the_version_changes(
    case: Case, wheel: Path, airflow_e2e: E2ESession, tmp_path: Path,
) -> None:
    project = team_project(tmp_path)
    env = compare_env(airflow_e2e)

    first = compare(project, case, wheel, env)
    output = f"{first.stdout}\n{first.stderr}"
    assert first.returncode == 1, output
    out = project / "compare-out"
    want = expected(case.before, case.after)

    # compare.json: exactly the expected differences, none allowed
    report = json.loads((out / "compare.json").read_text())
    assert [(v["label"], v["returncode"], v["runs"]) for v in report["versions"]] == [
        (case.before, 0, 3), (case.after, 0, 3)], output
    (comparison,) = report["comparisons"]
    found = {d["address"]: (d["before"], d["after"]) for d in comparison["differences"]}
    assert found == want, output
    assert all(d["how"] == "changed" and d["allowed_by"] is None for d in comparison["differences"])

    # each version's records: the interval each version's timetable gives a manual run
    for n, version in ((1, case.before), (2, case.after)):
        records = out / f"{n}-airflow-{version}" / "records"
        runs = [json.loads(p.read_text()) for p in records.glob("run-*.json")]
        assert sorted(r["dag_id"] for r in runs) == ["interval_probe", "steady", "version_probe"]
        (interval,) = [r["data_interval"] for r in runs if r["dag_id"] == "interval_probe"]
        assert interval == [f"{d}T00:00:00+00:00" for d in manual_interval(version)]

    # the summary and the page say the same
    assert f"airflow {case.before} -> {case.after}: " in first.stdout, output
    for address in want:
        assert f"    {address} " in first.stdout, output
    assert "steady @ 2026-01-05 (manual)" in first.stdout.split("same: ", 1)[1], output
    assert f"{len(want)} difference(s) not allowed" in first.stdout, output
    page = Elements()
    page.feed((out / "compare.html").read_text(encoding="utf-8"))
    assert {row["data-address"] for row in page.with_class("difference")} == set(want)
    assert "steady @ 2026-01-05 (manual)" in {li["data-run"] for li in page.with_class("same-run")}

    # allowed: exit 0, and both virtualenvs come from the cache
    second = compare(project, case, wheel, env, "--allow", "version_probe.*", "--allow", "interval_probe.*")
    output = f"{second.stdout}\n{second.stderr}"
    assert second.returncode == 0, output
    assert second.stderr.count(": done in ") >= 4 and second.stderr.count("(cached, ") == 2, output
    report = json.loads((out / "compare.json").read_text())
    assert {d["address"]: d["allowed_by"] for d in report["comparisons"][0]["differences"]} == {
        address: address.split(".")[0] + ".*" for address in want}

    # a suite that does not run at all (here: an option pytest does not know) is an error, exit 2
    broken = compare(project, case, wheel, env, pytest_args=("--no-such-option",))
    output = f"{broken.stdout}\n{broken.stderr}"
    assert broken.returncode == 2, output
    said = f"error: the suite on {case.before} did not run: pytest exit 4 (usage error)"
    assert said in broken.stderr, output


DOCKER_PROVIDER = "apache-airflow-providers-docker"
DOCKER_PROVIDER_OTHER = "4.6.0"  # a provider change on one side only: --with 2:REQ


def pinned(constraints: Path, distribution: str) -> str:
    (version,) = [line.split("==", 1)[1].strip() for line in constraints.read_text().splitlines()
                  if line.lower().startswith(f"{distribution}==")]
    return version


def test_a_docker_provider_change_alone_changes_nothing_the_dags_do(
    wheel: Path, airflow_e2e: E2ESession, tmp_path: Path,
) -> None:
    """The same Airflow twice, the second with another docker provider (``--with 2:...``): two
    virtualenvs, two labels, no difference, and the report names the provider on each side."""
    constraints = CONSTRAINTS / "airflow-3.3.txt"
    before = pinned(constraints, DOCKER_PROVIDER)
    # Worked out from the two wheels, not from compare: 4.6.0 and 4.6.1 differ only in __version__.
    assert before == "4.6.1", f"the constraints pin {DOCKER_PROVIDER} {before}: redo this case's expectations"
    project = team_project(tmp_path)
    case = Case("3.3.2", "3.3.2", constraints, constraints)
    pin = f"{DOCKER_PROVIDER}=={DOCKER_PROVIDER_OTHER}"
    result = compare(project, case, wheel, compare_env(airflow_e2e), "--with", f"2:{pin}")
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, output

    labels = ["3.3.2 airflow-3.3.txt", f"3.3.2 {pin}"]  # one version's sides: by their pins, else constraints
    report = json.loads((project / "compare-out" / "compare.json").read_text())
    assert [(v["label"], v["returncode"], v["runs"]) for v in report["versions"]] == [
        (labels[0], 0, 3), (labels[1], 0, 3)], output
    assert [v["installed"][DOCKER_PROVIDER] for v in report["versions"]] == [before, DOCKER_PROVIDER_OTHER]
    assert [v["installed"]["apache-airflow"] for v in report["versions"]] == ["3.3.2", "3.3.2"]
    (comparison,) = report["comparisons"]
    assert comparison["differences"] == [], output
    assert comparison["installed"] == {DOCKER_PROVIDER: [before, DOCKER_PROVIDER_OTHER]}, output
    assert f"  installed: {DOCKER_PROVIDER} {before} -> {DOCKER_PROVIDER_OTHER}\n" in result.stdout, output
    made = {line.rsplit("/", 1)[1] for line in result.stderr.splitlines()
            if "virtualenv airflow 3.3.2" in line and ": done in " in line}
    assert len(made) == 2, output  # one virtualenv per side
    page = Elements()
    page.feed((project / "compare-out" / "compare.html").read_text(encoding="utf-8"))
    assert [row["data-distribution"] for row in page.with_class("installed")] == [DOCKER_PROVIDER]
