"""The Docker redirect on real DockerOperator objects (no daemon: nothing is executed)."""

from __future__ import annotations

import pytest
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.providers.docker.operators.docker_swarm import DockerSwarmOperator

from airflow_e2e_harness.policies.docker_redirect import (
    DockerRedirect,
    DockerTarget,
    NoDaemonError,
    SwarmUnavailable,
    built_names,
    point_at,
)

HERE = "unix:///tmp/harness/docker.sock"


def target(*, built: tuple[str, ...] = ("etl:latest",), connections: tuple[str, ...] = (),
           manager: bool = False) -> DockerTarget:
    return DockerTarget(HERE, "harness Docker daemon", built=built_names(built),
                        connections=frozenset(connections), swarm_manager=lambda: manager)


def production_task(**kwargs: object) -> DockerOperator:
    values: dict[str, object] = dict(
        task_id="extract", image="etl", docker_url="tcp://docker-proxy:2375", force_pull=True,
        docker_conn_id="prod_registry", tls_ca_cert="/etc/prod/ca.pem", tls_client_cert="/etc/prod/cert.pem",
        tls_client_key="/etc/prod/key.pem",
    )
    values.update(kwargs)
    return DockerOperator(**values)  # type: ignore[arg-type]


def test_a_production_task_points_at_the_session_daemon_with_the_image_built_here() -> None:
    task = production_task()
    vars(task)["hook"] = object()  # a hook cached while the DAG was parsed

    changes = point_at(task, target())

    assert task.docker_url == HERE
    assert (task.tls_ca_cert, task.tls_client_cert, task.tls_client_key) == (None, None, None)
    assert task.force_pull is False and task.docker_conn_id is None
    assert "hook" not in vars(task)
    assert changes[0] == "docker_url='tcp://docker-proxy:2375'"
    assert any(c.startswith("TLS (tls_ca_cert, tls_client_cert, tls_client_key)") for c in changes)
    assert any("docker_conn_id='prod_registry'" in c and "built here" in c for c in changes)
    assert any(c.startswith("force_pull=True") for c in changes)


def test_an_image_not_built_here_keeps_its_pull_and_a_defined_login() -> None:
    task = production_task(image="ghcr.io/team/other:2")

    changes = point_at(task, target(connections=("prod_registry",)))

    assert task.force_pull is True and task.docker_conn_id == "prod_registry"
    assert changes == ["docker_url='tcp://docker-proxy:2375'",
                       "TLS (tls_ca_cert, tls_client_cert, tls_client_key)"]


def test_a_login_whose_connection_is_not_defined_is_dropped() -> None:
    task = production_task(image="ghcr.io/team/other:2")

    point_at(task, target())

    assert task.docker_conn_id is None


def test_a_list_of_hosts_becomes_the_one_daemon() -> None:
    task = production_task(docker_url=["tcp://a:2376", "tcp://b:2376"])

    changes = point_at(task, target())

    assert task.docker_url == HERE and changes[0] == "docker_url=['tcp://a:2376', 'tcp://b:2376']"


def test_a_task_already_on_the_daemon_is_not_reported() -> None:
    task = DockerOperator(task_id="t", image="etl:latest", docker_url=HERE)

    assert point_at(task, target()) == []


def test_without_a_daemon_the_task_is_refused_naming_what_to_use() -> None:
    policy = DockerRedirect()
    with policy.target(None), pytest.raises(NoDaemonError, match=r"airflow_e2e\.docker\("):
        policy.redirect(production_task())


def test_a_swarm_task_is_refused_unless_the_daemon_manages_a_swarm() -> None:
    policy = DockerRedirect()
    swarm = DockerSwarmOperator(task_id="svc", image="etl", docker_url="tcp://manager:2375")
    with policy.target(target(manager=False)), pytest.raises(SwarmUnavailable, match="docker swarm init"):
        policy.redirect(swarm)
    with policy.target(target(manager=True)):
        policy.redirect(swarm)
    assert swarm.docker_url == HERE


class FakeApiClient:
    """Records the stop calls a DockerOperator's ``cli`` receives (no daemon)."""

    def __init__(self) -> None:
        self.stops: list[tuple[str, int | None]] = []

    def stop(self, container: str, timeout: int | None = None) -> None:
        self.stops.append((container, timeout))


def test_a_container_stopped_early_gets_a_short_grace_then_the_operators_own_stop() -> None:
    task = production_task()
    fake = FakeApiClient()
    policy = DockerRedirect(stop_grace=1.0)
    with policy.target(target()):
        policy.redirect(task)
    vars(task)["hook"] = type("FakeHook", (), {"api_client": fake, "client_created": True})()
    task.container = {"Id": "c0ffee"}

    task.on_kill()

    assert fake.stops == [("c0ffee", 1), ("c0ffee", None)]  # ours, then DockerOperator.on_kill's own


def test_stock_waits_keep_dockers_grace() -> None:
    task = production_task()
    policy = DockerRedirect(stop_grace=None)
    with policy.target(target()):
        policy.redirect(task)
    assert "on_kill" not in vars(task)
