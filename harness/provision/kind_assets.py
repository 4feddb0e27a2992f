"""Everything `kind create cluster` needs: kind, kubectl, a node image, the sidecar.

Stock or local? An explicit ``--kind-image`` / ``HARNESS_KIND_IMAGE`` wins
("local" forces the local build). Otherwise the stock
``kindest/node:v1.32.2`` is used when it is already present, or when Docker
Hub's name resolves and a pull succeeds; else the node image is assembled
here from source (see :mod:`harness.provision.node_image`). The name lookup
comes first so that a machine without registries sends no traffic at all.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from airflow_e2e_harness.docker.daemon import DockerDaemon
from airflow_e2e_harness.docker.registry_access import image_exists, resolves
from airflow_e2e_harness.provision.gobuild import (
    KUBERNETES_VERSION,
    KindBuild,
    RegistryBuild,
    binaries,
    go_steps,
    start_kubernetes_build,
)
from airflow_e2e_harness.provision.k8s_images import BuildImage, image_steps, registry_spec
from airflow_e2e_harness.provision.node_image import NodePreload, node_steps
from airflow_e2e_harness.provision.steps import ProvisionError, run_steps
from airflow_e2e_harness.timing import Timer

STOCK_NODE_IMAGE = f"kindest/node:{KUBERNETES_VERSION}"
STOCK_REGISTRY_IMAGE = "registry:3"
REGISTRY_HOST = "registry-1.docker.io"
LOCAL = "local"


@dataclass
class KindAssets:
    """What the cluster needs, and where each came from."""

    kind: Path
    kubectl: Path | None  # None: none provisioned (the harness itself never calls kubectl)
    node_image: str
    sidecar_image: str | None  # None: the provider's default (alpine), pulled by the node itself
    node_source: str  # "option", "stock" or "local"
    preloaded: list[str] = field(default_factory=list)
    registry_image: str | None = None  # None: images go in with `kind load` (no registry to run)


def registry_resolves(host: str = REGISTRY_HOST) -> bool:
    """True when the registry's name resolves (fails at once offline: no traffic)."""
    return resolves(host)


def stock_node_available(client: docker.DockerClient, timer: Timer) -> bool:
    """The stock node image is here, or can be pulled now."""
    if image_exists(client, STOCK_NODE_IMAGE):
        timer.log(f"kind node: stock {STOCK_NODE_IMAGE} present locally")
        return True
    if not registry_resolves():
        timer.log(f"kind node: {REGISTRY_HOST} does not resolve; building the node image locally")
        return False
    repo, _, tag = STOCK_NODE_IMAGE.rpartition(":")
    try:
        with timer.phase(f"pull {STOCK_NODE_IMAGE}"):
            client.images.pull(repo, tag=tag)
        return True
    except docker.errors.APIError as err:
        reason = err.explanation or err
        timer.log(f"kind node: pull of {STOCK_NODE_IMAGE} failed ({reason}); building locally")
        return False


def provision_registry(client: docker.DockerClient, timer: Timer) -> str:
    """The registry image: the stock one where Docker Hub answers, else built from its Go module."""
    if registry_resolves() or image_exists(client, STOCK_REGISTRY_IMAGE):
        return STOCK_REGISTRY_IMAGE
    build = RegistryBuild()
    image = BuildImage(client, registry_spec(build.binaries()[0]))
    image.name = "image registry"
    run_steps([build, image], timer)
    return image.spec.tag


def _executable(value: str | os.PathLike[str] | None, what: str) -> Path | None:
    """An explicit binary: absolute, relative to the cwd, or a name on PATH."""
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_file() and os.access(path, os.X_OK):
        return path.resolve()
    found = shutil.which(str(value))
    if found:
        return Path(found)
    raise ProvisionError(f"{what} {value!r} is not an executable file nor on PATH")


def provision_kind(
    daemon: DockerDaemon,
    timer: Timer,
    kind_image: str | None,
    *,
    kind_bin: str | None = None,
    kubectl_bin: str | None = None,
) -> KindAssets:
    """Provide kind, kubectl, the node image and the XCom sidecar image.

    What is given (options, or ``HARNESS_KIND_IMAGE``, ``HARNESS_KIND_BIN`` and
    ``HARNESS_KUBECTL_BIN`` via the session's options) wins over what is on PATH,
    which wins over building. The local node build starts the Kubernetes compile
    first, in the background, since it dominates a cold run.
    """
    client = daemon.client
    if client is None:
        raise ProvisionError("the Docker daemon is not started")
    kind_image = kind_image or None
    if kind_image == "stock":
        kind_image = STOCK_NODE_IMAGE
    kind = _executable(kind_bin, "kind binary")
    kind = kind or _executable(shutil.which("kind"), "kind binary")
    kubectl = _executable(kubectl_bin, "kubectl binary")

    if kind_image and kind_image != LOCAL:
        source, local = "option", False
        if not image_exists(client, kind_image) and not registry_resolves():
            raise ProvisionError(
                f"node image {kind_image!r} is not present locally and no registry is reachable "
                f"({REGISTRY_HOST} does not resolve). Use --kind-image local (or unset it) to "
                "build the node image here."
            )
    elif kind_image == LOCAL:
        source, local = LOCAL, True
    else:
        local = not stock_node_available(client, timer)
        source = LOCAL if local else "stock"

    if not local:
        # A stock (or given) node: nothing is compiled but kind when it is missing,
        # and where a registry answers the node pulls the provider's own sidecar.
        sidecar_tag = None
        if not registry_resolves():  # a node image given by tag, on a machine without registries
            sidecar = image_steps(client)[2]
            run_steps([sidecar], timer)
            sidecar_tag = sidecar.spec.tag
        if kind is None:
            run_steps([KindBuild()], timer)
            kind = binaries().kind
        if kubectl is None and shutil.which("kubectl"):
            kubectl = Path(str(shutil.which("kubectl")))
        node_image = kind_image if source == "option" else STOCK_NODE_IMAGE
        assert node_image is not None
        registry = provision_registry(client, timer)
        return KindAssets(kind, kubectl, node_image, sidecar_tag, source, registry_image=registry)

    k8s_build = start_kubernetes_build(timer)
    steps = go_steps(include_kind=kind is None)
    iptables_base, k8s_images, sidecar = image_steps(client)
    rootfs, stage = node_steps(client)
    try:
        # While Kubernetes compiles: first the debootstraps (mostly waiting on
        # the archive, so they overlap well), then the small Go builds.
        run_steps([rootfs, iptables_base, sidecar], timer)
        run_steps(steps, timer)
    finally:
        if k8s_build.running():
            with timer.phase("wait for the Kubernetes build"):
                k8s_build.join()
        else:
            k8s_build.join()  # finished (or was cached): re-raise its failure, if any

    if kind is None:
        kind = binaries().kind
    if kubectl is None:
        kubectl = binaries().kubernetes["kubectl"]  # built anyway, and matches the node's version
    run_steps([k8s_images, stage], timer)
    preload_images = [spec.tag for spec in k8s_images.specs()]  # kubeadm's list, in its order
    preload = NodePreload(client, stage, preload_images)
    run_steps([preload], timer)
    registry = provision_registry(client, timer)
    return KindAssets(kind, kubectl, preload.tag, sidecar.spec.tag, LOCAL, preload_images, registry)
