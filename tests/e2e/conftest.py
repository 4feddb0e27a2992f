"""Scenario wiring for the bundled e2e tests: what a user's own conftest holds.

Each environment is one library object entered in a session fixture; the
tests only run DAGs and assert.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.environment import DockerEnvironment, KindEnvironment, Service
from airflow_e2e_harness.session import E2ESession
from tests.e2e.expected import MOVIELENS, MOVIELENS_CONN, SCENARIOS, SCHEDULES, SEED, TASKFLOW

REPO = Path(__file__).resolve().parents[2]
# Read before pytester moves HOME (and with it ~/.cache) to a temp dir.
OUTER_CACHE = cache_dir()


# Modules whose tests run sessions of their own (minutes each): first, so that with
# `pytest -n 2` they start early on different workers instead of ending the run alone.
SLOW_FIRST = (
    "test_containerd_image_store.py", "test_user_project.py", "test_compare.py", "test_sessions.py",
    "test_non_root.py", "test_interrupt.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within each group stays


@pytest.fixture(scope="session")
def airflow_e2e_kind_config(pytestconfig: pytest.Config) -> Path:
    """The repo's own kind config (a user's config overrides this fixture the same way)."""
    value = pytestconfig.getoption("--kind-config")
    return Path(value).resolve() if value else REPO / "kind-config.yaml"


@pytest.fixture
def inner_pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A nested pytest run that shares this session's harness cache.

    Without it the inner run sees an empty cache under pytester's HOME and
    rebuilds every base image and Go binary from scratch.
    """
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(OUTER_CACHE))
    return pytester


@pytest.fixture(scope="session")
def movielens_docker(airflow_e2e: E2ESession) -> Iterator[DockerEnvironment]:
    """The API on a user-defined network, a host data folder, the connection, as in production."""
    with airflow_e2e.docker(
        dags=MOVIELENS / "dags",
        images=MOVIELENS / "images",
        network="movielens",
        services=[Service(
            "movielens-api:e2e", name="movielens-api", aliases=["movielens"],
            environment={"MOVIELENS_SEED": str(SEED)}, ready_log=r"serving \d+ ratings",
        )],
        connections={"movielens": MOVIELENS_CONN},
        env={"MOVIELENS_DATA_DIR": "${data_dir}", "MOVIELENS_NETWORK": "${network}"},
    ) as env:
        yield env


@pytest.fixture(scope="session")
def movielens_k8s(airflow_e2e: E2ESession) -> Iterator[KindEnvironment]:
    """Images in the node, namespace + PV/PVC + API Deployment/Service, the connection."""
    with airflow_e2e.kind(
        dags=MOVIELENS / "dags",
        images=MOVIELENS / "images",
        manifests=MOVIELENS / "manifests" / "*.yaml",
        namespace="movielens",
        manifest_vars={"MOVIELENS_SEED": str(SEED)},
        connections={"movielens": MOVIELENS_CONN},
        env={"MOVIELENS_NAMESPACE": "${namespace}"},
    ) as env:
        yield env


@pytest.fixture(scope="session")
def xcoms_docker(airflow_e2e: E2ESession) -> Iterator[DockerEnvironment]:
    with airflow_e2e.docker(dags=SCENARIOS / "xcoms" / "dags", images=SCENARIOS / "xcoms" / "images") as env:
        yield env


@pytest.fixture(scope="session")
def xcoms_k8s(airflow_e2e: E2ESession) -> Iterator[KindEnvironment]:
    with airflow_e2e.kind(
        dags=SCENARIOS / "xcoms" / "dags",
        images=SCENARIOS / "xcoms" / "images",
        namespace="xcoms",
        env={"XCOMS_NAMESPACE": "${namespace}"},
    ) as env:
        yield env


@pytest.fixture(scope="session")
def taskflow_docker(airflow_e2e: E2ESession) -> Iterator[DockerEnvironment]:
    with airflow_e2e.docker(dags=TASKFLOW / "dags", images=TASKFLOW / "images") as env:
        yield env


@pytest.fixture(scope="session")
def taskflow_k8s(airflow_e2e: E2ESession) -> Iterator[KindEnvironment]:
    with airflow_e2e.kind(
        dags=TASKFLOW / "dags", images=TASKFLOW / "images", namespace="taskflow",
        env={"TASKFLOW_NAMESPACE": "${namespace}"},
    ) as env:
        yield env


@pytest.fixture(scope="session")
def schedules_docker(airflow_e2e: E2ESession) -> Iterator[DockerEnvironment]:
    with airflow_e2e.docker(
        dags=SCHEDULES / "dags", images=SCHEDULES / "images", env={"EXPORT_DATA_DIR": "${data_dir}"},
    ) as env:
        yield env
