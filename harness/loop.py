"""``python -m airflow_e2e_harness loop -- <pytest args>``: rerun a suite in one process that keeps
Airflow started.

A rerun in a new process pays Airflow's one-time start every time: the interpreter, Airflow's
imports and, on Airflow 3, the in-process execution API, about 5.5 s on a 2-core machine before
the first DAG run, whatever the harness does (``bench/process_floor.py``). The loop runs pytest
in this process again each time Enter is pressed (or ``--runs`` times): Airflow stays imported,
its execution API built, its metadata DB bound, and each rerun starts with the runs themselves.

Each rerun is a whole pytest session of the harness's own (a new ``E2ESession``: its labels,
artifacts folder, report and summary) with two things shared, held by the loop's own session:

- the Airflow home (:class:`~airflow_e2e_harness.airflow.home.AirflowHome`): Airflow binds its
  metadata DB when first imported, so every rerun must use that one;
- the Docker daemon and the kind cluster: the loop holds a lease on both, so a rerun's end
  leaves them running for the next (as another live session's lease would), and the kind
  environments' manifests stay applied, on a cluster named for the loop unless you give
  ``--cluster-name``. When the loop ends, its session releases them as a session of yours
  would: the cluster and the harness daemon go unless you asked to keep them.

What changed between reruns is read anew: DAG files are parsed for every run anyway; the
project's own modules (tests, conftests, helpers; not installed packages) are dropped from
``sys.modules`` before each rerun, so pytest imports the edited ones. Task images are rebuilt
when their context changed, as in any session. What is not read anew: installed packages
(Airflow, providers, the harness), and ``HARNESS_*`` settings (read once).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from airflow_e2e_harness.airflow.home import AirflowHome
from airflow_e2e_harness.docker.daemon import DockerDaemon, ping
from airflow_e2e_harness.errors import ConfigurationError
from airflow_e2e_harness.housekeeping.leases import Leases
from airflow_e2e_harness.kubernetes.cluster_state import ClusterState
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.session import SHARED_CLUSTER_NAME, E2ESession, KeepOptions, KindOptions
from airflow_e2e_harness.timing import default_timer

RUNNING = {"__main__", "__mp_main__"}  # the running script (this command's, even when in the project)
OWN_PACKAGE = __name__.partition(".")[0]  # never dropped: the loop and its sessions are in it
PLUGIN_NAME = "airflow-e2e-loop"  # the fixtures plugin asks pytest for it: its airflow_home
PROMPT = "loop: Enter runs the suite again; q then Enter (or Ctrl-D) ends the loop"
INTERRUPTED = 2  # pytest.ExitCode.INTERRUPTED
REFUSED = {"-n", "--numprocesses", "--dist", "--looponfail", "-f"}  # other processes: nothing stays warm


def option_value(args: Sequence[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in pytest arguments, if given."""
    for n, arg in enumerate(args):
        if arg == name and n + 1 < len(args):
            return args[n + 1]
        if arg.startswith(f"{name}="):
            return arg.partition("=")[2]
    return None


def loop_arguments(args: Sequence[str], cluster_name: str) -> tuple[list[str], bool]:
    """The arguments each rerun gets, and whether the user asked to keep the cluster.

    The loop's reruns share one cluster: ``--cluster-name`` of the loop's own unless given, or
    pytest's name for a kept cluster with ``--keep-cluster`` (the loop's lease keeps it between
    reruns, and the plugin keeps the manifests applied).
    """
    refused = sorted(a for a in args if a.split("=")[0] in REFUSED or re.fullmatch(r"-n\d+", a))
    if refused:
        raise ConfigurationError(
            f"loop: {' '.join(refused)} runs tests in other processes, where nothing stays started "
            "between reruns: leave it out (the loop is for the one-process rerun)"
        )
    user_keeps = "--keep-cluster" in args or "--keep-all" in args
    out = list(args)
    if option_value(args, "--cluster-name") is None:  # a kept one gets the name pytest would give it
        out += ["--cluster-name", SHARED_CLUSTER_NAME if user_keeps else cluster_name]
    return out, user_keeps


def project_modules(root: Path, keep: Sequence[Path]) -> list[str]:
    """Names in ``sys.modules`` of modules whose files are under ``root`` (the user's tests,
    conftests, helpers), except those under ``keep`` (installed packages, a virtualenv inside the
    project) and the harness's own (its source may be in the project: an editable install)."""
    root = root.resolve()
    names = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or name in RUNNING or name.partition(".")[0] == OWN_PACKAGE:
            continue
        path = Path(file).resolve()
        if path.is_relative_to(root) and not any(path.is_relative_to(k) for k in keep):
            names.append(name)
    return names


def _kept_paths() -> list[Path]:
    """Where installed code lives: never dropped from ``sys.modules``."""
    return [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]


class RerunLoop(Lifecycle):
    """Runs pytest in this process again and again; holds what the reruns share.

    :param pytest_args: the arguments of every rerun, as you would give them to pytest.
    :param root: the project: its modules are read anew before each rerun (default: the
        current directory).
    :param runs: how many times to run, without asking (None: ask after each run).
    :param stdin: where the prompt's answers come from.
    :param out: where the loop's own lines go.
    :param run_pytest: pytest's entry point (``pytest.main``; a stand-in in unit tests).
    """

    def __init__(
        self,
        pytest_args: Sequence[str],
        *,
        root: Path | None = None,
        runs: int | None = None,
        stdin: TextIO | None = None,
        out: TextIO | None = None,
        run_pytest: Callable[..., int] | None = None,
    ) -> None:
        self.root = Path(root or Path.cwd()).resolve()
        self.runs = runs
        self.stdin = stdin or sys.stdin
        self.out = out or sys.stderr
        self._run_pytest = run_pytest
        self.args, user_keeps = loop_arguments(pytest_args, f"airflow-e2e-loop-{os.getpid()}")
        self.cluster_name = option_value(self.args, "--cluster-name") or ""
        keep_daemon = "--keep-daemon" in pytest_args or "--keep-all" in pytest_args
        self.session = E2ESession(  # "loop": an id (and lease) apart from its reruns' in the same second
            root=self.root, timer=default_timer(), kind=KindOptions(cluster_name=self.cluster_name),
            keep=KeepOptions(daemon=keep_daemon, cluster=user_keeps), worker="loop",
        )
        self.daemon = DockerDaemon(session=self.session.id)  # read only: its leases and socket
        self.cluster = ClusterState(self.cluster_name)
        self.__name__ = PLUGIN_NAME  # the name pytest registers this plugin object under
        self.seconds: list[float] = []  # each rerun's wall time
        self.exit_code = 0

    @property
    def airflow_home(self) -> AirflowHome:
        """What the fixtures plugin gives each rerun's session (see ``PLUGIN_NAME``)."""
        return self.session.home

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        # Started only as far as its record and home (before anything imports airflow): it runs no
        # DAG, so its cluster policies stay out of Airflow's, where each rerun's session puts its own.
        self.session.record.write()
        self.session.home.start()
        # Leases, nothing started: a rerun's end sees a live user of both and leaves them running.
        for leases in self._leases():
            with leases.locked():
                leases.add(self.session.id)

    def stop(self) -> None:
        """Release the daemon and the cluster as a session of yours would, then the loop's home.

        The loop's session takes over what the reruns left (under the same lease it held): the
        cluster, reused, is deleted unless kept; the harness daemon stops unless kept or used
        by another session.
        """
        s = self.session
        try:
            if ping(self.daemon.own_url) is not None:
                s.start_daemon()  # adopted: its stop decides, as for any session
            if self.cluster.recorded():
                s.start_cluster(ready=False)  # reused: its stop deletes it unless kept
        finally:
            try:
                s.stop()
            finally:  # whatever the session did not take over: the loop's own leases
                for leases in self._leases():
                    with leases.locked():
                        leases.remove(s.id)
                self.cluster.remove_if_idle()  # the folder its lease made, when no rerun made a cluster

    def _leases(self) -> tuple[Leases, Leases]:
        return self.daemon.leases, self.cluster.leases

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> int:
        """Run until told to stop; the last rerun's exit code."""
        n = 0
        while True:
            n += 1
            self.exit_code = self.rerun(n)
            if self.exit_code == INTERRUPTED:  # Ctrl-C or SIGTERM in a run ends the loop too
                print("loop: the run was interrupted; ending", file=self.out, flush=True)
                return self.exit_code
            if self.runs is not None:
                if n >= self.runs:
                    return self.exit_code
                continue
            print(PROMPT, file=self.out, flush=True)
            answer = self.stdin.readline()
            if not answer or answer.strip().lower() in ("q", "quit", "exit"):
                return self.exit_code

    def rerun(self, n: int) -> int:
        """One pytest session in this process, on the project's modules as they are now."""
        import pytest

        for name in project_modules(self.root, _kept_paths()):
            del sys.modules[name]
        default_timer().restart()  # each rerun's summary is its own
        run = self._run_pytest or pytest.main
        start = time.monotonic()
        code = int(run(self.args, plugins=[self]))
        seconds = time.monotonic() - start
        self.seconds.append(seconds)
        print(f"loop: run {n} took {seconds:.1f}s (pytest exit {code})", file=self.out, flush=True)
        return code


def add_parser(sub: Any) -> None:
    loop = sub.add_parser(
        "loop", help="rerun your pytest suite in one process that keeps Airflow started",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    loop.add_argument("--runs", type=int, default=None, metavar="N",
                      help="run N times without asking, then end (default: ask after each run)")
    loop.add_argument("pytest_args", nargs="*", help="after --: your pytest arguments")
    loop.set_defaults(func=cmd_loop)


def cmd_loop(args: argparse.Namespace) -> int:
    """The loop, started and ended around its runs; the last run's pytest exit code."""
    if args.runs is not None and args.runs < 1:
        raise ConfigurationError(f"--runs {args.runs}: give 1 or more")
    with RerunLoop(args.pytest_args, runs=args.runs) as loop:
        try:
            return loop.run()
        except KeyboardInterrupt:
            print("loop: interrupted; ending", file=loop.out, flush=True)
            return loop.exit_code or 130
