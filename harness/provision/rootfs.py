"""Debian root filesystems from debootstrap, imported as Docker images.

The only way to have a base image on a machine that reaches no registry but
does reach Debian's archive.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Sequence
from pathlib import Path

import docker

from airflow_e2e_harness.provision.commands import run_logged

DEFAULT_MIRROR = "http://deb.debian.org/debian"


def debootstrap(
    name: str, suite: str, packages: Sequence[str], dest: Path, mirror: str = DEFAULT_MIRROR
) -> None:
    """A minbase rootfs in ``dest`` (replaced if present) with ``packages``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_logged(
        name,
        [
            "debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
            suite, str(dest), mirror,
        ],
    )
    # apt caches are dead weight in an image.
    for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
        target = dest / sub
        if target.is_dir():
            for child in target.glob("*"):
                if child.is_file():
                    child.unlink()


def import_rootfs(
    client: docker.DockerClient, rootfs: Path, tag: str, changes: Sequence[str] = ()
) -> str:
    """Tar ``rootfs`` and import it as ``tag``; returns the image id."""
    tar_path = rootfs.with_suffix(".tar")
    with tarfile.open(tar_path, "w") as tar:
        tar.add(rootfs, arcname=".")
    repository, _, version = tag.rpartition(":")
    try:
        client.api.import_image_from_file(
            str(tar_path), repository=repository, tag=version, changes=list(changes)
        )
    finally:
        tar_path.unlink(missing_ok=True)
    return client.images.get(tag).id
