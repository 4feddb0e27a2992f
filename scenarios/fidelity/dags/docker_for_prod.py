"""DockerOperator tasks as production DAGs write them.

Each names a daemon of its own (the provider's default socket, a proxy, a list of hosts with TLS),
a registry login, ``:latest``, an untagged and a registry-qualified image, ``force_pull``, and
retries with a long delay. Under the harness all of them must run on the session's daemon, on the
images built from the checkout, and the flaky task must reach its third try in seconds.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow import DAG  # Airflow 2.11 and 3.x alike
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.providers.docker.operators.docker_swarm import DockerSwarmOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(dag_id="docker_written_for_prod", schedule=None, start_date=START, catchup=False,
         tags=["fidelity", "docker"]):
    DockerOperator(
        task_id="default_socket",
        image="fidelity-probe:latest",
        docker_url="unix://var/run/docker.sock",  # as Airflow's own example_docker.py
        force_pull=True,
        command="marker",
    )
    DockerOperator(
        task_id="proxy_and_login",
        image="fidelity-probe",
        docker_url="tcp://docker-proxy:2375",
        docker_conn_id="prod_registry",
        command="marker",
    )
    DockerOperator(
        task_id="tls_hosts",
        image="registry.example.com/team/probe",
        docker_url=["tcp://docker-a.prod:2376", "tcp://docker-b.prod:2376"],
        tls_ca_cert="/etc/docker/prod/ca.pem",
        tls_client_cert="/etc/docker/prod/cert.pem",
        tls_client_key="/etc/docker/prod/key.pem",
        command="marker",
    )
    DockerOperator.partial(  # mapped: each instance is redirected, checked and labelled as it starts
        task_id="mapped",
        image="fidelity-probe",
        docker_url="unix://var/run/docker.sock",
    ).expand(command=["marker", "marker"])
    DockerOperator(
        task_id="flaky",
        image="fidelity-probe:latest",
        command="flaky {{ ti.try_number }} 3",
        retries=3,
        retry_delay=timedelta(minutes=5),
    )

with DAG(dag_id="docker_swarm_for_prod", schedule=None, start_date=START, catchup=False,
         tags=["fidelity", "docker"]):
    DockerSwarmOperator(
        task_id="swarm_service",
        image="fidelity-probe:latest",
        docker_url="tcp://swarm-manager.prod:2375",
        command="marker",
    )

with DAG(dag_id="docker_timeout_for_prod", schedule=None, start_date=START, catchup=False,
         tags=["fidelity", "docker"]):
    DockerOperator(
        task_id="hangs",
        image="fidelity-probe:latest",
        command="hang",
        execution_timeout=timedelta(seconds=5),
    )
