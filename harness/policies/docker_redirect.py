"""Every Docker task of a harness run reaches the session's Docker daemon, and runs the images the
environment built.

DAGs written for production name their daemon: ``docker_url="unix://var/run/docker.sock"`` (the
provider's own default, and Airflow's example DAG), ``tcp://docker-proxy:2375``, a list of hosts,
TLS material, and a ``docker_conn_id`` whose connection logs in to a registry. Under the harness
the daemon is the session's (the user's, or one the harness started), so a task that kept its
URL failed with a raw ``FileNotFoundError ... Error while fetching server API version``, or,
on a laptop, ran on some other daemon. Like the Kubernetes redirect
(:mod:`airflow_e2e_harness.policies.k8s_redirect`) this is a cluster policy: just before each task of the
docker provider (``DockerOperator``, ``@task.docker``, ``DockerSwarmOperator``, subclasses)
executes, its daemon URL and TLS settings become the session's, and the hook the operator
caches is dropped so it is built again from them.

What the task runs is what the environment built: ``force_pull`` is turned off for those images
(a pull would replace the checkout's build with the published one), and the registry login of a
``docker_conn_id`` is dropped unless the environment defines that connection (``connections=``)
for an image it did not build, which is then pulled as in production.

A task stopped early (``execution_timeout``, an interrupt) has its container stopped by the
operator's ``on_kill`` with Docker's default grace of 10 s between SIGTERM and SIGKILL: a task with
``execution_timeout=5s`` ended after 15.7 s, as most task containers run a process as PID 1 that
ignores SIGTERM. No argument, connection or daemon setting changes that grace (the operator
creates its containers without ``stop_timeout`` and stops them without ``timeout``), so the
policy gives the task instance an ``on_kill`` that first stops the container with a grace of
:data:`STOP_GRACE` and then calls the operator's own (which finds it stopped). SIGTERM still comes
first; ``stop_grace=None`` (``--stock-waits``) keeps Docker's 10 s.

An environment with no Docker daemon for tasks (a kind environment) refuses Docker tasks as they
start, naming what to use instead; a ``DockerSwarmOperator`` is refused when the daemon is not a
swarm manager.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from docker.tls import TLSConfig

from airflow_e2e_harness.docker.image_names import full_name
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.internals.touches import DOCKER_CACHED_HOOK, DOCKER_ON_KILL
from airflow_e2e_harness.policies.base import (
    PolicyPlugin,
    chain_pre_execute,
    drop_cached,
    hookimpl,
    in_family,
    of_dag,
)

FAMILY_MODULE = "airflow.providers.docker"
SWARM_CLASS = "DockerSwarmOperator"
STOP_GRACE = 1.0  # seconds between SIGTERM and SIGKILL when a task's container is stopped early
TLS_ATTRIBUTES = ("tls_ca_cert", "tls_client_cert", "tls_client_key", "tls_hostname", "tls_ssl_version")


class NoDaemonError(HarnessError, RuntimeError):
    """A Docker task ran in an environment that has no Docker daemon for tasks."""


class SwarmUnavailable(HarnessError, RuntimeError):
    """A DockerSwarmOperator ran, but the session's daemon is not a swarm manager."""


def is_docker_task(task: Any) -> bool:
    """A task of the docker provider (mapped or not, subclasses included)."""
    return in_family(task, FAMILY_MODULE)


def _is_swarm(task: Any) -> bool:
    return any(klass.__name__ == SWARM_CLASS for klass in type(task).__mro__)


@dataclass(frozen=True)
class DockerTarget:
    """The daemon Docker tasks run on while an environment's run lasts.

    :param url: the daemon's URL (``unix://...`` or ``tcp://...``).
    :param label: how summaries name it, e.g. "harness Docker daemon".
    :param tls: the TLS configuration the session reaches it with, if any.
    :param built: images the environment built (any spelling; compared canonically).
    :param connections: connection ids the environment defines.
    :param swarm_manager: a callable telling whether the daemon is a swarm manager (asked only
        when a swarm task runs).
    """

    url: str
    label: str
    tls: TLSConfig | None = None
    built: frozenset[str] = field(default_factory=frozenset)
    connections: frozenset[str] = field(default_factory=frozenset)
    swarm_manager: Callable[[], bool] | None = None

    def is_built(self, image: str) -> bool:
        return full_name(image) in self.built


class DockerRedirect(PolicyPlugin):
    """The policy plugin; :meth:`target` says where Docker tasks go while a run lasts.

    ``mapped`` says, per ``(dag_id, task_id)``, what the DAG had said and what it became; a task
    the harness had nothing to change on is not listed.
    """

    plugin_name = "airflow-e2e-harness-docker-redirect"

    def __init__(self, stop_grace: float | None = STOP_GRACE) -> None:
        self.stop_grace = stop_grace
        self.current: DockerTarget | None = None
        self.mapped: dict[tuple[str, str], str] = {}

    @contextmanager
    def target(self, target: DockerTarget | None) -> Iterator[None]:
        """Send Docker tasks run inside to ``target`` (None: fail them as they start)."""
        saved, self.current = self.current, target
        self.mapped.clear()  # what this run's tasks said; a task left unchanged leaves no old entry
        try:
            yield
        finally:
            self.current = saved

    def mapped_in(self, dag_id: str) -> dict[str, str]:
        return of_dag(self.mapped, dag_id)

    # -- the policy -----------------------------------------------------------------------
    @hookimpl(trylast=True)
    def task_policy(self, task: Any) -> None:
        """After the user's policies: the pre-execute hook maps the task as it starts (rendered,
        and for a mapped task each instance), before the harness's image check runs."""
        if is_docker_task(task):
            chain_pre_execute(task, lambda context: self.redirect(context["task"]))

    def redirect(self, task: Any) -> None:
        """Point ``task`` (about to execute) at the current target, or refuse it."""
        key = (task.dag_id, task.task_id)
        target = self.current
        if target is None:
            self.mapped[key] = f"{what_the_dag_said(task)} -> refused: no Docker daemon in this environment"
            raise NoDaemonError(
                f"task {task.task_id!r} of DAG {task.dag_id!r} is a {type(task).__name__}, but this harness "
                "environment has no Docker daemon for tasks: run the DAG in an environment made with "
                "`airflow_e2e.docker(...)` (`E2ESession.docker(...)` outside pytest). It was not sent to "
                "its docker_url, DOCKER_HOST or the default socket."
            )
        changes = point_at(task, target)
        if self.stop_grace is not None:
            shorten_stop(task, self.stop_grace)
        if _is_swarm(task) and not (target.swarm_manager and target.swarm_manager()):
            raise SwarmUnavailable(
                f"task {task.task_id!r} of DAG {task.dag_id!r} is a DockerSwarmOperator, but the "
                f"{target.label} at {target.url} is not a swarm manager: run `docker swarm init` on it "
                "(DOCKER_HOST names it), or test the task as a DockerOperator."
            )
        if changes:
            self.mapped[key] = f"{', '.join(changes)} -> {target.label} ({target.url})"


def what_the_dag_said(task: Any) -> str:
    url = getattr(task, "docker_url", None)
    parts = [f"docker_url={url!r}"]
    conn = getattr(task, "docker_conn_id", None)
    if conn:
        parts.append(f"docker_conn_id={conn!r}")
    return ", ".join(parts)


def point_at(task: Any, target: DockerTarget) -> list[str]:
    """Make ``task`` talk to ``target`` with the images it built; returns what the DAG had said
    that changed (empty when the task already pointed there)."""
    changes: list[str] = []
    urls = task.docker_url if isinstance(task.docker_url, list) else [task.docker_url]
    if [str(u) for u in urls] != [target.url]:
        changes.append(f"docker_url={task.docker_url!r}")
    task.docker_url = target.url
    changes += _set_tls(task, target.tls)
    image = str(getattr(task, "image", "") or "")
    built = target.is_built(image)
    conn = getattr(task, "docker_conn_id", None)
    if conn and (built or conn not in target.connections):
        changes.append(f"docker_conn_id={conn!r} (no registry login" + (": image built here)" if built else
                                                                          ": connection not defined)"))
        task.docker_conn_id = None
    if built and getattr(task, "force_pull", False):
        changes.append("force_pull=True (kept the image built here)")
        task.force_pull = False
    DOCKER_CACHED_HOOK.require()  # a cached_property value, kept in vars(task)
    drop_cached(task, FAMILY_MODULE)  # the hook (and its API client) made from the old settings
    return changes


def shorten_stop(task: Any, grace: float) -> None:
    """Give ``task`` (this instance only) an ``on_kill`` that stops its container within ``grace``
    seconds, then runs the operator's own ``on_kill``."""
    if "on_kill" in vars(task):
        return
    DOCKER_ON_KILL.require()  # it stops task.container through task.cli, as this one does first
    own = task.on_kill

    def on_kill() -> None:
        container = getattr(task, "container", None)
        if container:
            try:
                task.cli.stop(container["Id"], timeout=max(1, round(grace)))
            except Exception as err:  # noqa: BLE001 - the operator's own on_kill still runs
                task.log.warning("harness: stopping the container early failed: %s", err)
        own()

    task.on_kill = on_kill


def _set_tls(task: Any, tls: TLSConfig | None) -> list[str]:
    """The task's TLS settings become the session's (none, for a local socket); returns the
    TLS settings the DAG had given."""
    said = [name for name in TLS_ATTRIBUTES if getattr(task, name, None)]
    cert, key = tls.cert if tls is not None and tls.cert else (None, None)
    values = {"tls_ca_cert": tls.ca_cert if tls is not None else None, "tls_client_cert": cert,
              "tls_client_key": key, "tls_hostname": None, "tls_ssl_version": None}
    for name, value in values.items():
        if hasattr(task, name):
            setattr(task, name, value)
    if hasattr(task, "tls_verify"):
        task.tls_verify = bool(tls.verify) if tls is not None else True
    return [f"TLS ({', '.join(said)})"] if said else []


def built_names(images: Iterable[str]) -> frozenset[str]:
    """Canonical names of ``images`` (``etl:1.0`` -> ``docker.io/library/etl:1.0``)."""
    return frozenset(full_name(image) for image in images)
