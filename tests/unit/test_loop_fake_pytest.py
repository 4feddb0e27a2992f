"""The rerun loop's arguments, which modules it reads anew, and its prompt, with a stand-in for
pytest.main (no session, no Airflow)."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import pytest

from airflow_e2e_harness.errors import ConfigurationError
from airflow_e2e_harness.loop import PROMPT, RerunLoop, loop_arguments, option_value, project_modules


def test_the_reruns_share_a_cluster_of_the_loops_own_name() -> None:
    args, keeps = loop_arguments(["tests", "-k", "movielens"], "airflow-e2e-loop-7")
    assert args == ["tests", "-k", "movielens", "--cluster-name", "airflow-e2e-loop-7"]
    assert keeps is False


def test_a_name_and_keep_the_user_gave_are_theirs() -> None:
    args, keeps = loop_arguments(["tests", "--cluster-name=mine", "--keep-cluster"], "airflow-e2e-loop-7")
    assert args == ["tests", "--cluster-name=mine", "--keep-cluster"]
    assert keeps is True
    assert option_value(args, "--cluster-name") == "mine"
    assert option_value(["--cluster-name", "x"], "--cluster-name") == "x"
    assert loop_arguments(["--keep-cluster"], "airflow-e2e-loop-7")[0][-1] == "airflow-e2e"  # pytest's own
    assert option_value(["--cluster-name"], "--cluster-name") is None


@pytest.mark.parametrize("arg", ["-n", "-n2", "--numprocesses=2", "--dist", "-f", "--looponfail"])
def test_other_processes_are_refused_with_the_reason(arg: str) -> None:
    with pytest.raises(ConfigurationError, match="other processes"):
        loop_arguments(["tests", arg], "x")


def test_project_modules_are_dropped_installed_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, venv = tmp_path / "team", tmp_path / "team" / ".venv"
    (venv / "lib").mkdir(parents=True)
    modules = {
        "team_test_x": project / "tests" / "test_x.py",
        "team_conftest": project / "conftest.py",
        "team_installed": venv / "lib" / "pkg.py",
        "elsewhere": tmp_path / "other" / "mod.py",
        "airflow_e2e_harness.fake_in_project": project / "fixtures" / "plugin.py",  # an editable install
    }
    for name, file in modules.items():
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(__file__=str(file)))
    monkeypatch.setitem(sys.modules, "no_file", types.SimpleNamespace())
    running = sys.modules["__main__"]
    monkeypatch.setattr(running, "__file__", str(project / "harness" / "__main__.py"), raising=False)

    found = project_modules(project, keep=[venv])

    # Never __main__ (`python -m airflow_e2e_harness` run from the project) nor the harness's own.
    mine = ("team_", "elsewhere", "no_file", "airflow_e2e", "__")
    assert sorted(n for n in found if n.startswith(mine)) == ["team_conftest", "team_test_x"]


def test_enter_runs_again_and_q_ends_with_the_last_exit_code(tmp_path: Path) -> None:
    codes = iter([1, 0])
    calls: list[list[str]] = []

    def fake_pytest_main(args: list[str], plugins: list[object]) -> int:
        calls.append(list(args))
        assert plugins and getattr(plugins[0], "__name__", None) == "airflow-e2e-loop"
        return next(codes)

    out = io.StringIO()
    loop = RerunLoop(["tests"], root=tmp_path, stdin=io.StringIO("\nq\n"), out=out,
                     run_pytest=fake_pytest_main)
    try:
        assert loop.run() == 0
    finally:
        loop.session.stop()  # never started: nothing but its scratch folder to remove
    assert len(calls) == 2 and all("--cluster-name" in c for c in calls)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("loop: run 1 took") and lines[0].endswith("(pytest exit 1)")
    assert lines[1] == PROMPT and lines[2].endswith("(pytest exit 0)") and lines[3] == PROMPT
    assert len(loop.seconds) == 2


def test_an_interrupted_run_ends_the_loop(tmp_path: Path) -> None:
    loop = RerunLoop(["tests"], root=tmp_path, stdin=io.StringIO("\n\n"), out=io.StringIO(),
                     run_pytest=lambda args, plugins: int(pytest.ExitCode.INTERRUPTED))
    try:
        assert loop.run() == pytest.ExitCode.INTERRUPTED
    finally:
        loop.session.stop()
    assert len(loop.seconds) == 1
