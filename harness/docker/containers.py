"""Docker networks and long-running service containers, each a context manager.

In the spirit of testcontainers: start, wait explicitly until ready, and
remove on exit. Everything is labelled with the session so that a cleanup
after Ctrl-C (or a later run) can find it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.timing import Timer, default_timer
from airflow_e2e_harness.waiting import WaitTimeout, wait_until

SESSION_LABEL = "io.airflow-e2e-harness.session"
LOG_LINES = 20


class ContainerNotReady(HarnessError, RuntimeError):
    """A service container exited or never became ready; carries its logs.

    Fields: ``name``, ``image``, ``exit_code`` (None while it still runs or never
    started) and ``logs`` (its last lines).
    """

    def __init__(
        self, message: str, *, name: str, image: str, exit_code: int | None = None, logs: str = "",
    ) -> None:
        super().__init__(message)
        self.name, self.image, self.exit_code, self.logs = name, image, exit_code, logs


class DockerNetwork(Lifecycle):
    """A user-defined bridge network, so that task containers reach services by name."""

    def __init__(self, client: docker.DockerClient, name: str, session: str, *, keep: bool = False) -> None:
        self.client = client
        self.name = name
        self.session = session
        self.keep = keep
        self.network: Network | None = None

    def start(self) -> None:
        try:
            stale = self.client.networks.get(self.name)
            _remove_network(stale)
        except docker.errors.NotFound:
            pass
        self.network = self.client.networks.create(
            self.name, driver="bridge", labels={SESSION_LABEL: self.session}
        )

    def stop(self) -> None:
        if self.network is not None and not self.keep:
            _remove_network(self.network)


def _remove_network(network: Network) -> None:
    network.reload()
    for container in network.containers:
        try:
            network.disconnect(container, force=True)
        except docker.errors.APIError:
            pass
    try:
        network.remove()
    except docker.errors.NotFound:
        pass


class ServiceContainer(Lifecycle):
    """A detached container (an API the tasks call) with an explicit readiness wait."""

    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        *,
        name: str,
        session: str,
        network: str | None = None,
        aliases: Sequence[str] = (),
        command: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        ready_log: str | None = None,
        ready_exec: Sequence[str] | None = None,
        timeout: float = 60.0,
        keep: bool = False,
        timer: Timer | None = None,
    ) -> None:
        self.client = client
        self.image = image
        self.name = name
        self.session = session
        self.network = network
        self.aliases = list(aliases)
        self.command = list(command) if command else None
        self.environment = dict(environment or {})
        self.ready_log = re.compile(ready_log) if ready_log else None
        self.ready_exec = list(ready_exec) if ready_exec else None
        self.timeout = timeout
        self.keep = keep
        self.timer = timer or default_timer()
        self.container: Container | None = None

    def start(self) -> None:
        try:
            self.client.containers.get(self.name).remove(force=True)  # left by a killed run
        except docker.errors.NotFound:
            pass
        kwargs: dict[str, Any] = {}
        if self.network:  # joined at create, with the names tasks reach it by
            kwargs["network"] = self.network
            kwargs["networking_config"] = {
                self.network: self.client.api.create_endpoint_config(aliases=self.aliases or None)}
        with self.timer.phase(f"service {self.name}") as phase:
            self.container = self.client.containers.create(
                self.image, self.command, name=self.name, detach=True,
                environment=self.environment, labels={SESSION_LABEL: self.session}, **kwargs,
            )
            self._start_container()
            self.wait_ready()
            phase.note = f"ready as {', '.join(self.aliases) or self.name}"

    def _start_container(self) -> None:
        """A command that cannot be executed fails here, not later: say so like an exit."""
        assert self.container is not None
        try:
            self.container.start()
        except docker.errors.APIError as err:
            raise self._not_ready(f"could not be started: {err.explanation or err}") from err

    def logs(self, tail: int | None = None) -> str:
        if self.container is None:
            return ""
        try:
            raw = self.container.logs(tail=tail) if tail else self.container.logs()
            return raw.decode(errors="replace")
        except docker.errors.APIError:
            return ""

    def wait_ready(self) -> None:
        """Poll until ready; a container that exits fails the wait at once, not at the timeout."""
        container = self.container
        assert container is not None

        def ready() -> str | None:
            container.reload()
            if container.status in ("exited", "dead"):
                raise self._exited()
            return None if self._ready() else f"{container.status}, not ready yet"

        try:
            wait_until(ready, what=f"service {self.name}", timeout=self.timeout)
        except WaitTimeout:
            raise self._not_ready(f"was not ready within {self.timeout:.0f}s") from None

    def _exited(self) -> ContainerNotReady:
        assert self.container is not None
        state = self.container.attrs.get("State") or {}
        code = state.get("ExitCode")
        why = "; killed: out of memory" if state.get("OOMKilled") else ""
        if state.get("Error"):
            why += f"; {state['Error']}"
        return self._not_ready(f"exited with code {code} before it was ready{why}", exit_code=code)

    def _not_ready(self, what: str, exit_code: int | None = None) -> ContainerNotReady:
        logs = self.logs(tail=LOG_LINES).rstrip("\n")
        output = f"Its last {LOG_LINES} lines of output:\n{logs}" if logs else "It wrote no output."
        return ContainerNotReady(
            f"service {self.name} ({self.image}) {what}.\n{output}",
            name=self.name, image=self.image, exit_code=exit_code, logs=logs,
        )

    def _ready(self) -> bool:
        assert self.container is not None
        if self.ready_log and not self.ready_log.search(self.logs()):
            return False
        if self.ready_exec:
            try:
                code, _ = self.container.exec_run(self.ready_exec)
            except docker.errors.APIError:
                return False  # it stopped since the reload (409): the next poll says how
            return code == 0
        return True

    def stop(self) -> None:
        if self.container is None or self.keep:
            return
        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        self.container = None


def remove_session_leftovers(client: docker.DockerClient, session: str | None = None) -> int:
    """Containers and networks labelled by the harness (for one session, or all)."""
    label = f"{SESSION_LABEL}={session}" if session else SESSION_LABEL
    count = 0
    for container in client.containers.list(all=True, filters={"label": label}):
        container.remove(force=True)
        count += 1
    for network in client.networks.list(filters={"label": label}):
        _remove_network(network)
        count += 1
    return count
