"""Benchmark how fast DAGs written for production fail or recover under the harness.

Prints numbers, asserts nothing (the e2e tests assert the behaviour):

- a DockerOperator that fails twice and then succeeds, ``retry_delay=5min``: the run's time, and
  the same DAG's retries with the delays kept would add 2 x 5 min;
- a Docker task with ``execution_timeout=5s`` whose container ignores SIGTERM: the run with the
  harness's 1 s stop grace and with Docker's own 10 s (``--stock-waits``);
- a crash-looping Deployment in the manifests: seconds from the start of the manifests phase to
  the ``ManifestError`` (it waited 180 s before);
- pods that end badly (OOMKilled, exit 3, a rejected spec): the run's time.

    python -m bench.fidelity [--cluster-name harness-bench] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from airflow_e2e_harness.kubernetes.manifests import ManifestError
from airflow_e2e_harness.session import E2ESession, KeepOptions, KindOptions
from airflow_e2e_harness.timing import Timer

ROOT = Path(__file__).resolve().parents[1]
FIDELITY = ROOT / "scenarios" / "fidelity"
CRASH = ROOT / "tests" / "e2e" / "manifest_failures"
IMAGES = ("fidelity-probe:latest", "registry.example.com/team/probe")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluster-name", default="harness-bench")
    parser.add_argument("--keep", action="store_true", help="keep cluster, daemon, scratch dir")
    args = parser.parse_args(argv)

    timer = Timer()
    scratch = Path(tempfile.mkdtemp(prefix="harness-bench-fidelity-"))
    keep = KeepOptions(daemon=args.keep, cluster=args.keep, resources=args.keep)
    session = E2ESession(root=ROOT, artifacts_root=scratch / "artifacts", keep=keep, timer=timer,
                         kind=KindOptions(cluster_name=args.cluster_name))
    rows: list[tuple[str, float, str]] = []
    try:
        with session:
            _measure(session, rows)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print("\n" + timer.summary())
    print(f"\n{'case':<52} {'seconds':>8}  note")
    for name, seconds, note in rows:
        print(f"  {name:<50} {seconds:8.1f}  {note}")
    return 0


def _measure(session: E2ESession, rows: list[tuple[str, float, str]]) -> None:
    images = dict.fromkeys(IMAGES, FIDELITY / "images" / "probe")
    with session.docker(dags=FIDELITY / "dags", images=images) as env:
        env.run("docker_written_for_prod", "2026-01-04")  # the first run pays Airflow's one-time start
        run = env.run("docker_written_for_prod", "2026-01-05")
        rows.append(("docker: task failing twice, retry_delay=5min", run.seconds,
                     f"try {run.tasks['flaky'].try_number}; the DAG's delays would add 600 s"))
        run = env.run("docker_timeout_for_prod", "2026-01-05")
        rows.append(("docker: execution_timeout=5s, 1 s stop grace", run.seconds, run.state))
        docker = session.policies.docker
        grace, docker.stop_grace = docker.stop_grace, None
        try:
            run = env.run("docker_timeout_for_prod", "2026-01-06")
        finally:
            docker.stop_grace = grace
        rows.append(("docker: execution_timeout=5s, Docker's 10 s grace", run.seconds, run.state))

    crash = session.kind(dags=FIDELITY / "dags", images=CRASH / "images",
                         manifests=CRASH / "crash_looping.yaml", namespace="bench-crash")
    try:
        with crash:
            pass
        rows.append(("kind: crash-looping Deployment", float("nan"), "no error: NOT caught"))
    except ManifestError as err:
        phase = next(p for p in reversed(session.timer.phases) if p.name == "apply manifests")
        rows.append(("kind: crash-looping Deployment (apply -> error)", phase.seconds, f"{err.reason}"))
    finally:
        if crash.manifests is not None:
            crash.manifests.delete()

    with session.kind(dags=FIDELITY / "dags", images=images, namespace="bench-fidelity",
                      env={"FIDELITY_NAMESPACE": "${namespace}"}) as env:
        start = time.monotonic()
        run = env.run("k8s_pod_ends", "2026-01-05")
        rows.append(("kind: OOMKilled, exit 3, rejected spec (one run)", time.monotonic() - start,
                     f"{len(run.findings)} findings"))
        run = env.run("k8s_written_for_prod", "2026-01-05")
        rows.append(("kind: pod failing twice, retry_delay=5min", run.seconds,
                     f"try {run.tasks['flaky'].try_number}; the DAG's delays would add 600 s"))


if __name__ == "__main__":
    raise SystemExit(main())
