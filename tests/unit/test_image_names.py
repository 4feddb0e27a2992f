"""How image references are read: Docker Hub paths for the session registry, one full spelling for
comparisons (pure functions, no daemon)."""

from __future__ import annotations

import pytest

from airflow_e2e_harness.docker.image_names import ImageName, full_name


@pytest.mark.parametrize(("tag", "expected"), [
    ("movielens-fetch:e2e", ("library/movielens-fetch", "e2e")),
    ("harness/xcom-sidecar:1.0", ("harness/xcom-sidecar", "1.0")),
    ("docker.io/team/etl:2", ("team/etl", "2")),
    ("etl", ("library/etl", "latest")),
    ("ghcr.io/team/etl:1", None),  # a registry of its own: kind load instead
    ("localhost:5000/etl:1", None),
    ("registry.local/etl", None),
    ("etl@sha256:" + "0" * 64, None),
])
def test_repository_path(tag: str, expected: tuple[str, str] | None) -> None:
    assert ImageName.parse(tag).hub_path() == expected


@pytest.mark.parametrize(("reference", "full"), [
    ("etl", "docker.io/library/etl:latest"),
    ("etl:1.0", "docker.io/library/etl:1.0"),
    ("docker.io/library/etl", "docker.io/library/etl:latest"),
    ("myorg/etl:latest", "docker.io/myorg/etl:latest"),
    ("quay.io/apache/bash", "quay.io/apache/bash:latest"),
    ("localhost:5000/x", "localhost:5000/x:latest"),
    ("ghcr.io/a/b:2", "ghcr.io/a/b:2"),
    ("etl@sha256:" + "0" * 64, "docker.io/library/etl@sha256:" + "0" * 64),
])
def test_one_spelling_per_image(reference: str, full: str) -> None:
    assert full_name(reference) == full
