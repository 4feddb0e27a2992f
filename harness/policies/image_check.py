"""A DockerOperator whose image was never built fails saying so, before the operator tries a pull;
and every task container carries the session's label.

Without it, a missing task image turns into a pull from Docker Hub: on a
machine without registries a DNS error about ``registry-1.docker.io``, on a
laptop a "pull access denied" for a name that only ever existed locally.
Like the Kubernetes redirect, this is a cluster policy (see
:mod:`airflow_e2e_harness.policies.k8s_redirect`); it adds a pre-execute check to
every task of the docker provider (``DockerOperator``, ``@task.docker``, and
subclasses), keeping any pre-execute hook the DAG set. Images whose registry
answers are left to the operator to pull, as in production.

The same hook adds the session's label to the operator's ``labels`` (the
DAG's own labels stay): its container, also one left Created by a failed
start or still running after an interrupt, is then removed with the
session's other containers, and never one of another session.

Where the DAG left ``api_version`` at its default (``None``: ask the daemon),
the hook fills in the version the daemon reported to the check, once per
session. Each ``APIClient`` with an unknown version asks ``/version``, and a
Docker 20.10 daemon answers it in about 120 ms (it runs ``runc --version``
each time): two such calls per task were a third of what a MovieLens run cost
over running its containers directly. The operator talks to the same daemon
with the same API version it would have found itself.
"""

from __future__ import annotations

import os
from typing import Any

import docker
import docker.errors

from airflow_e2e_harness.docker.image_names import ImageName
from airflow_e2e_harness.docker.registry_access import resolves
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.policies.base import PolicyPlugin, chain_pre_execute, hookimpl
from airflow_e2e_harness.policies.docker_redirect import is_docker_task


class ImageNotBuilt(HarnessError, RuntimeError):
    """A Docker task's image is not on the daemon, and no registry could supply it."""


class DockerImageCheck(PolicyPlugin):
    """The policy plugin for Docker tasks.

    :param labels: added to every Docker task's container labels.
    """

    plugin_name = "airflow-e2e-harness-docker-image-check"

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        self.labels = dict(labels or {})
        self._clients: dict[str, docker.APIClient] = {}

    @hookimpl
    def task_policy(self, task: Any) -> None:
        if is_docker_task(task):  # a mapped one too: each instance is checked and labelled as it starts
            chain_pre_execute(task, lambda context: self._before(context["task"]))

    def _before(self, task: Any) -> None:
        url = daemon_url(task)
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = docker.APIClient(base_url=url, timeout=30)
        check_image(task, client, url)
        if getattr(task, "api_version", "") is None and isinstance(getattr(task, "docker_url", None), str):
            task.api_version = client.api_version  # what the operator's client would ask for
        add_labels(task, self.labels)

    def uninstall(self) -> None:
        super().uninstall()
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def daemon_url(task: Any) -> str:
    """The daemon the operator talks to (the first, when the DAG gives a list)."""
    url = getattr(task, "docker_url", None) or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return url[0] if isinstance(url, list) else str(url)


def add_labels(task: Any, labels: dict[str, str]) -> None:
    """Merge ``labels`` into the operator's ``labels`` (a dict, a list of names, or None)."""
    if not labels or not hasattr(task, "labels"):
        return
    own = task.labels
    merged = {name: "" for name in own} if isinstance(own, list) else dict(own or {})
    task.labels = merged | labels


def check_image(task: Any, client: docker.APIClient, url: str) -> None:
    """Raise ImageNotBuilt when the (rendered) image is neither local nor pullable."""
    image = str(task.image)
    try:
        client.inspect_image(image)
        return
    except docker.errors.ImageNotFound:
        pass
    if resolves(ImageName.parse(image).host):
        return  # a registry answers: the operator pulls it, as it would in production
    raise ImageNotBuilt(
        f"task {task.task_id!r} of DAG {task.dag_id!r} runs image {image!r}, which is not on the Docker "
        f"daemon at {url}, and no registry answers for it: it was not built. Add it to the "
        f"environment's images (e.g. images={{{image!r}: 'path/to/its/build/context'}}), or fix the tag."
    )
