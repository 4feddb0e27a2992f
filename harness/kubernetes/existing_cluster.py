"""A Kubernetes cluster the harness did not create: used as it is, never created or deleted.

For CI against a real (or shared) cluster: ``--kubeconfig`` and
``--kube-context`` choose it, ``--image-registry`` names a registry it pulls
from. The harness writes its own kubeconfig holding only that context (the
user's file is read, never written), pushes each task image there, and the
environments work in namespaces of the session's own, removed at the end
(see :mod:`airflow_e2e_harness.environment`). Nothing else in the cluster is
changed; cluster-scoped objects are only those the environment's manifests
declare.
"""

from __future__ import annotations

import os
from concurrent.futures import Future
from pathlib import Path

import docker
import yaml
from kubernetes import client as k8s

from airflow_e2e_harness.background import done
from airflow_e2e_harness.docker.image_names import ImageName, full_name
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.kubernetes.kube_api import KubeconfigApi
from airflow_e2e_harness.kubernetes.local_registry import RegistryError, push_image
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.timing import Timer, default_timer

REACH_TIMEOUT = 10.0  # seconds for the API server to answer before the session gives up on it
# kubeconfig keys that hold file paths, relative to the kubeconfig's folder when not absolute
PATH_KEYS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


class ClusterUnreachable(HarnessError, RuntimeError):
    """The chosen context's API server does not answer, or the context does not exist."""


def minified_kubeconfig(source: Path, context: str | None, dest: Path) -> tuple[str, str]:
    """Write to ``dest`` a kubeconfig holding only ``context`` (default: the source's current
    one), made current, with relative file paths made absolute; returns (context, server)."""
    try:
        doc = yaml.safe_load(Path(source).read_text()) or {}
    except OSError as err:
        raise ClusterUnreachable(f"kubeconfig {source}: {err}") from err
    name = context or doc.get("current-context")
    contexts = {c.get("name"): c for c in doc.get("contexts") or []}
    if name not in contexts:
        raise ClusterUnreachable(
            f"kubeconfig {source} has no context {name!r}; it has: {sorted(k for k in contexts if k)}"
        )
    chosen = contexts[name]
    wanted = chosen.get("context") or {}
    clusters = [c for c in doc.get("clusters") or [] if c.get("name") == wanted.get("cluster")]
    users = [u for u in doc.get("users") or [] if u.get("name") == wanted.get("user")]
    if not clusters:
        raise ClusterUnreachable(f"kubeconfig {source}: context {name!r} names no known cluster")
    base = Path(source).resolve().parent
    for entry, key in ((clusters[0], "cluster"), *((u, "user") for u in users)):
        body = entry.get(key) or {}
        for path_key in PATH_KEYS:
            if isinstance(body.get(path_key), str) and not os.path.isabs(body[path_key]):
                body[path_key] = str(base / body[path_key])
    out = {
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "contexts": [chosen], "clusters": clusters, "users": users,
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.touch(0o600, exist_ok=True)
    dest.write_text(yaml.safe_dump(out, sort_keys=False))
    return str(name), str((clusters[0].get("cluster") or {}).get("server", "?"))


def registry_reference(registry: str, tag: str) -> str:
    """``tag`` as the cluster pulls it from ``registry`` (``host[:port][/prefix]``)."""
    ref = ImageName.parse(tag).hub_path()
    if ref is None:
        raise RegistryError(f"{tag!r} names a registry of its own; it cannot be pushed to {registry}")
    path, version = ref
    return f"{registry.rstrip('/')}/{path.removeprefix('library/')}:{version}"  # etl:1.0 -> reg/etl:1.0


class ExistingCluster(KubeconfigApi, Lifecycle):
    """The cluster of a kubeconfig context, reached through a kubeconfig of the harness's own.

    :param kubeconfig: the user's kubeconfig (read only).
    :param context: the context to use (default: its current one).
    :param registry: where task images are pushed and the cluster pulls them from.
    :param docker_client: the daemon the images are built on.
    :param run_dir: where the harness's kubeconfig is written.
    :param timer: progress lines and the closing summary.
    """

    data_dir = None  # no host folder: environments copy their claim out instead
    node_connects = None  # no node to probe from: Services count as ready by their endpoints

    def __init__(
        self,
        kubeconfig: Path,
        *,
        context: str | None,
        registry: str,
        docker_client: docker.DockerClient,
        run_dir: Path,
        timer: Timer | None = None,
    ) -> None:
        self.source = Path(kubeconfig).expanduser()
        self.context = context
        self.registry = registry
        self.docker = docker_client
        self.kubeconfig = Path(run_dir) / "kubeconfig"
        self.timer = timer or default_timer()
        self.name = context or "?"
        self.server = "?"
        self.image_refs: dict[str, str] = {}  # the DAG's image name (containerd form) -> pushed reference

    def start(self) -> None:
        self.name, self.server = minified_kubeconfig(self.source, self.context, self.kubeconfig)
        try:
            k8s.VersionApi(self.api).get_code(_request_timeout=REACH_TIMEOUT)
        except Exception as err:
            raise ClusterUnreachable(
                f"context {self.name!r} of {self.source} ({self.server}) did not answer within "
                f"{REACH_TIMEOUT:.0f}s: {err}. Check --kubeconfig / --kube-context."
            ) from err
        self.timer.log(f"cluster: using context {self.name} ({self.server}); it is never created or deleted")

    def wait_ready(self) -> None:
        """An existing cluster is as ready as it gets once it answers (see start)."""

    def ready_in_background(self) -> Future[None]:
        return done(None)

    def stop(self) -> None:
        self.close_api()

    def image_ref(self, tag: str) -> str:
        """What a pod names to run ``tag`` here (its pushed reference once pushed)."""
        return self.image_refs.get(full_name(tag), tag)

    def load_images(self, tags: list[str]) -> list[str]:
        """Push each image to the registry (layers it has are not sent again); returns the tags."""
        for tag in tags:
            ref = registry_reference(self.registry, tag)
            pushed = ImageName.parse(ref)
            with self.timer.phase(f"push {tag}") as phase:
                push_image(self.docker, tag, pushed.repository, str(pushed.tag))
                phase.note = f"to {ref}"
            self.image_refs[full_name(tag)] = ref
        return list(tags)

    def export_logs(self, dest: Path) -> None:
        """Nothing to export from nodes the harness does not own (pods and events are in the bundle)."""
        note = f"context {self.name} ({self.server}): node logs not collected\n"
        (dest / "existing-cluster.txt").write_text(note)

