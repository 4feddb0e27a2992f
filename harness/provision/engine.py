"""Install the Docker engine (and debootstrap) from the distribution's packages.

Only on Debian-like hosts as root: anywhere else the harness says what to
install instead of guessing.
"""

from __future__ import annotations

import os
import shutil

from airflow_e2e_harness.provision.commands import run_logged
from airflow_e2e_harness.provision.steps import ProvisionError, UnstampedStep
from airflow_e2e_harness.timing import Timer

DEBIAN_PACKAGES = ("docker.io", "debootstrap")


def can_use_apt() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(name: str, packages: tuple[str, ...]) -> None:
    if not can_use_apt():
        raise ProvisionError(
            f"{name}: need the Debian packages {' '.join(packages)} but cannot install "
            "them (not root, or no apt-get). Install them yourself, or point DOCKER_HOST "
            "at a running Docker daemon."
        )
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run_logged(name, ["apt-get", "update", "-qq"], env=env)
    run_logged(
        name,
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env=env,
        append=True,
    )


class InstallEngine(UnstampedStep):
    """docker.io brings dockerd, containerd and runc; debootstrap builds local bases."""

    name = "engine-packages"

    def cache_key(self) -> str:
        return "debian:" + ",".join(DEBIAN_PACKAGES)

    def outputs_present(self) -> bool:
        return all(shutil.which(b) for b in ("dockerd", "containerd", "runc", "debootstrap"))

    def execute(self, timer: Timer) -> None:
        apt_install(self.name, DEBIAN_PACKAGES)
