"""DAGs written for production run on the harness's daemon and cluster, on the images built from
the checkout, retry at once, and say why their pods ended (scenarios/fidelity).

Only the image built here knows the token this module writes into its build context, so a task
that prints it ran that build; which digest a pod ran is read from the node's containerd and the
daemon, not from the harness.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from airflow_e2e_harness.docker.image_names import full_name
from airflow_e2e_harness.docker.images import ImageBuildError
from airflow_e2e_harness.environment import DockerEnvironment, KindEnvironment
from airflow_e2e_harness.session import E2ESession
from tests.e2e.expected import SCENARIOS

pytestmark = [pytest.mark.e2e]

FIDELITY = SCENARIOS / "fidelity"
# The names the DAGs use: a Docker Hub short name (with and without :latest) and a registry's.
IMAGES = ("fidelity-probe:latest", "registry.example.com/team/probe")
MARKER_TASKS = {"default_socket": "fidelity-probe:latest", "proxy_and_login": "fidelity-probe",
                "tls_hosts": "registry.example.com/team/probe"}
POD_TASKS = {"latest": "fidelity-probe:latest", "untagged": "fidelity-probe",
             "registry_qualified": "registry.example.com/team/probe"}


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory, testrun_uid: str) -> tuple[Path, str]:
    """The probe's build context with a token of this test run's own as its marker.

    pytest-xdist workers share one daemon and the DAGs' tag (fidelity-probe:latest): every worker
    writes the same token (pytest-xdist's id of the run), so they build one image and none retags
    another's.
    """
    token = f"fidelity-{testrun_uid}"
    context = tmp_path_factory.mktemp("fidelity") / "probe"
    shutil.copytree(FIDELITY / "images" / "probe", context)
    (context / "marker").write_text(token + "\n")
    return context, token


@pytest.fixture(scope="module")
def fidelity_docker(airflow_e2e: E2ESession, probe: tuple[Path, str]) -> Iterator[DockerEnvironment]:
    with airflow_e2e.docker(dags=FIDELITY / "dags", images=dict.fromkeys(IMAGES, probe[0])) as env:
        yield env


@pytest.fixture(scope="module")
def fidelity_k8s(airflow_e2e: E2ESession, probe: tuple[Path, str]) -> Iterator[KindEnvironment]:
    with airflow_e2e.kind(dags=FIDELITY / "dags", images=dict.fromkeys(IMAGES, probe[0]),
                          namespace="fidelity", env={"FIDELITY_NAMESPACE": "${namespace}"}) as env:
        yield env


@pytest.mark.docker
def test_docker_tasks_run_here_whatever_the_dag_says(fidelity_docker, probe, airflow_e2e) -> None:
    _, token = probe
    run = fidelity_docker.run("docker_written_for_prod", "2026-01-05")

    assert run.ok, run.describe()
    for task in [*MARKER_TASKS, "mapped[0]", "mapped[1]"]:
        assert run.xcoms[task] == token, run.tasks[task].log_tail()
    said = run.redirected
    assert "docker_url='unix://var/run/docker.sock'" in said["default_socket"]
    assert "force_pull=True" in said["default_socket"]
    assert "docker_url='tcp://docker-proxy:2375'" in said["proxy_and_login"]
    assert "docker_conn_id='prod_registry'" in said["proxy_and_login"]
    assert "tcp://docker-a.prod:2376" in said["tls_hosts"] and "TLS (" in said["tls_hosts"]
    assert all(airflow_e2e.daemon.url in how for how in said.values()), said
    # Every container ran the build with the token, on the session's daemon.
    built = {airflow_e2e.docker_client.images.get(name).id for name in IMAGES}
    containers = airflow_e2e.docker_client.containers.list(
        all=True, filters={"label": f"io.airflow-e2e-harness.session={airflow_e2e.id}"})
    ran = [c.attrs["Image"] for c in containers if c.attrs["Config"]["Cmd"] == ["marker"]]
    assert len(ran) >= len(MARKER_TASKS) + 2 and set(ran) <= built, (ran, built)  # mapped ones labelled too


@pytest.mark.docker
def test_a_task_that_fails_twice_retries_at_once(fidelity_docker) -> None:
    run = fidelity_docker.run("docker_written_for_prod", "2026-01-06")

    flaky = run.tasks["flaky"]
    assert flaky.state == "success" and flaky.try_number == 3, run.describe()
    assert "try 3; succeeds from try 3" in flaky.log
    assert run.retried_at_once() == {"flaky": "retries=3, retry_delay=300s"}
    print(f"docker_written_for_prod with a task retried twice: {run.seconds:.1f}s (retry_delay 5 min)")


@pytest.mark.docker
def test_swarm_task_refused_when_the_daemon_is_no_manager(fidelity_docker) -> None:
    run = fidelity_docker.run("docker_swarm_for_prod", "2026-01-05")

    task = run.tasks["swarm_service"]
    assert task.state == "failed" and task.try_number == 1
    assert "SwarmUnavailable" in task.log and "is not a swarm manager" in task.log


@pytest.mark.kind
def test_docker_task_in_a_kind_environment_fails_at_once(fidelity_k8s) -> None:
    run = fidelity_k8s.run("docker_written_for_prod", "2026-01-05")

    assert not run.ok
    for task in MARKER_TASKS:
        assert run.tasks[task].state == "failed"
        assert "NoDaemonError" in run.tasks[task].log and "airflow_e2e.docker(" in run.tasks[task].log


@pytest.mark.kind
def test_pods_run_the_images_built_here(fidelity_k8s, probe, airflow_e2e) -> None:
    _, token = probe
    run = fidelity_k8s.run("k8s_written_for_prod", "2026-01-05")

    assert run.ok, run.describe()
    assert run.tasks["flaky"].try_number == 3
    assert run.retried_at_once() == {"flaky": "retries=3, retry_delay=300s"}
    core = k8s.CoreV1Api(airflow_e2e.cluster.api)
    nodes = {node.name: node for node in airflow_e2e.cluster.nodes()}  # a node container is named as its node
    for task, image in POD_TASKS.items():
        assert token in run.tasks[task].log, run.tasks[task].log_tail()
        pods = core.list_namespaced_pod(fidelity_k8s.namespace, label_selector=f"task_id={task}").items
        pod = max(pods, key=lambda p: p.metadata.creation_timestamp)  # a kept cluster has earlier runs'
        status = pod.status.container_statuses[0]
        built = fidelity_k8s.images[next(i for i in IMAGES if full_name(i) == full_name(image))].image_id
        assert config_digest(nodes[pod.spec.node_name], status.image_id) == built, task
        assert pod.spec.containers[0].image_pull_policy == "IfNotPresent"


def config_digest(node, image_id: str) -> str:
    """The config digest (Docker's image ID) of what a pod ran, read with ctr in the node: the
    pod's ``imageID`` names a manifest, whose config is the image."""
    manifest = image_id.rsplit("@", 1)[-1]
    code, output = node.exec_run(["ctr", "--namespace=k8s.io", "content", "get", manifest])
    assert code == 0, output
    document = json.loads(output)
    if "manifests" in document:  # an index: its (only) platform's manifest
        code, output = node.exec_run(["ctr", "--namespace=k8s.io", "content", "get",
                                      document["manifests"][0]["digest"]])
        document = json.loads(output)
    return str(document["config"]["digest"])


@pytest.mark.kind
def test_why_a_pod_ended_is_in_the_findings(fidelity_k8s) -> None:
    run = fidelity_k8s.run("k8s_pod_ends", "2026-01-05")

    assert run.states == dict.fromkeys(("exits_3", "over_memory", "rejected_spec"), "failed")
    text = "\n".join(run.findings)
    # The kubelet says OOMKilled, or on a cgroup v1 host under load sometimes just Error with 137.
    assert "over_memory (try 1): pod" in text, text
    unreported = "exited 137 (Error): killed (SIGKILL) under a memory limit of 64Mi: probably OOMKilled"
    assert "was OOMKilled (exit 137; memory limit 64Mi)" in text or unreported in text, text
    assert "exits_3 (try 1): pod" in text and "exited 3 (Error)" in text, text
    assert "\n    cannot open input /data/in/ratings.csv" in text and "b'" not in text, text
    assert "rejected_spec: the API server rejected its pod (422" in text
    assert "must be less than or equal to memory limit" in text
    assert "OOMKilled" in run.describe()


@pytest.mark.docker
def test_a_dockerfile_that_fails_names_its_file_and_line(airflow_e2e, tmp_path) -> None:
    context = tmp_path / "broken"
    context.mkdir()
    dockerfile = ["ARG PYTHON_BASE=python:3.12-slim", "FROM ${PYTHON_BASE}", "RUN echo preparing",
                  "RUN python3 -c 'import sys; sys.exit(\"missing build input\")'", "CMD [\"true\"]"]
    (context / "Dockerfile").write_text("\n".join(dockerfile) + "\n")

    with pytest.raises(ImageBuildError) as caught:
        airflow_e2e.build_images({"fidelity-broken:1": context})

    failing = 1 + next(i for i, line in enumerate(dockerfile) if "missing build input" in line)
    head = f"{context / 'Dockerfile'}:{failing}: building fidelity-broken:1 failed"
    assert str(caught.value).startswith(head), str(caught.value)
    assert "missing build input" in str(caught.value)
    assert (caught.value.dockerfile, caught.value.line) == (context / "Dockerfile", failing)


@pytest.mark.docker
def test_a_timed_out_task_stops_its_container(fidelity_docker, airflow_e2e) -> None:
    run = fidelity_docker.run("docker_timeout_for_prod", "2026-01-05")

    task = run.tasks["hangs"]
    assert task.state == "failed" and "AirflowTaskTimeout" in task.log, task.log_tail()
    containers = airflow_e2e.docker_client.containers.list(
        all=True, filters={"label": f"io.airflow-e2e-harness.session={airflow_e2e.id}"})
    hung = [c for c in containers if c.attrs["Config"]["Cmd"] == ["hang"]]
    assert hung and all(c.status == "exited" for c in hung), [(c.name, c.status) for c in hung]
    # SIGTERM is ignored by the probe (PID 1): SIGKILL ended it. How soon (1 s, not Docker's 10 s) is
    # measured by bench.fidelity; the unit test shows the short stop comes before the operator's own.
    assert all(c.attrs["State"]["ExitCode"] == 137 for c in hung)
    print(f"execution_timeout=5s: the run took {run.seconds:.1f}s")
