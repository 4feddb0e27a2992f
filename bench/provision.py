"""Where provisioning time goes: each phase cold and warm, and the image sizes.

Runs the kind provisioning twice in one process (the second is the warm run a
developer sees every day), optionally creating and deleting a cluster each
time. ``--cold`` first removes what the harness built for kind (binaries,
images, stamps) but keeps Go's module and build caches; ``--cold-go`` removes
those too (a brand-new machine). No assertions: it prints numbers.

    /work/venv/bin/python bench/provision.py [--cold | --cold-go] [--cluster] [--kind-image local]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time

import docker
import docker.errors

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.docker.daemon import DockerDaemon
from airflow_e2e_harness.kubernetes.cluster import Cluster
from airflow_e2e_harness.provision.k8s_images import LABEL
from airflow_e2e_harness.provision.kind_assets import KindAssets, provision_kind
from airflow_e2e_harness.timing import Timer

OUR_REPOS = ("harness/kind-node", "harness/kind-node-stage", "harness/kind-node-rootfs",
             "harness/debian-iptables", "harness/xcom-sidecar")


def remove_outputs(client: docker.DockerClient, go_caches: bool) -> None:
    """Forget what the harness built for kind (never images it did not build)."""
    for image in client.images.list():
        ours = any(t.rpartition(":")[0] in OUR_REPOS for t in image.tags)
        labelled = LABEL in (image.labels or {})
        built_here = labelled and any(t.startswith("registry.k8s.io/") for t in image.tags)
        if ours or built_here:
            for tag in image.tags:
                try:
                    client.images.remove(tag, force=True)
                except docker.errors.APIError as err:
                    print(f"  could not remove {tag}: {err}")
    shutil.rmtree(cache_dir() / "go", ignore_errors=True)
    shutil.rmtree(cache_dir() / "debs", ignore_errors=True)
    for stamp in (cache_dir() / "stamps").glob("go-*.json"):
        stamp.unlink()
    (cache_dir() / "stamps" / "gcc-pause.json").unlink(missing_ok=True)
    if go_caches:
        go = shutil.which("go") or "/usr/local/go/bin/go"
        subprocess.run([go, "clean", "-cache", "-modcache"], check=False)


def one_run(daemon: DockerDaemon, kind_image: str | None, with_cluster: bool) -> tuple[Timer, KindAssets]:
    timer = Timer()  # progress on stderr, the table on stdout
    with timer.phase("provision_kind (total)"):
        assets = provision_kind(daemon, timer, kind_image)
    if with_cluster:
        assert daemon.client is not None
        with Cluster(assets, daemon.env(), daemon.client, name="harness-bench", timer=timer):
            pass
    return timer, assets


def size_mb(client: docker.DockerClient, tag: str) -> str:
    try:
        return f"{client.images.get(tag).attrs['Size'] / 1e6:8.1f} MB"
    except docker.errors.ImageNotFound:
        return "   absent"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cold", action="store_true", help="remove harness-built kind outputs first")
    parser.add_argument("--cold-go", action="store_true", help="also remove Go's module and build caches")
    parser.add_argument("--cluster", action="store_true", help="also create (and delete) a cluster per run")
    parser.add_argument("--kind-image", default="local", help='"local" (default), a tag, or "" for auto')
    args = parser.parse_args()

    with DockerDaemon(keep=True) as daemon:
        client = daemon.client
        assert client is not None
        if args.cold or args.cold_go:
            remove_outputs(client, go_caches=args.cold_go)
        runs = []
        for label in ("first", "warm"):
            start = time.monotonic()
            timer, assets = one_run(daemon, args.kind_image or None, args.cluster)
            runs.append((label, timer, time.monotonic() - start))

        names: list[str] = []
        for _, timer, _ in runs:
            for phase in timer.phases:
                if phase.name not in names:
                    names.append(phase.name)
        width = max(len(n) for n in names) if names else 10
        title = "cold" if (args.cold or args.cold_go) else "first"
        print(f"{'phase':<{width}}  {title:>9}  {'warm':>9}")
        for name in names:
            cells = []
            for _, timer, _ in runs:
                match = [p.seconds for p in timer.phases if p.name == name]
                cells.append(f"{sum(match):8.1f}s" if match else "   cached")
            print(f"{name:<{width}}  {cells[0]:>9}  {cells[1]:>9}")
        print(f"{'wall time':<{width}}  {runs[0][2]:8.1f}s  {runs[1][2]:8.1f}s")

        print("\nimages:")
        tags = [assets.node_image, assets.sidecar_image, *assets.preloaded]
        for tag in tags:
            print(f"  {tag:<60} {size_mb(client, tag)}")


if __name__ == "__main__":
    main()
