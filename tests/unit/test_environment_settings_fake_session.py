"""What a DAG sees during a run: connections, variables, env with placeholders (fake session, no daemon)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_e2e_harness.environment import DockerEnvironment, Service
from airflow_e2e_harness.session import E2ESession


class FakeSession:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.artifacts_dir = root / "artifacts"

    def path(self, value: str | os.PathLike[str]) -> Path:
        return E2ESession.path(self, value)  # type: ignore[arg-type]


def make(tmp_path: Path, **kwargs: object) -> DockerEnvironment:
    (tmp_path / "dags").mkdir(exist_ok=True)
    settings = {name: kwargs.pop(name, None) for name in ("connections", "variables", "env")}
    return DockerEnvironment(FakeSession(tmp_path), dags=tmp_path / "dags", images=None,  # type: ignore[arg-type]
                             **settings, **kwargs)  # type: ignore[arg-type]


def test_run_sees_connections_variables_and_filled_in_env(tmp_path: Path) -> None:
    env = make(tmp_path, connections={"my_api": "http://u:p@api:8080"}, variables={"region": "eu"},
               env={"DATA": "${data_dir}/in", "LITERAL": "cost: $5 ${unknown}"})
    values = env.run_environment()
    assert values["AIRFLOW_CONN_MY_API"] == "http://u:p@api:8080"
    assert values["AIRFLOW_VAR_REGION"] == "eu"
    assert values["DATA"] == f"{tmp_path}/artifacts/data/docker/in"
    assert values["LITERAL"] == "cost: $5 ${unknown}"  # what is not a placeholder stays as written
    assert values["KUBERNETES_SERVICE_HOST"] is None  # in-cluster configuration is never found


def test_each_docker_environment_gets_its_own_data_folder(tmp_path: Path) -> None:
    first, second = make(tmp_path), make(tmp_path)
    assert first.data_dir != second.data_dir
    assert first.data_dir.is_dir() and second.data_dir.is_dir()


def test_services_without_a_network_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="network"):
        make(tmp_path, services=[Service("api:1", name="api")])


def test_a_missing_dags_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        DockerEnvironment(FakeSession(tmp_path), dags=tmp_path / "nope", images=None,  # type: ignore[arg-type]
                          connections=None, variables=None, env=None)
