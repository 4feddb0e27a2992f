"""Whether a container registry can answer, decided without probing strangers.

On the build machines no registry hostname even resolves, so the check ends
at DNS and sends nothing anywhere; where it resolves, the daemon's own pull
is the test (that is what a plain ``docker build`` would do too).
"""

from __future__ import annotations

import os
import socket

import docker
import docker.errors
from docker.utils import parse_repository_tag

REGISTRY_HOSTS = {"docker.io": "registry-1.docker.io", "registry.k8s.io": "registry.k8s.io"}


def resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


def registry_host(image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first):
        return REGISTRY_HOSTS.get(first, first)
    return REGISTRY_HOSTS["docker.io"]


def containerd_reference(tag: str) -> str:
    """containerd's full name for a Docker reference (docker.io/library/...)."""
    first = tag.split("/", 1)[0]
    if "/" not in tag:
        return f"docker.io/library/{tag}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{tag}"
    return tag


def canonical_image(ref: str) -> str:
    """One spelling per image: registry, repository and tag in full (``etl`` and
    ``docker.io/library/etl:latest`` are the same image); a digest reference stays as it is."""
    repository, tag = parse_repository_tag(ref.strip())
    if tag and tag.startswith("sha256:"):
        return f"{containerd_reference(repository)}@{tag}"
    return f"{containerd_reference(repository)}:{tag or 'latest'}"


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def have_or_pull(client: docker.DockerClient, image: str) -> bool:
    """True when ``image`` is local, or its registry resolves and the pull works."""
    if image_exists(client, image):
        return True
    if not resolves(registry_host(image)):
        return False
    try:
        client.images.pull(image)
        return True
    except docker.errors.APIError:
        return False


def image_mode(env_var: str) -> str:
    """auto (default), stock or local, from an environment variable."""
    mode = os.environ.get(env_var, "auto").strip().lower() or "auto"
    if mode not in {"auto", "stock", "local"}:
        raise ValueError(f"{env_var}={mode!r}: expected auto, stock or local")
    return mode
