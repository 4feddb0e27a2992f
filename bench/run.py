"""Benchmark the bundled scenarios: time per phase, and the raw floor to compare with.

Prints numbers, asserts nothing. The floor is the same containers run with no
Airflow in between: directly with the docker SDK, and as bare pods with the
kubernetes client; the ratio harness / floor says what orchestration costs.
The stock column is the same DAGs run with plain ``dag.test()`` on the same
daemon and cluster, in a process with no harness code (``bench.stock_dag_test``):
what a team writes without the harness, with the providers' default waits.

    python -m bench.run [--days 3] [--cluster-name harness-bench] [--keep] [--rounds 3] [--reruns 2]

The rerun loop is ``pytest tests/e2e -k movielens`` in a process of its own,
sharing the bench's cluster (``--cluster-name``) as a kept cluster would be
shared: everything it needs is built, loaded and running already. A fresh
session is ``pytest tests/e2e/test_movielens_k8s.py`` with a cluster of its own
(daemon kept warm, caches warm): the seconds from its start until its first
Kubernetes DAG run starts. The process floor (``bench.process_floor``) is what any
process that runs a DAG with Airflow pays here: ``python dags/x.py`` calling
``dag.test()`` on a one-task DAG; each rerun is also shown above its runs' floor and
above that plus the process floor. The same tests then run in ``python -m
airflow_e2e_harness loop`` (one process that keeps Airflow started), ``--reruns`` + 1
times: its reruns after the first are shown the same way.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import docker
from docker.types import Mount
from kubernetes import client as k8s

from airflow_e2e_harness.environment import Service
from airflow_e2e_harness.kubernetes.pod_log import pod_log
from airflow_e2e_harness.session import E2ESession, KeepOptions, KindOptions
from airflow_e2e_harness.timing import Timer
from bench.process_floor import process_floor_seconds
from bench.stock_dag_test import stock_environment

ROOT = Path(__file__).resolve().parents[1]
MOVIELENS = ROOT / "scenarios" / "movielens"
SEED = "20260105"
CONN = "http://airflow:airflow@movielens:5000"
TASKS_PER_RUN = 2  # fetch_ratings, rank_movies
RERUN_ARGS = ["tests/e2e", "-k", "movielens", "--keep-cluster"]  # manifests stay for the next rerun
PROCESS_FLOOR = "process floor: one-task dag.test()"  # bench.process_floor
FIRST_K8S_RUN = "run movielens_k8s 2026-01-05 ..."  # the progress line as a run starts


def fetch_args(ds: str, end: str, out: str) -> list[str]:
    return ["fetch-ratings", "--start-date", ds, "--end-date", end, "--output-path", out,
            "--host", "http://movielens:5000", "--user", "airflow", "--password", "airflow"]


def rank_args(ds: str, out_dir: str) -> list[str]:
    return ["rank-movies", "--input-path", f"{out_dir}/ratings/{ds}.json",
            "--output-path", f"{out_dir}/rankings/{ds}.csv", "--min-ratings", "2"]


def timed(fn: Callable[[], object]) -> float:
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def interleaved(
    days: list[date], rounds: int, harness: Callable[[date], float], floor: Callable[[date], float],
) -> tuple[float, float]:
    """Median over ``rounds`` of (harness seconds, floor seconds) for all ``days``.

    Each day runs through the harness and then on the floor, so that both see the
    machine in the same state; the median round keeps one slow outlier (a GC pause, a
    neighbour's burst of CPU) from deciding the ratio.
    """
    totals = []
    for _ in range(rounds):
        h = f = 0.0
        for d in days:
            h += harness(d)
            f += floor(d)
        totals.append((h, f))
    return sorted(totals, key=lambda pair: pair[0] / pair[1])[len(totals) // 2]


def bare_pod(core: k8s.CoreV1Api, namespace: str, name: str, image: str, args: list[str]) -> None:
    """One pod, run to completion, then deleted: what KubernetesPodOperator does, minus Airflow."""
    pod = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name),
        spec=k8s.V1PodSpec(
            restart_policy="Never",
            containers=[k8s.V1Container(
                name="base", image=image, image_pull_policy="Never", command=[args[0]], args=args[1:],
                volume_mounts=[k8s.V1VolumeMount(name="data", mount_path="/data")],
            )],
            volumes=[k8s.V1Volume(
                name="data",
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="data-volume"),
            )],
        ),
    )
    core.create_namespaced_pod(namespace, pod)
    try:
        while True:
            phase = core.read_namespaced_pod(name, namespace).status.phase
            if phase in ("Succeeded", "Failed"):
                if phase == "Failed":
                    log = pod_log(core, name, namespace)
                    raise RuntimeError(f"floor pod {name} failed: {log}")
                return
            time.sleep(0.2)
    finally:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--cluster-name", default="harness-bench")
    parser.add_argument("--kind-image", default=None, help="'local', 'stock' or a node image tag")
    parser.add_argument("--keep", action="store_true", help="keep cluster, daemon, scratch dir")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of harness-then-floor runs per scenario; the median round is shown")
    parser.add_argument("--reruns", type=int, default=2,
                        help=f"times to run `pytest {' '.join(RERUN_ARGS)}` on the bench's cluster (0: skip)")
    args = parser.parse_args(argv)

    timer = Timer()
    days = [date(2026, 1, 5) + timedelta(days=i) for i in range(args.days)]
    scratch = Path(tempfile.mkdtemp(prefix="harness-bench-"))
    keep = KeepOptions(daemon=args.keep, cluster=args.keep, resources=args.keep)
    session = E2ESession(
        root=ROOT, artifacts_root=scratch / "artifacts", keep=keep, timer=timer,
        kind=KindOptions(cluster_name=args.cluster_name, node_image=args.kind_image),
    )
    numbers: dict[str, float] = {}
    stocks: dict[str, float] = {}
    try:
        with session:
            ratios = _measure(session, days, scratch, numbers, args.rounds, args.reruns, stocks)
    finally:
        if args.keep:
            print(f"kept: {scratch}")
        else:
            logs = [*scratch.glob("rerun-*.log"), *scratch.glob("fresh-*.log"), *scratch.glob("loop.log")]
            for log in logs:  # a failed pytest's output outlives the scratch dir
                (ROOT / "e2e-artifacts").mkdir(exist_ok=True)
                shutil.copy(log, ROOT / "e2e-artifacts" / f"bench-{log.name}")
            shutil.rmtree(scratch, ignore_errors=True)

    print("\n" + timer.summary())
    print("\nphase                      seconds")
    for name, value in numbers.items():
        print(f"  {name:<24} {value:8.1f}")
    if args.reruns:
        print(f"  (rerun loop: `pytest {' '.join(RERUN_ARGS)}`, a process of its own on the cluster above)")
        print_rerun_overhead(numbers, sum(f for _, f in ratios.values()))
    print(f"\n{'scenario':<20} {'harness':>9} {'floor':>9} {'ratio':>7} {'per task':>9} {'stock':>9} "
          f"{'vs stock':>9}   ({len(days)} daily runs of {TASKS_PER_RUN} tasks; "
          f"median of {args.rounds} rounds)")
    for name, (h, f) in ratios.items():
        per_task = (h - f) / (len(days) * TASKS_PER_RUN)
        stock = stocks.get(name, float("nan"))
        print(f"{name:<20} {h:8.1f}s {f:8.1f}s {h / f:6.2f}x {per_task:+8.2f}s "
              f"{stock:8.1f}s {h / stock:8.2f}x")
    return 0


def print_rerun_overhead(numbers: dict[str, float], runs_floor: float) -> None:
    """Each rerun above its DAG runs' floor (the same runs as bare containers and pods), and how
    much of that a process running any DAG with Airflow pays here anyway."""
    process = numbers.get(PROCESS_FLOOR, float("nan"))
    for name, seconds in numbers.items():
        above = seconds - runs_floor
        if name.startswith("rerun loop #") and "failed" not in name:  # a new process: pays it
            print(f"  {name}: {above:.1f}s above its runs' floor ({runs_floor:.1f}s); "
                  f"{above - process:.1f}s above that and the process floor ({process:.1f}s)")
        elif name.startswith("rerun in `loop` #"):  # Airflow started already
            print(f"  {name}: {above:.1f}s above its runs' floor ({runs_floor:.1f}s)")


def first_k8s_run_seconds(log: Path) -> float:
    """Seconds from starting a fresh pytest session (a cluster of its own) until its first
    Kubernetes DAG run starts, read from its progress lines as they come; it then runs to the end."""
    command = [sys.executable, "-m", "pytest", "tests/e2e/test_movielens_k8s.py", "-p", "no:cacheprovider",
               "-q"]
    started, first = time.monotonic(), float("nan")
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
        assert process.stdout is not None
        for line in process.stdout:
            if first != first and FIRST_K8S_RUN in line:  # nan: not seen yet
                first = time.monotonic() - started
            out.write(line)
        code = process.wait()
    if code != 0:
        raise RuntimeError(f"the fresh session failed (exit {code}); output: e2e-artifacts/bench-{log.name}")
    return first


def run_logged(command: list[str], log: Path, what: str) -> float:
    """Wall time of ``command`` run from the repo, its output into ``log``; fails saying where the
    output goes once the bench ends (``main`` copies the logs to e2e-artifacts)."""
    start = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    if code != 0:
        raise RuntimeError(f"{what} failed (exit {code}); its output: e2e-artifacts/bench-{log.name}")
    return time.monotonic() - start


def rerun_seconds(cluster_name: str, log: Path) -> float:
    """Wall time of the developer's rerun loop, a pytest process of its own on a cluster that is
    already up (the bundled MovieLens tests: three Docker and three Kubernetes runs)."""
    return run_logged([sys.executable, "-m", "pytest", *RERUN_ARGS, "--cluster-name", cluster_name,
                       "-p", "no:cacheprovider", "-q"], log, "the rerun")


def loop_seconds(cluster_name: str, log: Path, runs: int) -> list[float]:
    """Each run's wall time in ``python -m airflow_e2e_harness loop --runs N`` over the rerun
    loop's tests on the bench's cluster: the first run starts Airflow, the others find it started."""
    run_logged([sys.executable, "-m", "airflow_e2e_harness", "loop", "--runs", str(runs), "--",
                *RERUN_ARGS, "--cluster-name", cluster_name, "-p", "no:cacheprovider", "-q"], log, "the loop")
    return [float(m) for m in re.findall(r"^loop: run \d+ took ([\d.]+)s", log.read_text(), re.MULTILINE)]


def stock_seconds(
    dag_id: str, days: list[date], rounds: int, env: dict[str, str], scratch: Path,
) -> float:
    """Median over ``rounds`` of plain ``dag.test()`` for all ``days`` (see bench.stock_dag_test),
    after one warm-up day; the process's own start and DB migration are not counted."""
    home = Path(tempfile.mkdtemp(prefix=f"stock-{dag_id}-", dir=scratch))
    out, log = home / "runs.json", scratch / f"stock-{dag_id}.log"
    warm_up = (days[0] - timedelta(days=1)).isoformat()
    dag_file = MOVIELENS / "dags" / f"{dag_id}.py"
    command = [sys.executable, "-m", "bench.stock_dag_test", str(out), str(dag_file), dag_id, warm_up,
               *[d.isoformat() for _ in range(rounds) for d in days]]
    with log.open("w") as output:
        code = subprocess.run(command, cwd=ROOT, env=stock_environment(home, dag_file.parent) | env,
                              stdout=output, stderr=subprocess.STDOUT, check=False).returncode
    if code != 0:
        raise RuntimeError(f"stock dag.test() of {dag_id} failed (exit {code}); its output: {log}")
    runs = json.loads(out.read_text())["runs"]
    failed = [f"{day}: {state}" for day, _, state in runs if state != "success"]
    if failed:
        raise RuntimeError(f"stock dag.test() of {dag_id}: not successful ({', '.join(failed)}); see {log}")
    chunks = [runs[i:i + len(days)] for i in range(0, len(runs), len(days))]
    per_round = [sum(seconds for _, seconds, _ in chunk) for chunk in chunks]
    return statistics.median(per_round)


def _measure(
    session: E2ESession, days: list[date], scratch: Path, numbers: dict[str, float], rounds: int,
    reruns: int, stocks: dict[str, float],
) -> dict[str, tuple[float, float]]:
    """Every phase into ``numbers``, stock dag.test() into ``stocks``; per scenario (harness seconds,
    floor seconds).

    The environments are the same library objects the bundled e2e tests use.
    """
    timer = session.timer
    with ExitStack() as stack:
        with timer.phase("daemon") as p:
            client = session.start_daemon().client
            assert client is not None
        numbers["daemon"] = p.seconds
        with timer.phase("provisioning") as p:
            session.resolve_python_base()  # built if need be now, to time it apart
            session.provision_kind()
        numbers["provisioning"] = p.seconds
        with timer.phase("cluster create") as p:
            cluster = session.start_cluster()
        numbers["cluster create"] = p.seconds

        # -- Docker: each day through the harness, then on the floor ------------------------
        with timer.phase("docker environment") as p:
            docker_env = stack.enter_context(session.docker(
                dags=MOVIELENS / "dags", images=MOVIELENS / "images", network="movielens",
                services=[Service("movielens-api:e2e", name="movielens-api", aliases=["movielens"],
                                  environment={"MOVIELENS_SEED": SEED}, ready_log=r"serving \d+ ratings")],
                connections={"movielens": CONN}, data_dir=scratch / "docker-data",
                env={"MOVIELENS_DATA_DIR": "${data_dir}", "MOVIELENS_NETWORK": "${network}"},
            ))
        numbers["docker environment"] = p.seconds
        assert docker_env.network is not None
        mount = [Mount(target="/data", source=str(docker_env.data_dir), type="bind")]

        def docker_floor(d: date) -> float:
            ds, end = d.isoformat(), (d + timedelta(days=1)).isoformat()
            return timed(lambda: client.containers.run(
                "movielens-fetch:e2e", fetch_args(ds, end, f"/data/floor/ratings/{ds}.json"),
                network=docker_env.network.name, mounts=mount, remove=True)) + timed(
                lambda: client.containers.run(
                    "movielens-rank:e2e", rank_args(ds, "/data/floor"), mounts=mount, remove=True))

        harness_docker, floor_docker = interleaved(
            days, rounds, lambda d: docker_env.run("movielens_docker", d).seconds, docker_floor)
        daemon_url = session.start_daemon().url
        with timer.phase("stock dag.test() (docker)"):
            stocks["movielens_docker"] = stock_seconds("movielens_docker", days, rounds, {
                "DOCKER_HOST": daemon_url, "AIRFLOW_CONN_MOVIELENS": CONN,
                "MOVIELENS_DATA_DIR": str(docker_env.data_dir), "MOVIELENS_NETWORK": docker_env.network.name,
            }, scratch)

        # -- Kubernetes: each day through the harness, then as bare pods --------------------
        namespace = "movielens-bench"
        _measure_loads(session, list(docker_env.images), scratch, numbers)
        with timer.phase("kind environment") as p:
            kind_env = stack.enter_context(session.kind(
                dags=MOVIELENS / "dags", images=MOVIELENS / "images",
                manifests=MOVIELENS / "manifests" / "*.yaml", namespace=namespace,
                manifest_vars={"MOVIELENS_SEED": SEED}, connections={"movielens": CONN},
                env={"MOVIELENS_NAMESPACE": "${namespace}"},
            ))
        numbers["kind environment"] = p.seconds
        core = cluster.core
        pod_numbers = itertools.count()  # floor pods are deleted as they finish; names stay unique anyway

        def k8s_floor(d: date) -> float:
            ds, end, n = d.isoformat(), (d + timedelta(days=1)).isoformat(), next(pod_numbers)
            return timed(lambda: bare_pod(
                core, namespace, f"floor-fetch-{n}", "movielens-fetch:e2e",
                fetch_args(ds, end, f"/data/floor/ratings/{ds}.json"))) + timed(lambda: bare_pod(
                    core, namespace, f"floor-rank-{n}", "movielens-rank:e2e", rank_args(ds, "/data/floor")))

        harness_k8s, floor_k8s = interleaved(
            days, rounds, lambda d: kind_env.run("movielens_k8s", d).seconds, k8s_floor)
        with timer.phase("stock dag.test() (kubernetes)"):
            stocks["movielens_k8s"] = stock_seconds("movielens_k8s", days, rounds, {
                "KUBECONFIG": str(cluster.kubeconfig), "AIRFLOW_CONN_MOVIELENS": CONN,
                "MOVIELENS_NAMESPACE": kind_env.namespace,
            }, scratch)

        if reruns:
            log = scratch / "fresh-session.log"
            try:
                numbers["fresh session: first k8s run at"] = first_k8s_run_seconds(log)
            except RuntimeError as err:
                print(f"fresh session: {err}")
        for n in range(reruns):  # the bench's session holds the cluster (a lease): the reruns share it
            log = scratch / f"rerun-{n + 1}.log"
            try:
                numbers[f"rerun loop #{n + 1}"] = rerun_seconds(session.cluster_name, log)
            except RuntimeError as err:  # the phases measured so far are still worth printing
                print(f"rerun loop #{n + 1}: {err}")
                numbers[f"rerun loop #{n + 1} (failed)"] = float("nan")

        if reruns:
            log = scratch / "loop.log"
            try:
                for n, seconds in enumerate(loop_seconds(session.cluster_name, log, reruns + 1)[1:], 2):
                    numbers[f"rerun in `loop` #{n}"] = seconds
            except RuntimeError as err:
                print(f"loop: {err}")
            with timer.phase("process floor"):
                numbers[PROCESS_FLOOR] = process_floor_seconds(scratch, rounds)

        teardown_start = time.monotonic()
    session.release()
    numbers["teardown"] = time.monotonic() - teardown_start
    return {"movielens_docker": (harness_docker, floor_docker), "movielens_k8s": (harness_k8s, floor_k8s)}


def save_seconds(client: docker.DockerClient, tags: list[str]) -> tuple[float, int]:
    """The floor of copying images: stream ``docker save`` of each into nothing; (seconds, bytes)."""
    start, size = time.monotonic(), 0
    for tag in tags:
        for chunk in client.images.get(tag).save(named=True):
            size += len(chunk)
    return time.monotonic() - start, size


def _measure_loads(session: E2ESession, tags: list[str], scratch: Path, numbers: dict[str, float]) -> None:
    """Image loads cold, unchanged and changed (one edited file on a base the node holds),
    through the registry, with ``kind load`` for comparison, and the floor of exporting the bytes."""
    timer, cluster, client = session.timer, session.cluster, session.docker_client
    floor, size = save_seconds(client, tags)
    numbers[f"floor: docker save of the {len(tags)} images ({size / 1e6:.0f} MB)"] = floor
    for label in ("image load (cold)", "image load (unchanged)"):
        with timer.phase(label) as p:
            for tag in tags:
                cluster.load_image(tag)
        numbers[label] = p.seconds
    context = scratch / "movielens-rank-changed"
    shutil.copytree(MOVIELENS / "images" / "movielens-rank", context)
    with (context / "src" / "movielens_rank" / "cli.py").open("a") as source:
        source.write(f"# edited by the bench at {time.time()}\n")
    for n, via in enumerate(("registry", "kind load")):
        tag = f"movielens-rank:bench-changed-{n}"
        session.build_images({tag: context})
        new = client.images.get(tag)
        base = set(client.images.get("movielens-rank:e2e").attrs["RootFS"]["Layers"])
        fresh = [layer for layer in new.attrs["RootFS"]["Layers"] if layer not in base]
        registry, cluster.registry = cluster.registry, (cluster.registry if via == "registry" else None)
        try:
            with timer.phase(f"image load (changed, {via})") as p:
                cluster.load_image(tag)
        finally:
            cluster.registry = registry
        numbers[f"image load (changed: {len(fresh)} new layers, {via})"] = p.seconds
        with (context / "src" / "movielens_rank" / "cli.py").open("a") as source:
            source.write(f"# and again {n}\n")  # the kind-load variant gets a change of its own


if __name__ == "__main__":
    sys.exit(main())
