"""A Docker Engine that keeps its images in containerd, for the tests of what depends on that.

The containerd image store is the default of Docker 29 and Docker Desktop, and
Docker names images differently in it (an image's ID is its manifest digest, not
its config digest). No such engine runs on the build machines, so the tests make
one: Debian trixie's docker.io (26.1) with the store switched on, as a privileged
container on the harness's daemon, its rootfs from debootstrap like the
harness's other bases.

It shares the host's network namespace, so what it publishes (a kind API
server, the image registry) answers on the host's loopback as Docker Desktop's
ports do, and the host paths a user's daemon sees (``/tmp``, the harness cache)
as Docker Desktop's file sharing does. Its own bridge has a name of its own:
dockerd told ``"bridge": "none"`` in the host's namespace deletes the host's
``docker0``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import docker
import docker.errors

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.provision.rootfs import debootstrap, import_rootfs

SUITE = "trixie"
PACKAGES = ["docker.io", "containerd", "runc", "iptables", "iproute2", "ca-certificates", "procps"]
START = """#!/bin/sh
set -e
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add name "$BRIDGE" type bridge
  ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
fi
mkdir -p /etc/docker /run/containerd "$SOCKET_DIR"
cat > /etc/docker/daemon.json <<EOF
{"features": {"containerd-snapshotter": true}, "hosts": ["unix://$SOCKET_DIR/docker.sock"],
 "bridge": "$BRIDGE", "iptables": false, "ip6tables": false, "ip-forward": false, "ip-masq": false,
 "cgroup-parent": "/$BRIDGE"}
EOF
containerd >/var/log/containerd.log 2>&1 &
i=0
while [ ! -S /run/containerd/containerd.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
exec dockerd --containerd /run/containerd/containerd.sock
"""
START_PATH = "/usr/local/bin/containerd-store-dockerd"
IMAGE_REPOSITORY = "harness-test/dockerd-containerd-store"
STORE_DRIVER = ("driver-type", "io.containerd.snapshotter.v1")


def engine_image(client: docker.DockerClient) -> str:
    """The engine's image on ``client``, built once per recipe (debootstrap, about 45 s)."""
    recipe = json.dumps([SUITE, PACKAGES, START])
    tag = f"{IMAGE_REPOSITORY}:{SUITE}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    if client.images.list(name=tag):
        return tag
    rootfs = cache_dir() / "rootfs" / "dockerd-containerd-store"
    debootstrap("dockerd-containerd-store", SUITE, PACKAGES, rootfs)
    try:
        start = rootfs / START_PATH.lstrip("/")
        start.write_text(START)
        start.chmod(0o755)
        import_rootfs(client, rootfs, tag, [f'CMD ["{START_PATH}"]'])
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return tag


class ContainerdStoreEngine(Lifecycle):
    """One such engine; :attr:`url` is its socket. Stopping it removes what it made, also on the host.

    :param client: the harness's daemon, which runs the engine's container.
    :param name: names the container, its volumes and its bridge (at most 15 characters).
    :param workdir: holds the engine's socket; the host paths it shares come from :attr:`shared`.
    :param labels: for the container (the session's label: a sweep after a crash removes it).
    """

    shared = ("/tmp", str(cache_dir()))

    def __init__(
        self, client: docker.DockerClient, name: str, workdir: Path, labels: dict[str, str] | None = None,
    ) -> None:
        if len(name) > 15:
            raise ValueError(f"{name!r}: a bridge name has at most 15 characters")
        self.client = client
        self.name = name
        self.socket_dir = workdir / "engine"
        self.url = f"unix://{self.socket_dir}/docker.sock"
        self.labels = dict(labels or {})
        self._container: docker.models.containers.Container | None = None

    def start(self) -> None:
        image = engine_image(self.client)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        volumes = {f"{self.name}-docker": "/var/lib/docker", f"{self.name}-containerd": "/var/lib/containerd"}
        binds = {source: {"bind": target, "mode": "rw"} for source, target in volumes.items()}
        binds |= {path: {"bind": path, "mode": "rw"} for path in self.shared}
        binds[str(self.socket_dir)] = {"bind": "/run/engine", "mode": "rw"}
        self._container = self.client.containers.run(
            image, name=self.name, detach=True, privileged=True, network_mode="host",
            tmpfs={"/run": ""}, volumes=binds, labels=self.labels,
            environment={"BRIDGE": self.name, "BRIDGE_CIDR": "10.213.0.1/24", "SOCKET_DIR": "/run/engine"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                docker.DockerClient(base_url=self.url).ping()
                return
            except (docker.errors.DockerException, OSError):
                time.sleep(0.2)
        logs = self._container.logs(tail=30).decode(errors="replace")
        raise RuntimeError(f"the containerd-store engine did not answer within 60 s:\n{logs}")

    def stop(self) -> None:
        if self._container is None:
            return
        try:  # its networks are bridges in the host's namespace: they must go before the engine
            try:
                inner = docker.DockerClient(base_url=self.url)
                for container in inner.containers.list(all=True):
                    container.remove(force=True, v=True)
                inner.networks.prune()
            finally:
                self._container.exec_run(["ip", "link", "del", self.name])
        finally:
            self._container.remove(force=True)
            self._container = None
            for volume in (f"{self.name}-docker", f"{self.name}-containerd"):
                try:
                    self.client.volumes.get(volume).remove(force=True)
                except docker.errors.NotFound:
                    pass
            shutil.rmtree(self.socket_dir, ignore_errors=True)


def hand_over(source: docker.DockerClient, target: docker.DockerClient, tags: list[str]) -> None:
    """``docker save | docker load`` of each of ``tags``, streamed from one daemon to the other."""
    for tag in tags:
        target.images.load(source.images.get(tag).save(named=True))
