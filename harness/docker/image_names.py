"""What an image reference names: one parser for every place the harness compares or rewrites one.

``etl``, ``etl:latest``, ``docker.io/library/etl:latest`` are one image to Docker and to
containerd; ``quay.io/team/etl`` lives on a registry of its own; ``host:5000/x`` has a port, not a
tag. The docker SDK's reference helpers split a reference into repository and tag and resolve the
registry it names (Docker Hub's ``docker.io`` when it names none); this module adds only the
Docker Hub ``library/`` path and the default ``latest`` tag, which containerd spells out.
"""

from __future__ import annotations

from dataclasses import dataclass

from docker.auth import INDEX_NAME, resolve_repository_name
from docker.errors import InvalidRepository
from docker.utils import parse_repository_tag

DEFAULT_TAG = "latest"
# Where a registry's name does not say where it answers.
REGISTRY_HOSTS = {"docker.io": "registry-1.docker.io", "registry.k8s.io": "registry.k8s.io"}


@dataclass(frozen=True)
class ImageName:
    """One image reference, parsed.

    :param registry: the registry it names (``docker.io`` for Docker Hub).
    :param path: the repository path there (``library/etl`` for Docker Hub's official images).
    :param tag: the tag, ``latest`` when none is given (None for a digest reference).
    :param digest: ``sha256:...`` for a digest reference.
    """

    registry: str
    path: str
    tag: str | None
    digest: str | None = None

    @classmethod
    def parse(cls, reference: str) -> ImageName:
        repository, tag = parse_repository_tag(reference.strip())
        registry, path = resolve_repository_name(repository)
        if registry == INDEX_NAME and "/" not in path:
            path = f"library/{path}"
        if tag and tag.startswith("sha256:"):
            return cls(registry, path, None, tag)
        return cls(registry, path, tag or DEFAULT_TAG)

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.path}"

    @property
    def full(self) -> str:
        """The reference spelled out, as containerd lists it: ``docker.io/library/etl:latest``."""
        return f"{self.repository}@{self.digest}" if self.digest else f"{self.repository}:{self.tag}"

    @property
    def host(self) -> str:
        """Where its registry answers."""
        return REGISTRY_HOSTS.get(self.registry, self.registry)

    def hub_path(self) -> tuple[str, str] | None:
        """``(path, tag)`` on Docker Hub (``etl:1`` -> ``("library/etl", "1")``), or None when the
        reference names a registry of its own or a digest (it is then pushed nowhere else)."""
        if self.registry != INDEX_NAME or self.tag is None:
            return None
        return self.path, self.tag


def full_name(reference: str) -> str:
    """One spelling per image (see :attr:`ImageName.full`): what the harness compares. A reference
    that does not parse is its own spelling (a pod with it fails with InvalidImageName, which the
    watchers report; comparing it must not raise in them)."""
    try:
        return ImageName.parse(reference).full
    except (InvalidRepository, ValueError):
        return reference
