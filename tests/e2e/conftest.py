"""Scenario wiring for the bundled e2e tests: what a user's own conftest would hold."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow_e2e_harness.airflow_home import AirflowHome
from airflow_e2e_harness.config import cache_dir

from tests.e2e.expected import MOVIELENS, MOVIELENS_CONN, SCENARIOS, SEED

# Read before pytester moves HOME (and with it ~/.cache) to a temp dir.
OUTER_CACHE = cache_dir()


@pytest.fixture
def inner_pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A nested pytest run that shares this session's harness cache.

    Without it the inner run sees an empty cache under pytester's HOME and
    rebuilds every base image and Go binary from scratch.
    """
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(OUTER_CACHE))
    return pytester


@dataclass
class MovieLensDocker:
    dags: Path
    data_dir: Path


@pytest.fixture(scope="session")
def movielens_images(task_images):
    return task_images(MOVIELENS)


@pytest.fixture(scope="session")
def xcom_images(task_images):
    return task_images(SCENARIOS / "xcoms")


@pytest.fixture(scope="session")
def movielens_docker(
    movielens_images, docker_network, service_container, airflow_home: AirflowHome,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MovieLensDocker]:
    """The API on a user-defined network, a host data folder, the connection, as in production."""
    network = docker_network("movielens")
    service_container(
        "movielens-api:e2e", name="movielens-api", network=network.name, aliases=["movielens"],
        environment={"MOVIELENS_SEED": str(SEED)}, ready_log=r"serving \d+ ratings",
    )
    data_dir = tmp_path_factory.mktemp("movielens-docker-data")
    airflow_home.set_connection("movielens", MOVIELENS_CONN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOVIELENS_DATA_DIR", str(data_dir))
        mp.setenv("MOVIELENS_NETWORK", network.name)
        yield MovieLensDocker(dags=MOVIELENS / "dags", data_dir=data_dir)


@dataclass
class MovieLensK8s:
    dags: Path
    namespace: str
    data_dir: Path  # the host folder behind the PersistentVolume


@pytest.fixture(scope="session")
def movielens_k8s(
    movielens_images, cluster, cluster_images, kubernetes_connection, scenario_manifests,
    airflow_home: AirflowHome,
) -> Iterator[MovieLensK8s]:
    """Images in the node, namespace + PV/PVC + API Deployment/Service, the connections."""
    cluster_images(movielens_images)
    namespace = "movielens"
    data_dir = cluster.data_dir / namespace
    shutil.rmtree(data_dir, ignore_errors=True)  # a kept cluster's old outputs must not pass for new ones
    scenario_manifests(
        (MOVIELENS / "manifests").glob("*.yaml"), NAMESPACE=namespace, MOVIELENS_SEED=str(SEED),
    )
    airflow_home.set_connection("movielens", MOVIELENS_CONN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOVIELENS_NAMESPACE", namespace)
        yield MovieLensK8s(MOVIELENS / "dags", namespace, data_dir)


@pytest.fixture(scope="session")
def xcoms_k8s(
    xcom_images, cluster_images, kubernetes_connection, scenario_manifests,
) -> Iterator[str]:
    cluster_images(xcom_images)
    namespace = "xcoms"
    scenario_manifests((SCENARIOS / "xcoms" / "manifests").glob("*.yaml"), NAMESPACE=namespace)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XCOMS_NAMESPACE", namespace)
        yield namespace
