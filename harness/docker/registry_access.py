"""Whether a container registry can answer, decided without probing strangers.

On the build machines no registry hostname even resolves, so the check ends
at DNS and sends nothing anywhere; where it resolves, the daemon's own pull
is the test (that is what a plain ``docker build`` would do too).
"""

from __future__ import annotations

import socket

import docker
import docker.errors

from airflow_e2e_harness.docker.image_names import ImageName


def resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


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
    if not resolves(ImageName.parse(image).host):
        return False
    try:
        client.images.pull(image)
        return True
    except docker.errors.APIError:
        return False

