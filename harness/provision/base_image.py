"""A local stand-in for ``python:3.x-slim`` when no registry answers.

Task Dockerfiles say ``ARG PYTHON_BASE=python:3.12-slim`` / ``FROM
${PYTHON_BASE}``; on machines without a registry the harness passes this
image instead. It must behave like the stock one: ``python`` on PATH, global
``pip install`` allowed, and (here only) the host's CA bundle trusted so pip
works through the TLS-intercepting proxy.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import docker
import docker.errors

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.docker.registry_access import image_exists
from airflow_e2e_harness.provision.rootfs import debootstrap, import_rootfs
from airflow_e2e_harness.provision.steps import UnstampedStep
from airflow_e2e_harness.timing import Timer

SUITE = "bookworm"
PACKAGES = ("python3", "python3-pip", "python3-venv", "python-is-python3", "ca-certificates")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_REPO = "harness/python-base"


def _ca_digest() -> str:
    if HOST_CA_BUNDLE.exists():
        return hashlib.sha256(HOST_CA_BUNDLE.read_bytes()).hexdigest()[:12]
    return "none"


class PythonBaseImage(UnstampedStep):
    """debootstrap once, then ``docker import``; cached by suite, packages and CA bundle."""

    name = "python-base-image"

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    @property
    def tag(self) -> str:
        key = hashlib.sha256(self.cache_key().encode()).hexdigest()[:10]
        return f"{IMAGE_REPO}:{SUITE}-{key}"

    def cache_key(self) -> str:
        return f"v1:{SUITE}:{','.join(PACKAGES)}:ca={_ca_digest()}"

    def outputs_present(self) -> bool:
        return image_exists(self.client, self.tag)

    def execute(self, timer: Timer) -> None:
        rootfs = cache_dir() / "rootfs" / "python-base"
        debootstrap(self.name, SUITE, PACKAGES, rootfs)
        for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
            marker.unlink()  # python:3.x-slim lets pip install globally
        if HOST_CA_BUNDLE.exists():
            shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
            "ENV PIP_DISABLE_PIP_VERSION_CHECK=1",
            'CMD ["python3"]',
        ]
        import_rootfs(self.client, rootfs, self.tag, changes)
        shutil.rmtree(rootfs)
