"""E2ESession: what one test session shares, started when first needed and stopped in reverse.

A session owns its identity (labels, artifact folder, scratch space), the
private Airflow home, the timer and the failure bundle. The Docker daemon, the
Python base, the kind assets, the kind cluster and Airflow's one-time start
come up by explicit calls (``start_daemon``, ``resolve_python_base``,
``provision_kind``, ``start_cluster``, ``start_airflow``), which environments
make as they start, so a Docker-only suite never provisions kind; reading a
property (``daemon``, ``cluster``, ...) never starts anything.
Environments (:mod:`airflow_e2e_harness.environment`) are made from it with
:meth:`E2ESession.docker` and :meth:`E2ESession.kind`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import docker
import docker.errors

from airflow_e2e_harness.airflow.home import AirflowHome
from airflow_e2e_harness.airflow.interrupts import CLEANUP_COMMAND, skip_on_interrupt
from airflow_e2e_harness.airflow.runner import DagRunner, RunResult
from airflow_e2e_harness.config import cache_dir, environ
from airflow_e2e_harness.docker.containers import SESSION_LABEL, remove_session_leftovers
from airflow_e2e_harness.docker.daemon import DockerDaemon
from airflow_e2e_harness.docker.images import BuiltImage, TaskImages, resolve_python_base
from airflow_e2e_harness.docker.ownership import Owner, Ownership
from airflow_e2e_harness.errors import ConfigurationError, HarnessError
from airflow_e2e_harness.housekeeping.bundle import FailureBundle
from airflow_e2e_harness.housekeeping.leases import Holder
from airflow_e2e_harness.housekeeping.session_records import SessionRecord, mark_scratch, unmark_scratch
from airflow_e2e_harness.internals import uninstall_all
from airflow_e2e_harness.kubernetes.local_registry import LocalRegistry, RegistryError
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.options import HarnessOptions
from airflow_e2e_harness.policies.docker_redirect import DockerTarget, built_names
from airflow_e2e_harness.policies.session_policies import SessionPolicies
from airflow_e2e_harness.timing import Timer, default_timer

if TYPE_CHECKING:
    from airflow_e2e_harness.environment import DockerEnvironment, KindEnvironment, Service
    from airflow_e2e_harness.kubernetes.cluster import Cluster
    from airflow_e2e_harness.kubernetes.existing_cluster import ExistingCluster
    from airflow_e2e_harness.provision.kind_assets import KindAssets

Images = Mapping[str, "str | os.PathLike[str]"] | str | os.PathLike[str]


class NotStarted(HarnessError, RuntimeError):
    """A shared resource was read before anything started it: starting is an explicit call."""

    def __init__(self, what: str, method: str) -> None:
        super().__init__(f"{what} is not started: call E2ESession.{method} first, or enter an environment "
                         "that needs it (airflow_e2e.docker(...) / airflow_e2e.kind(...))")
        self.what, self.method = what, method


# The cluster a kept session leaves when not told a name: the next session finds it again.
SHARED_CLUSTER_NAME = "airflow-e2e"


@dataclass
class KeepOptions:
    """What to leave behind for debugging; everything is cleaned up by default."""

    daemon: bool = False
    cluster: bool = False
    resources: bool = False  # service containers, networks, temp dirs
    manifests: bool = False  # a kind environment's applied manifests (kept with the cluster too)


@dataclass
class KindOptions:
    """How to get the kind cluster; None means "the harness decides"."""

    cluster_name: str | None = None  # None: a cluster of this session's own; a name: reuse it (shared)
    node_image: str | None = None  # "local", "stock" or an image tag
    kind_bin: str | None = None
    kubectl_bin: str | None = None
    config: Path | None = None  # a kind config of the user's; the harness adds its /data mount
    # An existing cluster instead of kind: its kubeconfig (read only), context, and the registry
    # it pulls task images from (see existing_cluster).
    kubeconfig: Path | None = None
    context: str | None = None
    image_registry: str | None = None

    @property
    def existing(self) -> bool:
        return self.kubeconfig is not None


@dataclass
class Defaults:
    """What ``docker()`` and ``kind()`` use when an argument is left out (pytest: override fixtures)."""

    dags: Path | None = None
    images: Images | None = None
    manifests: str | Iterable[Path] | None = None


class E2ESession(Lifecycle):
    """One test session: ``with E2ESession() as e2e: with e2e.docker(...) as env: env.run(...)``.

    :param root: folder that relative paths (DAGs, image contexts, manifests) are read from.
    :param artifacts_root: where task logs and failure bundles go (one sub-folder per session).
    :param keep: what to leave running for debugging.
    :param kind: how to get the kind cluster when an environment needs one.
    :param defaults: what environments use when an argument is left out.
    :param timer: the phase timer behind the closing summary.
    :param fast_waits: shorten KubernetesPodOperator's waits where DAGs kept the defaults.
    :param fast_retries: retry failed tasks at once instead of after their ``retry_delay``.
    :param worker: this session's name among sessions sharing one cluster (a pytest-xdist
        worker id, e.g. ``gw1``): its namespaces and data folders carry it, and the id too.
    :param options: the ``HARNESS_*`` settings (default: read from the environment now); what
        ``kind`` leaves out (node image, binaries) comes from them.
    :param airflow_home: an Airflow home that outlives this session, shared by the sessions of
        one process (the rerun loop, :mod:`airflow_e2e_harness.loop`): Airflow binds its metadata
        DB when first imported. Default: a private one in the session's scratch folder.
    """

    def __init__(
        self,
        *,
        root: Path | None = None,
        artifacts_root: Path | None = None,
        keep: KeepOptions | None = None,
        kind: KindOptions | None = None,
        defaults: Defaults | None = None,
        timer: Timer | None = None,
        fast_waits: bool = True,
        fast_retries: bool = True,
        worker: str | None = None,
        options: HarnessOptions | None = None,
        airflow_home: AirflowHome | None = None,
    ) -> None:
        self.options = options or HarnessOptions.from_env()
        self.root = Path(root or Path.cwd()).resolve()
        self.artifacts_root = Path(artifacts_root or self.root / "e2e-artifacts").resolve()
        self.keep = keep or KeepOptions()
        self.kind_options = kind or KindOptions()
        self.defaults = defaults or Defaults()
        self.timer = timer or default_timer()
        # Labels containers and networks, names artifact folders; the pid part suffixes names.
        self.worker = worker
        self.id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}" + (f"-{worker}" if worker else "")
        self.scratch = Path(tempfile.mkdtemp(prefix="airflow-e2e-"))  # cleanup.SCRATCH_PREFIX
        mark_scratch(self.scratch)
        self.home = airflow_home or AirflowHome(self.scratch / "airflow-home")
        self.bundle = FailureBundle(self.artifacts_path)
        # The cluster policies the session registers with Airflow while it runs.
        self.policies = SessionPolicies.for_session(
            {SESSION_LABEL: self.id}, fast_waits=fast_waits, fast_retries=fast_retries,
        )
        self.runs: list[RunResult] = []
        # What containers write as root into the session's folders goes back to a non-root user.
        self.ownership = Ownership(
            session=self.id, roots=[self.root, self.artifacts_root], owner=Owner.me(), timer=self.timer,
        )
        self.ownership.register(self.artifacts_path)  # first: the helper then mounts it, for every env
        self._stack = ExitStack()
        self._daemon: DockerDaemon | None = None
        self._python_base: str | None = None
        self._python_base_known = False
        self._assets: KindAssets | None = None
        self._cluster: Cluster | ExistingCluster | None = None
        self._runner: DagRunner | None = None
        self.record = SessionRecord(
            self.id, os.getpid(), Holder.me().start, str(self.scratch), str(self.artifacts_path),
        )

    # -- identity -------------------------------------------------------------------------
    @property
    def short_id(self) -> str:
        """The pid part of the id: unique among live sessions, short enough for names."""
        return self.id.split("-")[2]

    @property
    def artifacts_path(self) -> Path:
        return self.artifacts_root / self.id

    @property
    def artifacts_dir(self) -> Path:
        """The artifacts path, created on first use (a passing Docker-only run may leave none)."""
        self.artifacts_path.mkdir(parents=True, exist_ok=True)
        return self.artifacts_path

    def path(self, value: str | os.PathLike[str]) -> Path:
        """``value`` relative to the session's root."""
        return (self.root / Path(value).expanduser()).resolve()

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def cluster_name(self) -> str:
        """The name asked for (shared with other sessions), else one of this session's own."""
        return self.kind_options.cluster_name or f"airflow-e2e-{self.short_id}"

    def start(self) -> None:
        """Point Airflow at the private home; must come before anything imports airflow."""
        self.record.write()  # first: a sweep by another session must see this scratch folder is live
        self.home.start()
        self.policies.install()

    def release(self) -> None:
        """Stop what was started (containers, cluster, daemon); idempotent.

        The pytest plugin calls this when its session fixture ends, so teardown
        shows in the closing summary; :meth:`stop` calls it too. Ctrl-C (or
        SIGTERM) during it skips the rest, saying what is left and how to remove it.
        """
        with skip_on_interrupt(self.leftovers):
            try:
                try:
                    client = self._daemon.client if self._daemon is not None else None
                    if client is not None and not self.keep.resources:
                        remove_session_leftovers(client, self.id)  # task containers are labelled too
                finally:
                    self._hand_back()  # while the daemon (and a cluster's data folder) are still there
            finally:
                self._stack.close()  # cluster, then daemon
                self._cluster = self._daemon = self._assets = None
                self._python_base_known = False

    def _hand_back(self) -> None:
        """Everything containers and pods wrote as root into the session's folders, back to the
        user running pytest (see ownership): the artifacts, data folders, the kind cluster's data."""
        if self._daemon is None or self._daemon.client is None or not self.ownership.active:
            return
        cluster = self._cluster
        if cluster is not None and not self.kind_options.existing:  # a kind Cluster: its /data is ours
            state = cluster.state  # type: ignore[union-attr]
            self.ownership.register(cluster.data_dir, within=state.dir)  # type: ignore[arg-type]
        try:
            self.ownership.hand_back(self._daemon.client)
        finally:
            self.ownership.close()

    def leftovers(self) -> list[str]:
        """What this session has up right now, for the message of a skipped teardown."""
        left = [f"containers and networks labelled {SESSION_LABEL}={self.id}"]
        if self._cluster is not None and not self.keep.cluster and not self.kind_options.existing:
            left.append(f"kind cluster {self._cluster.name}")
        if self._daemon is not None and self._daemon.owned and not (self.keep.daemon or self.keep.cluster):
            left.append(f"the harness Docker daemon at {self._daemon.url} (if no other session uses it)")
        left.append(f"scratch folder (Airflow home) {self.scratch}")
        return left

    def stop(self) -> None:
        try:
            self.release()
        finally:
            self.policies.uninstall()
            uninstall_all()  # patches still in place (3.1/3.2: the execution API cache) are undone
            self.home.stop()
            if self.keep.resources:
                unmark_scratch(self.scratch)  # kept for the user: no sweep may take it
            else:
                shutil.rmtree(self.scratch, ignore_errors=True)
            self.record.remove()

    # -- the run report ---------------------------------------------------------------------
    @property
    def report_path(self) -> Path:
        return self.artifacts_path / "report.html"

    def write_report(self) -> Path:
        """The session's HTML report (every DAG run so far, see report), rewritten now."""
        from airflow_e2e_harness.airflow.report import write_report

        return write_report(self.runs, self.report_path, f"airflow-e2e session {self.id}")

    # -- shared resources: started by an explicit call, read through properties -----------------
    def start_daemon(self) -> DockerDaemon:
        """The user's Docker daemon when one answers, else one the harness starts (and stops);
        the first call also sweeps what killed sessions left there. Idempotent."""
        if self._daemon is None:
            # A kept cluster lives in the daemon's containers: keeping it keeps the daemon too.
            keep = self.keep.daemon or self.keep.cluster
            daemon = DockerDaemon(keep=keep, session=self.id, timer=self.timer)
            self._daemon = self._stack.enter_context(daemon)
            self._stack.enter_context(environ(daemon.env()))  # DockerOperator, kind, docker CLI
            self._sweep_dead_sessions()
        return self._daemon

    @property
    def daemon(self) -> DockerDaemon:
        """The session's Docker daemon, once :meth:`start_daemon` (or an environment) started it."""
        if self._daemon is None:
            raise NotStarted("the session's Docker daemon", "start_daemon()")
        return self._daemon

    def _sweep_dead_sessions(self) -> None:
        """What sessions killed earlier left on this daemon (see ``cleanup``)."""
        from airflow_e2e_harness.housekeeping.cleanup import Sweeper

        assert self._daemon is not None and self._daemon.client is not None
        try:
            report = Sweeper({self._daemon.url: self._daemon.client}).sweep()
        except Exception as err:  # noqa: BLE001 - leftovers of others must not stop this session
            self.timer.log(f"cleanup of dead sessions failed ({err}); `{CLEANUP_COMMAND}` retries it")
            return
        for line in report.removed:
            self.timer.log(f"cleanup of dead sessions: {line}")

    @property
    def docker_client(self) -> docker.DockerClient:
        client = self.daemon.client
        assert client is not None
        return client

    def docker_target(self, images: Iterable[str], connections: Iterable[str]) -> DockerTarget:
        """Where a Docker environment's tasks run: this session's daemon, with its images."""
        daemon = self.daemon
        label = "harness Docker daemon" if daemon.owned else "the session's Docker daemon"

        def swarm_manager() -> bool:
            swarm = self.docker_client.info().get("Swarm") or {}
            return swarm.get("LocalNodeState") == "active" and bool(swarm.get("ControlAvailable"))

        return DockerTarget(daemon.url, label, tls=daemon.tls, built=built_names(images),
                            connections=frozenset(connections), swarm_manager=swarm_manager)

    def resolve_python_base(self) -> str | None:
        """The base passed as PYTHON_BASE: None (stock, as written) or the local stand-in, built
        now where no registry answers. Starts the daemon. Idempotent."""
        if not self._python_base_known:
            self._python_base = resolve_python_base(
                self.start_daemon().client, self.timer, mode=self.options.base_images)
            self._python_base_known = True
        return self._python_base

    def provision_kind(self) -> KindAssets:
        """kind, kubectl, the node image and the sidecar: the stock ones, or built here where no
        registry answers (cached). Starts the daemon. Idempotent."""
        if self._assets is None:
            from airflow_e2e_harness.provision.kind_assets import provision_kind

            kind, env = self.kind_options, self.options
            self._assets = provision_kind(
                self.start_daemon(), self.timer, kind.node_image or env.kind_image,
                kind_bin=kind.kind_bin or env.kind_bin, kubectl_bin=kind.kubectl_bin or env.kubectl_bin,
            )
        return self._assets

    @property
    def kind_assets(self) -> KindAssets:
        if self._assets is None:
            raise NotStarted("the kind assets", "provision_kind()")
        return self._assets

    def start_cluster(self, *, ready: bool = True) -> Cluster | ExistingCluster:
        """A Ready kind cluster, deleted at the end unless kept (or not ours); or, with
        ``KindOptions.kubeconfig``, an existing cluster, never created or deleted. Idempotent.

        :param ready: wait until the cluster is Ready; False returns once its API answers, for
            callers that overlap work with that wait (``cluster.ready_in_background()``).
        """
        if self._cluster is None:
            self._cluster = self._new_cluster()
        if ready:
            self._cluster.wait_ready()
        return self._cluster

    def _new_cluster(self) -> Cluster | ExistingCluster:
        """The session's cluster, made and entered on its stack (deleted with it unless kept)."""
        if self.kind_options.existing:
            self.start_daemon()
            existing = self._stack.enter_context(self._existing_cluster())
            self.bundle.add_source("cluster", existing.export_logs)
            return existing
        from airflow_e2e_harness.kubernetes.cluster import Cluster

        assets = self.provision_kind()
        cluster = Cluster(
            assets, self.daemon.env(), self.docker_client, name=self.cluster_name,
            session=self.id, keep=self.keep.cluster, run_dir=self.scratch / "kind",
            config=self.kind_options.config, timer=self.timer, wait_ready_on_start=False,
        )
        self._stack.enter_context(cluster)
        self.bundle.add_source("kind", cluster.export_logs)
        cluster.registry_factory = self._start_registry  # started by the first load that needs it
        return cluster

    @property
    def cluster(self) -> Cluster | ExistingCluster:
        """The session's cluster, once :meth:`start_cluster` (or a kind environment) started it."""
        if self._cluster is None:
            raise NotStarted("the session's cluster", "start_cluster()")
        return self._cluster

    def _existing_cluster(self) -> ExistingCluster:
        from airflow_e2e_harness.kubernetes.existing_cluster import ExistingCluster

        options = self.kind_options
        assert options.kubeconfig is not None
        if not options.image_registry:
            raise ConfigurationError(
                f"an existing cluster ({options.kubeconfig}) pulls task images from a registry: "
                "name one it pulls from (pytest: --image-registry HOST[:PORT][/PREFIX])"
            )
        return ExistingCluster(
            options.kubeconfig, context=options.context, registry=options.image_registry,
            docker_client=self.docker_client, run_dir=self.scratch / "cluster", timer=self.timer,
        )

    @property
    def namespace_suffix(self) -> str:
        """What this session's namespaces add to the declared names: the worker id when workers
        share a cluster, and the pid on an existing cluster (each session makes its own there)."""
        parts = [self.worker] if self.worker else []
        if self.kind_options.existing:
            parts.append(self.short_id)
        return "-".join(parts)

    def _start_registry(self) -> LocalRegistry | None:
        """The image registry the cluster loads through, or None for ``kind load``
        (see kubernetes.local_registry)."""
        image = self.kind_assets.registry_image
        if image is None or self.options.image_load == "kind":
            return None
        registry = LocalRegistry(
            self.docker_client, image, session=self.id, storage=cache_dir() / "registry", timer=self.timer,
        )
        try:
            return self._stack.enter_context(registry)
        except (RegistryError, docker.errors.APIError) as err:
            self.timer.log(f"image registry: could not start ({err}); images load with kind load")
            return None

    def start_airflow(self) -> DagRunner:
        """Airflow's one-time start (a phase of its own, before the first run); returns the runner
        that runs DAGs. Idempotent."""
        runner = self._new_runner()
        runner.warm_up()
        return runner

    def prestart_airflow(self) -> None:
        """Begin Airflow's one-time start in the background (environments do, as they come up),
        so that it overlaps with image checks, services and the cluster."""
        self._new_runner().prestart.start()

    def _new_runner(self) -> DagRunner:
        if self._runner is None:
            self._runner = DagRunner(self.home, self.artifacts_dir, self.timer)
        return self._runner

    # -- images -----------------------------------------------------------------------------
    def resolve_images(self, images: Images | None) -> dict[str, Path]:
        """``{tag: context}`` from a mapping, or from a folder holding ``<name>/Dockerfile``
        (or ``images/<name>/Dockerfile``), each built as ``<name>:e2e``."""
        if images is None:
            return {}
        if isinstance(images, Mapping):
            return {tag: self.path(context) for tag, context in images.items()}
        folder = self.path(images)
        found = TaskImages.discover(folder) or TaskImages.discover(folder / "images")
        if not found:
            raise ConfigurationError(
                f"no images found in {folder}: expected {folder}/<name>/Dockerfile "
                f"or {folder}/images/<name>/Dockerfile, or pass {{tag: build context}}"
            )
        return found

    def build_images(self, images: Images | None) -> dict[str, BuiltImage]:
        """Build task images with the docker SDK; unchanged ones are skipped."""
        mapping = self.resolve_images(images)
        if not mapping:
            return {}
        base = self.resolve_python_base()
        builder = TaskImages(
            self.docker_client, mapping, python_base=base,
            log_dir=self.artifacts_path / "builds", timer=self.timer,
        )
        return builder.build_all()

    # -- environments -----------------------------------------------------------------------
    def docker(
        self,
        *,
        dags: str | os.PathLike[str] | None = None,
        images: Images | None = None,
        network: str | None = None,
        services: Iterable[Service] = (),
        connections: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        data_dir: str | os.PathLike[str] | None = None,
    ) -> DockerEnvironment:
        """Task images built, an optional network with service containers, a host data folder.

        ``env`` values may say ``${data_dir}`` and ``${network}``: what DAG files read
        from their environment, as in production.
        """
        from airflow_e2e_harness.environment import DockerEnvironment

        return DockerEnvironment(
            self, dags=self._dags(dags), images=self._images(images), network=network,
            services=list(services), connections=connections, variables=variables, env=env,
            data_dir=Path(data_dir) if data_dir is not None else None,
        )

    def kind(
        self,
        *,
        dags: str | os.PathLike[str] | None = None,
        images: Images | None = None,
        manifests: str | Iterable[str | os.PathLike[str]] | None = None,
        namespace: str = "default",
        manifest_vars: Mapping[str, str] | None = None,
        connections: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> KindEnvironment:
        """Task images built and loaded into the kind cluster, manifests applied and waited for.

        Manifests may use ``${NAMESPACE}`` and any ``manifest_vars``; ``env`` values may say
        ``${namespace}`` and ``${data_dir}`` (the host side of the node's ``/data/<namespace>``).
        """
        from airflow_e2e_harness.environment import KindEnvironment

        if manifests is None:
            manifests = self.defaults.manifests
        return KindEnvironment(
            self, dags=self._dags(dags), images=self._images(images), manifests=manifests,
            namespace=namespace, manifest_vars=manifest_vars, connections=connections,
            variables=variables, env=env,
        )

    def _dags(self, dags: str | os.PathLike[str] | None) -> Path:
        value = dags if dags is not None else self.defaults.dags
        if value is None:
            raise ConfigurationError(
                "no DAGs folder: pass dags=... (with pytest, or override the airflow_e2e_dags fixture)"
            )
        return self.path(value)

    def _images(self, images: Images | None) -> Images | None:
        return images if images is not None else self.defaults.images
