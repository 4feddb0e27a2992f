"""Test environments: the wiring one group of DAGs needs, each owned by one object.

:class:`DockerEnvironment`: task images built, optionally a user-defined
network with service containers on it, and a host data folder.
:class:`KindEnvironment`: task images built and loaded into the kind cluster,
manifests applied (a namespace first) and waited for, the namespace watched
for pods that cannot start while DAGs run.

Both hand ``run()`` results back as :class:`~airflow_e2e_harness.airflow.runner.RunResult`,
and both set Airflow connections, variables and the environment the DAG files
read *only around each run*, so several environments can live side by side
in one session without seeing each other's settings.
"""

from __future__ import annotations

import glob
import os
import shutil
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes.client.rest import ApiException

from airflow_e2e_harness.airflow.runner import RunResult, to_logical_date
from airflow_e2e_harness.airflow.schedule_drift import ScheduleDrift, schedule_drift
from airflow_e2e_harness.airflow.scheduled_runs import manual_plan, scheduled_plan
from airflow_e2e_harness.compare.record import catchup_runs, record_run
from airflow_e2e_harness.config import environ
from airflow_e2e_harness.docker.containers import DockerNetwork, ServiceContainer
from airflow_e2e_harness.docker.images import BuiltImage
from airflow_e2e_harness.errors import ConfigurationError, InputNotFound
from airflow_e2e_harness.housekeeping.bundle import docker_container_source, namespace_source
from airflow_e2e_harness.kubernetes.claim_copy import (
    COPY_IMAGE,
    ClaimCopyError,
    TreeState,
    copy_claim,
    stage_claim,
    tree_state,
)
from airflow_e2e_harness.kubernetes.foreign_namespaces import label_namespaces, remember
from airflow_e2e_harness.kubernetes.manifests import Manifests, load_documents
from airflow_e2e_harness.kubernetes.pod_ends import PodEndWatcher, rejected_pod
from airflow_e2e_harness.kubernetes.pod_watch import PodStartWatchdog
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.policies.image_rewrite import pin_manifest_images, rewrite_manifest_images

if TYPE_CHECKING:
    from airflow_e2e_harness.kubernetes.cluster import Cluster
    from airflow_e2e_harness.kubernetes.existing_cluster import ExistingCluster
    from airflow_e2e_harness.session import Images
    from airflow_e2e_harness.session_services import SessionServices

# In-cluster configuration is found through these; a harness run never uses it.
IN_CLUSTER_VARIABLES = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


@dataclass
class Service:
    """A long-running container the tasks call (an API, a database), up before the first run.

    :param image: image to run (built by the environment, or already local).
    :param name: container name; the session id is appended, so parallel sessions never clash.
    :param aliases: names the tasks use to reach it on the environment's network.
    :param environment: its environment variables.
    :param command: overrides the image's command.
    :param ready_log: a regex its output must match before it counts as ready.
    :param ready_exec: a command that must exit 0 inside it before it counts as ready.
    :param timeout: seconds to wait for readiness.
    """

    image: str
    name: str
    aliases: Sequence[str] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    command: Sequence[str] | None = None
    ready_log: str | None = None
    ready_exec: Sequence[str] | None = None
    timeout: float = 60.0


class Environment(Lifecycle):
    """What both kinds of environment share: images, settings around each run, results."""

    def __init__(
        self,
        session: SessionServices,
        *,
        dags: Path,
        images: Images | None,
        connections: Mapping[str, str] | None,
        variables: Mapping[str, str] | None,
        env: Mapping[str, str] | None,
    ) -> None:
        self.session = session
        self.dags = dags
        self.image_spec = images
        self.images: dict[str, BuiltImage] = {}
        self.connections = dict(connections or {})
        self.variables = dict(variables or {})
        self.env = dict(env or {})
        self._stack = ExitStack()
        if not dags.is_dir():
            raise InputNotFound(f"DAGs folder {dags} does not exist: pass dags=<folder of DAG files>")

    def start(self) -> None:
        self.session.prestart_airflow()  # overlaps with what follows
        self.images = self.session.build_images(self.image_spec)
        self._stack.enter_context(self._up())

    def stop(self) -> None:
        self._stack.close()

    def _up(self) -> AbstractContextManager[Any]:
        """Bring up what this kind of environment needs beyond images; undone on stop."""
        raise NotImplementedError

    # -- what a run sees ------------------------------------------------------------------
    def placeholders(self) -> dict[str, str]:
        """Values for ``${name}`` in ``env``."""
        return {}

    def run_environment(self) -> dict[str, str | None]:
        """Environment variables set while a DAG is parsed and run (None: unset)."""
        values: dict[str, str | None] = {name: None for name in IN_CLUSTER_VARIABLES}
        values |= {f"AIRFLOW_CONN_{k.upper()}": v for k, v in self.connections.items()}
        values |= {f"AIRFLOW_VAR_{k.upper()}": v for k, v in self.variables.items()}
        subs = self.placeholders()
        values |= {k: string.Template(v).safe_substitute(subs) for k, v in self.env.items()}
        return values

    def observers(self) -> list[AbstractContextManager[Any]]:
        """Watchers entered around each run; what they find lands in ``RunResult.findings``."""
        return []

    def _kubernetes_target(self) -> AbstractContextManager[Any]:
        """Where Kubernetes tasks go during a run: nowhere here (they fail at once)."""
        return self.session.policies.kubernetes.target(None)

    def _docker_target(self) -> AbstractContextManager[Any]:
        """Where Docker tasks go during a run: nowhere here (they fail at once)."""
        return self.session.policies.docker.target(None)

    def run(
        self, dag_id: str, logical_date: date | datetime | str, *, conf: dict[str, Any] | None = None,
    ) -> RunResult:
        """Parse the DAGs folder anew and run ``dag_id`` once with ``dag.test()``, a manual run.

        Its findings name the template fields the scheduled run of the same
        logical date would render differently (data interval, run type).
        """
        return self._run(dag_id, logical_date, conf=conf, scheduled=False)

    def run_scheduled(self, dag_id: str, logical_date: date | datetime | str) -> RunResult:
        """Run ``dag_id`` as the scheduler would for ``logical_date``: a scheduled run, with the
        data interval, run_after and run id the DAG's timetable gives it.

        :raises NotOnSchedule: the timetable gives no run that logical date (the
            message names the scheduled runs on either side), or the DAG has no schedule.
        """
        return self._run(dag_id, logical_date, conf=None, scheduled=True)

    def run_catchup(
        self, dag_id: str, start: date | datetime | str, end: date | datetime | str,
    ) -> list[RunResult]:
        """Every scheduled run with a logical date in [start, end], one after the other in the
        order the scheduler creates them when it catches up; each later run sees the earlier
        ones (``prev_*_success``). A failed run does not stop the rest, as it does not stop
        the scheduler: check each result.

        :raises NotOnSchedule: no scheduled run falls in the range.
        """
        with environ(self.run_environment()):
            plans = self.session.start_airflow().plan_catchup(self.dags, dag_id, start, end)
        with catchup_runs():  # how compare's records name them
            return [self.run_scheduled(dag_id, plan.logical_date) for plan in plans]

    def schedule_drift(self, dag_id: str, logical_date: date | datetime | str) -> ScheduleDrift:
        """Without running anything: where ``run(dag_id, logical_date)`` would differ from
        ``run_scheduled(dag_id, logical_date)``, field by field.

        :raises NotOnSchedule: as :meth:`run_scheduled`.
        """
        import pendulum

        with environ(self.run_environment()):
            dag = self.session.start_airflow().get_dag(self.dags, dag_id)
        when = to_logical_date(logical_date)
        return schedule_drift(dag, manual_plan(dag, when, pendulum.now("UTC")), scheduled_plan(dag, when))

    def _run(
        self, dag_id: str, logical_date: date | datetime | str, *, conf: dict[str, Any] | None,
        scheduled: bool,
    ) -> RunResult:
        s = self.session
        self._before_run()
        with environ(self.run_environment()), self._kubernetes_target(), self._docker_target():
            result = s.start_airflow().run(
                self.dags, dag_id, logical_date, run_conf=conf, observers=self.observers(),
                scheduled=scheduled,
            )
        kubernetes, docker = s.policies.kubernetes.mapped_in(dag_id), s.policies.docker.mapped_in(dag_id)
        result.redirected = kubernetes | docker
        if kubernetes:
            waits = "shortened waits" if s.policies.k8s_waits.enabled else "the provider's waits"
            s.timer.log(  # what each DAG had said is in result.redirected / describe()
                f"kubernetes: {', '.join(kubernetes)} of {dag_id} sent to the session's cluster, with {waits}"
            )
        if docker:
            s.timer.log(f"docker: {', '.join(docker)} of {dag_id} mapped to the session's daemon "
                        "(what each DAG said: RunResult.redirected)")
        result.retry_delays = s.policies.retries.shortened_in(dag_id)
        retried = list(result.retried_at_once())
        if retried:
            s.timer.log(f"retries: {', '.join(retried)} of {dag_id} retried without the DAG's retry_delay "
                        "(--keep-retry-delays keeps it)")
        self._after_run(result)
        record_run(self, result)  # only while compare asks for records (HARNESS_RECORD_DIR)
        self.session.runs.append(result)
        return result

    def _before_run(self) -> None:
        """What this kind of environment does right before each run."""

    def _after_run(self, result: RunResult) -> None:
        """What this kind of environment adds to a finished run's result."""


class DockerEnvironment(Environment):
    """DAGs whose tasks are DockerOperator (or ``@task.docker``) containers on one daemon.

    Made by :meth:`E2ESession.docker`; ``data_dir`` is a host folder (under the
    session's artifacts unless given) that ``env`` can hand the DAG as ``${data_dir}``.
    """

    def __init__(
        self,
        session: SessionServices,
        *,
        network: str | None = None,
        services: Sequence[Service] = (),
        data_dir: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(session, **kwargs)
        self.network_name = network
        self.services_spec = list(services)
        if services and network is None:
            raise ConfigurationError("services need a network to be reachable by name: pass network=...")
        self.network: DockerNetwork | None = None
        self.services: dict[str, ServiceContainer] = {}
        self.data_dir = session.path(data_dir) if data_dir is not None else _fresh(
            session.artifacts_dir / "data", "docker"
        )

    def _docker_target(self) -> AbstractContextManager[Any]:
        """This session's daemon, whatever ``docker_url`` the DAG names (see docker_redirect)."""
        return self.session.policies.docker.target(
            self.session.docker_target(self.images, self.connections))

    @contextmanager
    def _up(self) -> Iterator[None]:
        s = self.session
        client = s.start_daemon().client
        assert client is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        s.ownership.register(self.data_dir, images=self.images)  # handed back at the session's end too
        with ExitStack() as stack:
            if self.network_name:
                self.network = stack.enter_context(DockerNetwork(
                    client, f"{self.network_name}-{s.short_id}", s.id, keep=s.keep.resources,
                ))
            for spec in self.services_spec:
                service = stack.enter_context(ServiceContainer(
                    client, spec.image, name=f"{spec.name}-{s.short_id}", session=s.id,
                    network=self.network.name if self.network else None, aliases=spec.aliases,
                    command=spec.command, environment=spec.environment, ready_log=spec.ready_log,
                    ready_exec=spec.ready_exec, timeout=spec.timeout, keep=s.keep.resources, timer=s.timer,
                ))
                s.bundle.add_source(f"container-{spec.name}", docker_container_source(service.container))
                self.services[spec.name] = service
            yield

    def _after_run(self, result: RunResult) -> None:
        """What the run's containers wrote into ``data_dir`` as root, back to a non-root user at
        once, so that the test can read and delete it (see ownership)."""
        problem = self.session.ownership.hand_back(self.session.docker_client, [self.data_dir])
        if problem:
            result.findings.append(problem)

    def placeholders(self) -> dict[str, str]:
        values = {"data_dir": str(self.data_dir)}
        if self.network is not None:
            values["network"] = self.network.name
        return values


class KindEnvironment(Environment):
    """DAGs whose tasks are KubernetesPodOperator (and family) pods in the harness's kind cluster.

    Made by :meth:`E2ESession.kind`. Every Kubernetes task of a run goes to this
    cluster whatever its DAG says (see :mod:`airflow_e2e_harness.policies.k8s_redirect`).
    ``data_dir`` is the host side of the node's ``/data/<namespace>``: a hostPath
    PersistentVolume there makes what pods write readable by the test.
    """

    def __init__(
        self,
        session: SessionServices,
        *,
        manifests: str | Iterable[str | os.PathLike[str]] | None = None,
        namespace: str = "default",
        manifest_vars: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(session, **kwargs)
        self.declared_namespace = namespace
        # Sessions sharing a cluster (pytest-xdist workers, an existing cluster) each get a
        # namespace of their own; Kubernetes tasks follow (namespace_map).
        suffix = session.namespace_suffix
        self.namespace = f"{namespace}-{suffix}" if suffix else namespace
        self.existing = session.kind_options.existing
        self.manifest_paths = _manifest_paths(session, manifests)
        self.manifest_vars = {"NAMESPACE": self.namespace, **(manifest_vars or {})}
        self.documents = load_documents(self.manifest_paths, self.manifest_vars)
        if self.namespace != namespace:
            move_to_namespace(self.documents, namespace, self.namespace)
        if self.namespace != "default" and not any(
            d["kind"] == "Namespace" and d["metadata"]["name"] == self.namespace for d in self.documents
        ):
            namespace_doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
            self.documents.insert(0, namespace_doc)
        label_namespaces(self.documents, session.id)
        self.manifests: Manifests | None = None

    @property
    def cluster(self) -> Cluster | ExistingCluster:
        return self.session.cluster

    @property
    def data_dir(self) -> Path:
        """The host side of the node's ``/data/<namespace>``; on an existing cluster, a local
        copy of the environment's claim: copied into it before each run, refreshed from it after
        (see claim_copy)."""
        if self.existing:
            return self.session.artifacts_dir / "data" / self.namespace
        return self.cluster.data_dir / self.namespace  # type: ignore[operator]

    @property
    def claims(self) -> list[str]:
        """The PersistentVolumeClaims the manifests declare in the environment's namespace."""
        return [d["metadata"]["name"] for d in self.documents if d["kind"] == "PersistentVolumeClaim"
                and d["metadata"].get("namespace", "default") == self.namespace]

    @property
    def namespaces(self) -> list[str]:
        found = [d["metadata"]["name"] for d in self.documents if d["kind"] == "Namespace"]
        return found or [self.namespace]

    @contextmanager
    def _up(self) -> Iterator[None]:
        s = self.session
        s.provision_kind()  # the sidecar image, on an existing cluster too
        cluster = s.start_cluster(ready=False)
        ready = cluster.ready_in_background()  # loads need the API and containerd, not a Ready node
        sidecar = s.kind_assets.sidecar_image
        cluster.load_images([*self.images, *([sidecar] if sidecar else [])])  # what the nodes lack (kind)
        ready.result()  # manifests' pods need a Ready node (and CoreDNS)
        if self.existing:  # the manifests' workloads pull the pushed images too
            for line in rewrite_manifest_images(self.documents, cluster.image_refs):
                s.timer.log(f"manifests: {line}")
        for line in pin_manifest_images(self.documents, self.loaded_images):
            s.timer.log(f"manifests: {line}")
        shutil.rmtree(self.data_dir, ignore_errors=True)  # a kept cluster's old outputs must not pass
        if not self.existing:  # handed back to a non-root user after each run (see ownership)
            s.ownership.register(self.data_dir, images=self.images, within=cluster.state.dir)  # type: ignore[union-attr]
        for name in self.namespaces:  # before applying: a readiness failure needs the bundle most
            s.bundle.add_source(f"namespace-{name}", namespace_source(cluster.api, name))
        if self.existing:  # written down first: after kill -9 only the sweep can remove them
            remember(s.scratch, s.id, cluster.kubeconfig, self.namespaces)
        if self.documents:
            self.manifests = Manifests(
                cluster.api, self.documents, keep=s.keep.cluster or s.keep.resources or s.keep.manifests,
                connects=cluster.node_connects, timer=s.timer,
            )
            with self.manifests:
                yield
        else:
            yield

    @property
    def loaded_images(self) -> list[str]:
        """Images the kind nodes hold as built here (pods must run those, never pull them); on an
        existing cluster the pushed references are pulled instead (see image_rewrite)."""
        if self.existing:
            return []
        sidecar = self.session.kind_assets.sidecar_image
        return [*self.images, *([sidecar] if sidecar else [])]

    def placeholders(self) -> dict[str, str]:
        return {"namespace": self.namespace, "data_dir": str(self.data_dir)}

    def run_environment(self) -> dict[str, str | None]:
        values = super().run_environment()
        # Anything that still reads KUBECONFIG finds the harness cluster, never the user's.
        values["KUBECONFIG"] = str(self.cluster.kubeconfig)
        return values

    def observers(self) -> list[AbstractContextManager[Any]]:
        api = self.cluster.api
        return [PodStartWatchdog(api, self.namespaces, built=self.loaded_images),
                PodEndWatcher(api, self.namespaces)]

    @contextmanager
    def _kubernetes_target(self) -> Iterator[None]:
        s, cluster = self.session, self.cluster
        sidecar = s.kind_assets.sidecar_image
        sidecar_ref = cluster.image_ref(sidecar) if sidecar else None
        with s.policies.kubernetes.target(cluster.kubeconfig, sidecar_ref, self._cluster_label()), \
                s.policies.namespace_map.target({self.declared_namespace: self.namespace}), \
                s.policies.image_rewrite.target(cluster.image_refs, self.loaded_images):
            yield

    def _cluster_label(self) -> str:
        """The cluster as ``RunResult.redirected`` and findings name it: which one a task reached."""
        cluster = self.cluster
        if self.existing:
            return f"existing cluster (context {cluster.name}, {cluster.source})"  # type: ignore[union-attr]
        return f"kind cluster {cluster.name}"

    def _before_run(self) -> None:
        if self.existing:  # the claims hold the test's inputs when the pods start
            self._stage_claims()

    def _after_run(self, result: RunResult) -> None:
        s = self.session
        for task in result.failed_tasks():
            refused = rejected_pod(task.log)
            if refused:
                result.findings.append(f"{task.task_id}: {refused}")
        if self.existing:
            self._copy_claims(result)
        else:  # what pods wrote as root under the node's /data, back to a non-root user (see ownership)
            problem = s.ownership.hand_back(s.docker_client, [self.data_dir])
            if problem:
                result.findings.append(problem)

    def _claim_folders(self) -> dict[str, Path]:
        """Each claim's local copy: one claim, ``data_dir`` itself; several, ``data_dir/<claim>``."""
        claims = self.claims
        return {claim: self.data_dir if len(claims) == 1 else self.data_dir / claim for claim in claims}

    @cached_property
    def _claim_states(self) -> dict[str, TreeState | None]:
        """Per claim, what its folder held when it last matched the claim. None: out of step;
        absent: never copied (the claim holds only what the manifests put there)."""
        return {}

    def _copy_image(self) -> str:
        sidecar = self.session.kind_assets.sidecar_image
        return self.cluster.image_ref(sidecar) if sidecar else COPY_IMAGE

    def _stage_claims(self) -> None:
        """What the test put in ``data_dir``, into the claims: the pods find it there, as on kind."""
        s, states = self.session, self._claim_states
        for claim, src in self._claim_folders().items():
            state, fresh = tree_state(src), claim not in states
            if state == states.get(claim) or (fresh and not state):
                continue  # the claim holds that already
            states[claim] = None  # until done: a failed copy leaves the claim half written
            where = f"claim {self.namespace}/{claim}"
            try:
                with s.timer.phase(f"stage {where}") as phase:
                    size = stage_claim(self.cluster.core, self.namespace, claim, self._copy_image(), src,
                                       replace=not fresh)
                    phase.note = f"from {src}, {size / 1024:.0f} KiB gzipped"
            except ApiException as err:
                raise ClaimCopyError(f"inputs in {src} not copied into {where}: {err}") from err
            states[claim] = state

    def _copy_claims(self, result: RunResult) -> None:
        """What pods wrote, into ``data_dir`` (one claim: its root; several: a folder each)."""
        s = self.session
        for claim, dest in self._claim_folders().items():
            self._claim_states[claim] = None
            try:
                with s.timer.phase(f"copy claim {self.namespace}/{claim}") as phase:
                    copy_claim(self.cluster.core, self.namespace, claim, self._copy_image(), dest)
                    phase.note = f"into {dest}"
            except (ClaimCopyError, ApiException) as err:
                result.findings.append(f"outputs of claim {self.namespace}/{claim} not copied: {err}")
            else:
                self._claim_states[claim] = tree_state(dest)


def move_to_namespace(documents: list[dict[str, Any]], declared: str, actual: str) -> None:
    """Documents that name the ``declared`` namespace (as a Namespace, or as where they live)
    now name ``actual``; ``${NAMESPACE}`` was filled with ``actual`` already."""
    for doc in documents:
        meta = doc.setdefault("metadata", {})
        if doc.get("kind") == "Namespace" and meta.get("name") == declared:
            meta["name"] = actual
        elif meta.get("namespace") == declared:
            meta["namespace"] = actual


def _manifest_paths(
    session: SessionServices, manifests: str | Iterable[str | os.PathLike[str]] | None,
) -> list[Path]:
    """Files from glob patterns or paths, relative to the session root; a pattern must match."""
    if manifests is None:
        return []
    items = [manifests] if isinstance(manifests, (str, os.PathLike)) else list(manifests)
    paths: list[Path] = []
    for item in items:
        pattern = str(session.path(item))
        matched = sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(pattern) else [Path(pattern)]
        if not matched or not all(p.is_file() for p in matched):
            raise InputNotFound(f"manifests {item!r}: no such file(s) under {session.root}")
        paths.extend(matched)
    return paths


def _fresh(parent: Path, stem: str) -> Path:
    """A new folder ``parent/stem`` (or ``stem-2``, ...), created now so no other environment takes it."""
    parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        path = parent / (stem if n == 1 else f"{stem}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
