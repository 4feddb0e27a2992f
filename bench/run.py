"""Benchmark the bundled scenarios: time per phase, and the raw floor to compare with.

Prints numbers, asserts nothing. The floor is the same containers run with no
Airflow in between: directly with the docker SDK, and as bare pods with the
kubernetes client; the ratio harness / floor says what orchestration costs.

    python -m bench.run [--days 3] [--cluster-name harness-bench] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

from airflow_e2e_harness.airflow_home import AirflowHome
from airflow_e2e_harness.cluster import Cluster
from airflow_e2e_harness.containers import DockerNetwork, ServiceContainer
from airflow_e2e_harness.daemon import DockerDaemon
from airflow_e2e_harness.images import TaskImages, resolve_python_base
from airflow_e2e_harness.manifests import Manifests, load_documents
from airflow_e2e_harness.pod_log import pod_log
from airflow_e2e_harness.provision.kind_assets import provision_kind
from airflow_e2e_harness.runner import DagRunner
from airflow_e2e_harness.timing import Timer
from docker.types import Mount
from kubernetes import client as k8s

ROOT = Path(__file__).resolve().parents[1]
MOVIELENS = ROOT / "scenarios" / "movielens"
SEED = "20260105"
CONN = "http://airflow:airflow@movielens:5000"


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
    args = parser.parse_args(argv)

    timer = Timer()
    days = [date(2026, 1, 5) + timedelta(days=i) for i in range(args.days)]
    scratch = Path(tempfile.mkdtemp(prefix="harness-bench-"))
    home = AirflowHome(scratch / "airflow-home")
    numbers: dict[str, float] = {}
    try:
        with home:
            home.set_connection("movielens", CONN)
            ratios = _measure(args, timer, days, scratch, home, numbers)
    finally:
        if args.keep:
            print(f"kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    print("\n" + timer.summary())
    print("\nphase                      seconds")
    for name, value in numbers.items():
        print(f"  {name:<24} {value:8.1f}")
    print(f"\n{'scenario':<20} {'harness':>9} {'floor':>9} {'ratio':>7}   ({len(days)} daily runs)")
    for name, (h, f) in ratios.items():
        print(f"{name:<20} {h:8.1f}s {f:8.1f}s {h / f:6.2f}x")
    return 0


def _measure(
    args: argparse.Namespace, timer: Timer, days: list[date], scratch: Path, home: AirflowHome,
    numbers: dict[str, float],
) -> dict[str, tuple[float, float]]:
    """Every phase into ``numbers``; per scenario (harness seconds, floor seconds)."""
    with ExitStack() as stack:
        with timer.phase("daemon") as p:
            daemon = stack.enter_context(DockerDaemon(keep=args.keep, timer=timer))
        numbers["daemon"] = p.seconds
        client = daemon.client
        assert client is not None
        os.environ.update(daemon.env())

        with timer.phase("provisioning") as p:
            base = resolve_python_base(client, timer)
            assets = provision_kind(daemon, timer, args.kind_image)
        numbers["provisioning"] = p.seconds

        with timer.phase("image build") as p:
            images = TaskImages(client, TaskImages.discover(MOVIELENS), python_base=base, timer=timer)
            built = images.build_all()
        numbers["image build"] = p.seconds

        data_dir = scratch / "kind-data"
        cluster = Cluster(assets, daemon.env(), client, name=args.cluster_name, data_dir=data_dir,
                          keep=args.keep, run_dir=scratch / "kind", timer=timer)
        with timer.phase("cluster create") as p:
            stack.enter_context(cluster)
        numbers["cluster create"] = p.seconds
        for label in ("image load (cold)", "image load (unchanged)"):
            with timer.phase(label) as p:
                for tag in built:
                    cluster.load_image(tag)
            numbers[label] = p.seconds

        runner = DagRunner(home, scratch / "artifacts", timer)

        # -- Docker: harness, then floor ------------------------------------------------------
        network = stack.enter_context(DockerNetwork(client, "movielens-bench", "bench"))
        stack.enter_context(ServiceContainer(
            client, "movielens-api:e2e", name="movielens-api-bench", session="bench",
            network=network.name, aliases=["movielens"], environment={"MOVIELENS_SEED": SEED},
            ready_log=r"serving \d+ ratings", timer=timer,
        ))
        docker_data = scratch / "docker-data"
        docker_data.mkdir()
        os.environ["MOVIELENS_DATA_DIR"] = str(docker_data)
        os.environ["MOVIELENS_NETWORK"] = network.name
        harness_docker = sum(runner.run(MOVIELENS / "dags", "movielens_docker", d).seconds for d in days)
        mount = [Mount(target="/data", source=str(docker_data), type="bind")]
        floor_docker = 0.0
        for d in days:
            ds, end = d.isoformat(), (d + timedelta(days=1)).isoformat()
            floor_docker += timed(lambda ds=ds, end=end: client.containers.run(
                "movielens-fetch:e2e", fetch_args(ds, end, f"/data/floor/ratings/{ds}.json"),
                network=network.name, mounts=mount, remove=True))
            floor_docker += timed(lambda ds=ds: client.containers.run(
                "movielens-rank:e2e", rank_args(ds, "/data/floor"), mounts=mount, remove=True))

        # -- Kubernetes: harness, then floor --------------------------------------------------
        namespace = "movielens-bench"
        extra = {"kube_config_path": str(cluster.kubeconfig),
                 "xcom_sidecar_container_image": assets.sidecar_image}
        home.set_connection("kubernetes_default", json.dumps({"conn_type": "kubernetes", "extra": extra}))
        docs = load_documents(sorted((MOVIELENS / "manifests").glob("*.yaml")),
                              {"NAMESPACE": namespace, "MOVIELENS_SEED": SEED})
        with timer.phase("apply manifests") as p:
            stack.enter_context(Manifests(
                cluster.api, docs, keep=args.keep, timer=timer, connects=cluster.node_connects,
            ))
        numbers["manifests"] = p.seconds
        os.environ["MOVIELENS_NAMESPACE"] = namespace
        harness_k8s = sum(runner.run(MOVIELENS / "dags", "movielens_k8s", d).seconds for d in days)
        core = cluster.core
        floor_k8s = 0.0
        for i, d in enumerate(days):
            ds, end = d.isoformat(), (d + timedelta(days=1)).isoformat()
            floor_k8s += timed(lambda ds=ds, end=end, i=i: bare_pod(
                core, namespace, f"floor-fetch-{i}", "movielens-fetch:e2e",
                fetch_args(ds, end, f"/data/floor/ratings/{ds}.json")))
            floor_k8s += timed(lambda ds=ds, i=i: bare_pod(
                core, namespace, f"floor-rank-{i}", "movielens-rank:e2e", rank_args(ds, "/data/floor")))

        teardown_start = time.monotonic()
    numbers["teardown"] = time.monotonic() - teardown_start
    return {"movielens_docker": (harness_docker, floor_docker), "movielens_k8s": (harness_k8s, floor_k8s)}


if __name__ == "__main__":
    sys.exit(main())
