"""Task images reach kind nodes through a registry: only the layers a node lacks travel.

``kind load docker-image`` saves the whole image (base layers included) and
imports it into every node, each time; under Docker's containerd image store
it fails outright (kubernetes-sigs/kind#3795). kind documents the other way, a
local registry on the ``kind`` network. The harness runs one per session,
storing blobs in its cache, so a layer is pushed once per machine: a push
sends only layers the registry lacks, and each node pulls only layers its
containerd lacks. The pulled image is then tagged with the name the DAG uses
(``movielens-fetch:e2e`` is ``docker.io/library/movielens-fetch:e2e`` to
containerd), so pods with ``image_pull_policy="Never"`` find it; node
configuration is not touched, so a reused or user-configured cluster works too.
"""

from __future__ import annotations

from pathlib import Path

import docker
import docker.errors
import requests

from airflow_e2e_harness.docker.containers import SESSION_LABEL
from airflow_e2e_harness.docker.image_names import ImageName
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.timing import Timer, default_timer
from airflow_e2e_harness.waiting import WaitTimeout, wait_until

REGISTRY_PORT = 5000
KIND_NETWORK = "kind"


class RegistryError(HarnessError, RuntimeError):
    """The registry could not start, or a push or node pull failed (the caller falls back to kind load)."""


def push_image(client: docker.DockerClient, tag: str, repository: str, version: str) -> None:
    """Push local ``tag`` as ``repository:version``. The push needs that name on the daemon; it is
    removed again afterwards (unless it was there before), so the daemon keeps no trace of it."""
    ref = f"{repository}:{version}"
    named_before = bool(client.images.list(name=ref))
    client.images.get(tag).tag(repository, version)
    try:
        for line in client.images.push(repository, tag=version, stream=True, decode=True):
            if "error" in line:
                raise RegistryError(f"push of {tag} to {ref} failed: {line['error']}")
    except docker.errors.APIError as err:
        raise RegistryError(f"push of {tag} to {ref} failed: {err}") from err
    finally:
        if not named_before:
            client.images.remove(ref, noprune=True)  # the extra name only


class LocalRegistry(Lifecycle):
    """A registry container on the ``kind`` network, published on a loopback port.

    :param client: the daemon the cluster's nodes run on.
    :param image: the registry image (built here from its Go module, or the stock one).
    :param session: the session id: names the container and labels it for cleanup.
    :param storage: host folder for the blobs, shared by sessions (content-addressed).
    :param timer: the phase timer.
    """

    def __init__(
        self, client: docker.DockerClient, image: str, *, session: str, storage: Path,
        timer: Timer | None = None,
    ) -> None:
        self.client = client
        self.image = image
        self.session = session
        self.storage = storage
        self.timer = timer or default_timer()
        self.name = f"airflow-e2e-registry-{session.split('-', 2)[-1]}"  # the id after its timestamp
        self.port: int | None = None
        self._container: docker.models.containers.Container | None = None

    def start(self) -> None:
        with self.timer.phase("image registry start") as phase:
            self.storage.mkdir(parents=True, exist_ok=True)
            if not self.client.images.list(name=self.image):
                name = ImageName.parse(self.image)
                self.client.images.pull(name.repository, tag=name.tag)
            self._container = self.client.containers.run(
                self.image, name=self.name, detach=True, network=KIND_NETWORK,
                labels={SESSION_LABEL: self.session},
                ports={f"{REGISTRY_PORT}/tcp": ("127.0.0.1", None)},
                volumes={str(self.storage): {"bind": "/var/lib/registry", "mode": "rw"}},
                environment={"REGISTRY_STORAGE_DELETE_ENABLED": "false", "OTEL_TRACES_EXPORTER": "none"},
            )
            self._container.reload()
            binding = self._container.ports[f"{REGISTRY_PORT}/tcp"][0]
            self.port = int(binding["HostPort"])
            self._wait_ready()
            phase.note = f"{self.name}, 127.0.0.1:{self.port}"

    def _wait_ready(self, timeout: float = 30.0) -> None:
        url = f"http://127.0.0.1:{self.port}/v2/"

        def answers() -> str | None:
            try:
                status = requests.get(url, timeout=1).status_code
            except requests.RequestException as err:
                return f"{url}: {type(err).__name__}"
            return None if status == 200 else f"{url} answered {status}"

        try:
            wait_until(answers, what=f"registry {self.name}", timeout=timeout)
        except WaitTimeout as err:
            logs = self._container.logs(tail=20).decode(errors="replace") if self._container else ""
            raise RegistryError(f"{err}\n{logs}") from err

    def stop(self) -> None:
        if self._container is not None:
            try:
                self._container.remove(force=True)
            except docker.errors.NotFound:
                pass
            self._container = None

    # -- loading -----------------------------------------------------------------------------
    def push(self, tag: str, path: str, version: str) -> None:
        """Push the local image ``tag``; the daemon sends only the layers the registry lacks."""
        push_image(self.client, tag, f"127.0.0.1:{self.port}/{path}", version)

    def pull_into(self, node: docker.models.containers.Container, path: str, version: str) -> None:
        """Pull into one node's containerd (only missing layers), under the name the DAG uses."""
        source = f"{self.name}:{REGISTRY_PORT}/{path}:{version}"
        target = f"docker.io/{path}:{version}"
        for argv in (
            ["ctr", "--namespace=k8s.io", "images", "pull", "--plain-http", source],
            ["ctr", "--namespace=k8s.io", "images", "tag", "--force", source, target],
            ["ctr", "--namespace=k8s.io", "images", "rm", source],
        ):
            result = node.exec_run(argv)
            if result.exit_code != 0:
                said = result.output.decode(errors="replace")
                raise RegistryError(f"{' '.join(argv)} on {node.name}: {said}")
