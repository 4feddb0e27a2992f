"""A kind cluster for a test session, on pytest-kind's KindCluster.

pytest-kind shells out to kind (its own way); we always hand it the kind
binary (its fallback downloads one) and never let it download kubectl, our own kubeconfig under the run's
temp dir (never ~/.kube/config), and the harness daemon's DOCKER_HOST. It does
not wait for readiness, so :meth:`Cluster.wait_ready` does, with the official
``kubernetes`` client: node Ready, every kube-system pod Running and ready.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import docker
import docker.errors
import yaml
from kubernetes.client.rest import ApiException
from pytest_kind import KindCluster

from airflow_e2e_harness.background import done, in_background
from airflow_e2e_harness.config import environ
from airflow_e2e_harness.docker.image_names import ImageName
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.housekeeping.leases import file_lock
from airflow_e2e_harness.internals.touches import KIND_CLUSTER_INIT
from airflow_e2e_harness.kubernetes.cluster_state import KIND_CLUSTER_LABEL, ClusterState
from airflow_e2e_harness.kubernetes.kube_api import KubeconfigApi
from airflow_e2e_harness.kubernetes.local_registry import LocalRegistry, RegistryError
from airflow_e2e_harness.kubernetes.node_images import NodeImage, node_images
from airflow_e2e_harness.kubernetes.pod_network import CONFLIST, connect_pod_networks
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.provision.kind_assets import KindAssets
from airflow_e2e_harness.provision.steps import ProvisionError
from airflow_e2e_harness.timing import Timer, default_timer
from airflow_e2e_harness.waiting import WaitTimeout, wait_until

DATA_PLACEHOLDER = "__HARNESS_DATA_DIR__"
DATA_CONTAINER_PATH = "/data"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"  # what the kubelet puts on a static pod's mirror
DNS_PROBE_PERIOD = 1  # seconds between CoreDNS readiness probes in clusters the harness creates


def remove_unused_kind_network(client: docker.DockerClient) -> bool:
    """Remove the ``kind`` network when no container is attached to it."""
    for network in client.networks.list(names=["kind"]):
        network.reload()
        if network.name == "kind" and not network.attrs.get("Containers"):
            try:
                network.remove()
                return True
            except docker.errors.APIError:
                return False
    return False


class ClusterNotReady(HarnessError, RuntimeError):
    """The cluster did not become ready in time; the message says what was missing."""


class _KindCluster(KindCluster):
    """KindCluster without its working directory in the cwd (the user's repository),
    and without its downloads: kind and kubectl are always handed in."""

    def __init__(
        self, name: str, kubeconfig: Path, image: str | None, kind_path: Path,
        kubectl_path: Path | None, workdir: Path,
    ) -> None:
        # Same attributes as KindCluster.__init__, minus ./.pytest-kind/<name> (checked: see the entry).
        KIND_CLUSTER_INIT.require()
        self.name = name
        self.image = image
        self.path = workdir
        self.kubeconfig_path = kubeconfig
        self.kind_path = kind_path
        self.kubectl_path = kubectl_path
        self.platform = platform.system().lower()

    def ensure_kind(self) -> None:
        if not self.kind_path.exists():
            raise ProvisionError(f"kind binary {self.kind_path} does not exist")

    def ensure_kubectl(self) -> None:
        # The harness talks to the API with the kubernetes client; no kubectl is
        # provisioned on the stock path, and pytest-kind must not download one.
        if self.kubectl_path is None or not self.kubectl_path.exists():
            raise ProvisionError("no kubectl was provisioned: pass --kind-kubectl-bin (HARNESS_KUBECTL_BIN)")


def default_kind_config() -> dict[str, Any]:
    """One control-plane node that also runs pods (kind's default shape)."""
    return {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": [{"role": "control-plane"}]}


def render_kind_config(config: Path | None, data_dir: Path, dest: Path) -> Path:
    """The kind config (the user's, or the default) with the data folder mounted at /data on every node.

    A mount to /data that the config already has (or one whose hostPath is the
    placeholder ``__HARNESS_DATA_DIR__``) gets the data folder as its host path;
    nodes without one get it added, so hostPath PersistentVolumes under /data
    are readable on the host whichever node a pod lands on.
    """
    doc = yaml.safe_load(Path(config).read_text()) if config is not None else default_kind_config()
    if not isinstance(doc, dict) or doc.get("kind") != "Cluster":
        raise ProvisionError(f"{config}: not a kind cluster config (expected kind: Cluster)")
    nodes = doc.get("nodes") or [{"role": "control-plane"}]
    doc["nodes"] = nodes
    host = str(data_dir.resolve())
    for node in nodes:
        mounts = node.setdefault("extraMounts", []) or []
        node["extraMounts"] = mounts
        ours = [m for m in mounts if m.get("containerPath") == DATA_CONTAINER_PATH
                or m.get("hostPath") == DATA_PLACEHOLDER]
        if not ours:
            mounts.append(ours_mount := {"hostPath": host, "containerPath": DATA_CONTAINER_PATH})
            ours = [ours_mount]
        for mount in ours:
            mount["hostPath"] = host
            mount["containerPath"] = DATA_CONTAINER_PATH
    dest.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dest


# kind's known issues: pods fail with "too many open files" (kubelet's log watchers) when
# several nodes share a host with the kernel's default of 128 inotify instances per user.
INOTIFY_LIMITS = {"max_user_instances": 512, "max_user_watches": 524288}


def raise_inotify_limits(proc: Path = Path("/proc/sys/fs/inotify")) -> str:
    """Raise the host's inotify limits to what kind documents for several nodes on one host (one
    multi-node cluster, or clusters side by side), when
    running as root (the harness installs Docker there too); else say how. Returns a log line."""
    low = {}
    for name, wanted in INOTIFY_LIMITS.items():
        try:
            current = int((proc / name).read_text())
        except (OSError, ValueError):
            continue
        if current < wanted:
            low[name] = (current, wanted)
    if not low:
        return "inotify limits: enough for several kind nodes"
    if os.geteuid() == 0:
        try:
            for name, (_, wanted) in low.items():
                (proc / name).write_text(str(wanted))
            changes = ", ".join(f"fs.inotify.{n} {c} -> {w}" for n, (c, w) in low.items())
            return f"inotify limits raised for several kind nodes (kind's known issue): {changes}"
        except OSError as err:
            why = f"could not raise them ({err})"
    else:
        why = "not root"
    command = "sudo sysctl " + " ".join(f"fs.inotify.{n}={w}" for n, (_, w) in low.items())
    return (f"warning: inotify limits too low for several kind nodes ({why}); pods may fail with "
            f"'too many open files': {command}")


class ClusterNotOurs(ProvisionError):
    """A kind cluster of that name exists that the harness did not make: it is the user's."""


class Cluster(KubeconfigApi, Lifecycle):
    """Create (or reuse) a kind cluster, wait for it, load images, delete it.

    Sessions sharing a cluster by name each hold a lease on it; create, reuse
    and delete are decided under the cluster's lock, and the last session to
    leave deletes it (unless kept). Clusters the harness did not make are
    never reused or deleted.

    :param assets: kind binary, node image and kubectl.
    :param docker_env: what kind needs to reach the daemon (DOCKER_HOST and TLS).
    :param docker_client: the same daemon, through the SDK.
    :param name: the kind cluster name.
    :param session: the id of the session holding the lease.
    :param keep: leave the cluster running when this session is its last user.
    :param run_dir: where this session's kubeconfig and rendered kind config go.
    :param config: a kind config of the user's (the harness adds its /data mount).
    :param timer: the phase timer.
    :param ready_timeout: seconds to wait for nodes and kube-system pods.
    """

    def __init__(
        self,
        assets: KindAssets,
        docker_env: Mapping[str, str],
        docker_client: docker.DockerClient,
        *,
        name: str = "pytest-kind",
        session: str = "",
        keep: bool = False,
        run_dir: Path | None = None,
        config: Path | None = None,
        timer: Timer | None = None,
        ready_timeout: float = 300.0,
        wait_ready_on_start: bool = True,
    ) -> None:
        self.assets = assets
        self.docker_env = dict(docker_env)
        self.docker = docker_client
        self.name = name
        self.session = session or f"pid-{os.getpid()}"
        self.state = ClusterState(name)
        self.data_dir = self.state.data_dir
        self.keep = keep
        self.timer = timer or default_timer()
        self.ready_timeout = ready_timeout
        self.config = config
        self._own_run_dir = run_dir is None  # a temp dir of our making goes with the cluster
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix=f"harness-kind-{name}-"))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = self.run_dir / "kubeconfig"
        self.kind = _KindCluster(
            name, self.kubeconfig, assets.node_image, assets.kind, assets.kubectl, self.run_dir,
        )
        self.registry_factory: Callable[[], LocalRegistry | None] | None = None  # set by the session
        self._registry: LocalRegistry | None = None
        self._registry_tried = False
        self.image_refs: dict[str, str] = {}  # nothing is renamed: pods use the loaded names
        self.wait_ready_on_start = wait_ready_on_start
        self._ready = False
        self._ready_lock = threading.Lock()
        self._stopping = threading.Event()  # ends a readiness wait still running in the background

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self.state.leases.locked():
            others = self.state.leases.prune()
            self.state.leases.add(self.session)  # before create: a sweep must see the cluster in use
            self.create(others)
        self._connect_pod_networks()
        if self.wait_ready_on_start:
            self.wait_ready()

    def stop(self) -> None:
        self._stopping.set()
        try:
            with self.state.leases.locked():
                self.state.leases.remove(self.session)
                others = self.state.leases.prune()
                if others:
                    users = f"{len(others)} other session(s)"
                    self.timer.log(f"cluster {self.name}: still used by {users}, left running")
                elif self.keep:
                    self.state.write(kept=True)
                    self.timer.log(f"cluster {self.name}: kept (kubeconfig: {self.kubeconfig})")
                elif self.state.recorded():
                    self.delete()
                    self._remove_kind_network()
                    self.state.forget()
        finally:
            if self._own_run_dir:
                shutil.rmtree(self.run_dir, ignore_errors=True)

    def _kind(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ) | self.docker_env
        return subprocess.run(
            [str(self.assets.kind), *args], env=env, capture_output=True, text=True,
            stdin=subprocess.DEVNULL,
        )

    def exists(self) -> bool:
        """Whether node containers of this name exist: what ``kind get clusters`` lists, read with
        one Docker API call instead of a kind process (a rerun checks this first)."""
        return bool(self.nodes())

    def create(self, others: list[str] | None = None) -> None:
        """Create the cluster, or reuse the harness's cluster of that name; call under the lock."""
        self.kubeconfig.touch(0o600, exist_ok=True)
        os.chmod(self.kubeconfig, 0o600)
        if self.exists():
            if not self.state.recorded():
                raise ClusterNotOurs(
                    f"a kind cluster named {self.name!r} exists that the harness did not create, so it "
                    "is left alone: choose another name (--cluster-name, or none for a cluster of "
                    f"this session's own), or delete it yourself (kind delete cluster --name {self.name})"
                )
            # pytest-kind would reuse it but leave our fresh kubeconfig empty.
            out = self._kind(
                "export", "kubeconfig", "--name", self.name, "--kubeconfig", str(self.kubeconfig)
            )
            if out.returncode != 0:
                raise ProvisionError(f"kind export kubeconfig failed:\n{out.stderr}")
            self._adopt_data_dir()
            users = f", shared with {len(others)} live session(s)" if others else ""
            self.timer.log(f"cluster {self.name}: exists, reusing it (data folder {self.data_dir}{users})")
            self.state.write(kept=False)
            return
        # Recorded before kind starts: a session killed mid-create leaves a trace for cleanup.
        self.state.forget()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.state.write(
            name=self.name, created_by=self.session, kept=False,
            docker_host=self.docker_env.get("DOCKER_HOST"),  # where cleanup finds its nodes
            kind_network_created=not self._kind_network_exists(),
        )
        config = render_kind_config(self.config, self.data_dir, self.run_dir / "kind-config.yaml")
        nodes = len(yaml.safe_load(config.read_text()).get("nodes") or [])
        running = len(self.docker.containers.list(filters={"label": KIND_CLUSTER_LABEL}))
        if nodes + running > 1:  # nodes of this cluster or of others on the host: kind's known issue
            self.timer.log(raise_inotify_limits())
        with self.timer.phase(f"cluster create ({self.name})") as phase, environ(self.docker_env):
            phase.note = self.assets.node_image
            try:
                self.kind.create(config_file=config)
            except subprocess.CalledProcessError as err:
                raise ProvisionError(
                    f"kind create cluster failed (exit {err.returncode}); node image "
                    f"{self.assets.node_image}. Run `kind export logs --name {self.name}` "
                    f"with DOCKER_HOST={self.docker_env.get('DOCKER_HOST', '')} for details."
                ) from err
        os.chmod(self.kubeconfig, 0o600)
        self._quicken_dns_readiness()

    def _quicken_dns_readiness(self) -> None:
        """CoreDNS answers seconds after it starts, but its readiness probe runs every 10 s, and
        pods resolve Services only through Ready CoreDNS pods: probing every second makes a new
        cluster ready about 6 s sooner. Only in a cluster the harness has just created."""
        patch = {"spec": {"template": {"spec": {"containers": [
            {"name": "coredns", "readinessProbe": {"periodSeconds": DNS_PROBE_PERIOD}}]}}}}
        try:
            self.apps.patch_namespaced_deployment("coredns", "kube-system", patch)
        except Exception as err:  # noqa: BLE001 - a cluster without CoreDNS (or another) only waits longer
            self.timer.log(f"cluster {self.name}: CoreDNS readiness probe left as it is ({err})")

    def _connect_pod_networks(self) -> None:
        """Several nodes made from the harness's own node image need kindnetd's part done
        (see pod_network); stock nodes run kindnetd, and one node needs nothing."""
        nodes = self.nodes()
        if len(nodes) < 2 or nodes[0].exec_run(["test", "-f", CONFLIST]).exit_code != 0:
            return
        with self.timer.phase(f"pod network ({self.name})") as phase:
            phase.note = connect_pod_networks(self.core, nodes)

    def _adopt_data_dir(self) -> None:
        """A reused cluster keeps the /data mount it was created with: use that folder."""
        try:
            node = self.docker.containers.get(self.node_container)
        except docker.errors.NotFound:
            return
        for mount in node.attrs.get("Mounts", []):
            if mount.get("Destination") == DATA_CONTAINER_PATH and mount.get("Source"):
                self.data_dir = Path(mount["Source"])
        running = node.attrs.get("Config", {}).get("Image", "")
        if running and running != self.assets.node_image:
            self.timer.log(
                f"cluster {self.name}: reusing a node made from {running}, not {self.assets.node_image}; "
                "delete the cluster (kind delete cluster --name ...) to pick up the new image"
            )

    def export_logs(self, dest: Path) -> None:
        """``kind export logs`` into ``dest`` (node journal, kubelet, containerd, pods)."""
        out = self._kind("export", "logs", str(dest), "--name", self.name)
        (dest / "kind-export.txt").write_text(out.stdout + out.stderr)

    def _kind_network_exists(self) -> bool:
        return bool(self.docker.networks.list(names=["kind"]))

    def _remove_kind_network(self) -> None:
        """kind never removes its ``kind`` network; the harness does when it made it and it is unused."""
        if not self.state.read().get("kind_network_created"):
            return
        remove_unused_kind_network(self.docker)

    def delete(self) -> None:
        with self.timer.phase(f"cluster delete ({self.name})"), environ(self.docker_env):
            self.kind.delete()
        self.close_api()

    # -- API (api, core: KubeconfigApi) ----------------------------------------------------
    def wait_ready(self) -> None:
        """Ready for the DAG's pods: nodes Ready, CoreDNS answering, every kube-system pod running
        (see :meth:`_not_ready`). Idempotent; a second caller waits for the first."""
        def ready() -> str | None:
            if self._stopping.is_set():
                raise ClusterNotReady(f"cluster {self.name}: stopped while waiting for it to be ready")
            try:
                return self._not_ready() or None
            except Exception as err:  # noqa: BLE001 - API still starting: retry until the deadline
                return f"API error: {err}"

        with self._ready_lock:
            if self._ready:
                return
            with self.timer.phase(f"cluster ready ({self.name})"):
                try:
                    wait_until(ready, what=f"cluster {self.name}", timeout=self.ready_timeout, interval=1.0,
                               sleep=self._stopping.wait)
                except WaitTimeout as err:
                    raise ClusterNotReady(str(err)) from err
            self._ready = True

    def ready_in_background(self) -> Future[None]:
        """:meth:`wait_ready` in a thread of its own, so that what needs only the API and the
        nodes' containerd (image loads) overlaps with CoreDNS and the node becoming Ready."""
        if self._ready:
            return done(None)
        return in_background(self.wait_ready, name=f"airflow-e2e-ready-{self.name}")

    def _not_ready(self) -> str:
        """Why the cluster cannot run the DAG's pods yet ("" when it can).

        The control plane's own pods (static pods: kube-apiserver, etcd, the scheduler, the
        controller manager) report Ready up to seconds after they work, so they need only be
        Running; what they do is checked instead: the API answers (this call), CoreDNS's pods were
        scheduled and are Ready (the scheduler works, and pods resolve Services), and the default
        ServiceAccount exists (the controller manager works; pods need it to be admitted).
        Every other kube-system pod (kube-proxy, the CNI) must be Ready; pods being deleted are
        leaving and do not count.
        """
        nodes = self.core.list_node().items
        if not nodes:
            return "no nodes"
        for node in nodes:
            ready = [c for c in node.status.conditions or [] if c.type == "Ready"]
            if not ready or ready[0].status != "True":
                why = ready[0].message if ready else "no Ready condition"
                return f"node {node.metadata.name} not Ready ({why})"
        pods = self.core.list_namespaced_pod("kube-system").items
        if not any((p.metadata.labels or {}).get("k8s-app") == "kube-dns" for p in pods):
            return "no CoreDNS pod yet"
        for pod in pods:
            if pod.metadata.deletion_timestamp is not None:  # leaving (CoreDNS's old pods after the patch)
                continue
            statuses = pod.status.container_statuses or []
            if pod.status.phase != "Running" or not statuses:
                return f"pod kube-system/{pod.metadata.name} is {pod.status.phase}, not running"
            static = MIRROR_POD_ANNOTATION in (pod.metadata.annotations or {})
            if not static and not all(s.ready for s in statuses):
                return f"pod kube-system/{pod.metadata.name} is running, not ready"
        rollout = self._coredns_rollout()
        if rollout:
            return rollout
        if not self.core.list_namespaced_service_account("default").items:
            return "no default ServiceAccount yet (controller manager starting)"
        return ""

    def _coredns_rollout(self) -> str:
        """Why CoreDNS's Deployment is not done yet: a pod being replaced (the probe patch, the pod
        network's restart) is gone from the pod list before its successor is in it."""
        try:
            deployment = self.apps.read_namespaced_deployment("coredns", "kube-system")
        except ApiException as err:
            if err.status == 404:
                return ""  # CoreDNS deployed some other way: its pods were checked above
            raise
        want, status = deployment.spec.replicas or 0, deployment.status
        ready, updated = status.ready_replicas or 0, status.updated_replicas or 0
        if ready < want or updated < want or (status.replicas or 0) > want:
            return f"CoreDNS rolling out ({ready} of {want} ready, {updated} updated)"
        return ""

    # -- images and services --------------------------------------------------------------
    @property
    def node_container(self) -> str:
        return f"{self.name}-control-plane"

    def node_connects(self, host: str, port: int) -> bool:
        """Whether a TCP connection from the node to ``host:port`` succeeds.

        For a Service's ClusterIP this passes only once kube-proxy has written
        the rules for a ready endpoint, which lags the EndpointSlice by a
        second or more on a busy node; until then pods get "connection refused".
        """
        node = self.docker.containers.get(self.node_container)
        probe = f"exec 3<>/dev/tcp/{host}/{port}"
        return node.exec_run(["timeout", "2", "bash", "-c", probe]).exit_code == 0

    def node_image_id(self, tag: str) -> str | None:
        """The config digest of the image the control-plane node holds for ``tag``, if any."""
        image = self.node_images(self.docker.containers.get(self.node_container), [tag]).get(tag)
        return image.config if image else None

    @staticmethod
    def node_images(node: docker.models.containers.Container, tags: Sequence[str]) -> dict[str, NodeImage]:
        """The images ``node`` holds for ``tags`` (see :mod:`airflow_e2e_harness.kubernetes.node_images`)."""

        def run(command: list[str]) -> tuple[int, bytes]:
            result = node.exec_run(command)
            return result.exit_code, result.output

        return node_images(run, tags)

    def nodes(self) -> list[docker.models.containers.Container]:
        return self.docker.containers.list(filters={"label": f"{KIND_CLUSTER_LABEL}={self.name}"})

    @property
    def registry(self) -> LocalRegistry | None:
        """The registry images load through (None: ``kind load``), started by ``registry_factory``
        on the first load that needs it: a rerun whose images are all on the nodes starts none."""
        if not self._registry_tried and self.registry_factory is not None:
            self._registry_tried = True
            self._registry = self.registry_factory()
        return self._registry

    @registry.setter
    def registry(self, value: LocalRegistry | None) -> None:
        self._registry, self._registry_tried = value, True

    def image_ref(self, tag: str) -> str:
        """What a pod names to run ``tag`` here: the name itself (it is loaded into the nodes)."""
        return tag

    def load_image(self, tag: str) -> bool:
        """Load one local image into the nodes; False (and a log line) when unchanged."""
        return bool(self.load_images([tag]))

    def load_images(self, tags: Sequence[str]) -> list[str]:
        """Load local images into each node that lacks them as the daemon has them now; returns
        the tags loaded (the rest are logged as unchanged).

        Through the registry when there is one (only missing layers travel), else,
        or when that fails, with ``kind load docker-image``.
        """
        with file_lock(self.state.dir / "load.lock"):  # sessions sharing the cluster load each image once
            return self._load_missing(tags)

    def _load_missing(self, tags: Sequence[str]) -> list[str]:
        nodes = self.nodes()
        held = {node.id: self.node_images(node, tags) for node in nodes}
        loaded = []
        for tag in tags:
            local_id = self.docker.images.get(tag).id
            lacking = [node for node in nodes if not _holds(held[node.id].get(tag), local_id)]
            if not lacking:
                self.timer.log(f"load {tag}: unchanged, skipped")
                continue
            self._load(tag, lacking)
            loaded.append(tag)
        return loaded

    def _load(self, tag: str, nodes: list[docker.models.containers.Container]) -> None:
        with self.timer.phase(f"load {tag}") as phase:
            ref = ImageName.parse(tag).hub_path()
            registry = self.registry if ref is not None else None
            if registry is not None and ref is not None:
                try:
                    registry.push(tag, *ref)
                    for node in nodes:
                        registry.pull_into(node, *ref)
                    phase.note = "via registry"
                    return
                except (RegistryError, docker.errors.APIError) as err:
                    self.timer.log(f"load {tag}: through the registry failed ({err}); using kind load")
            with environ(self.docker_env):
                self.kind.load_docker_image(tag)
            phase.note = "kind load"


def _holds(image: NodeImage | None, local_id: str) -> bool:
    return image is not None and image.matches(local_id)
