"""How task image names map onto the session registry's repositories (pure function, no daemon)."""

from __future__ import annotations

import pytest

from airflow_e2e_harness.image_registry import repository_path


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
    assert repository_path(tag) == expected
