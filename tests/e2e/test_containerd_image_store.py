"""A user's session on a Docker Engine with the containerd image store (Docker 29's and Docker
Desktop's default): the node image is built there, the kind cluster runs there, task images
reach the node through the registry, and a second load finds them unchanged.

``kind load docker-image`` fails outright under that store (kubernetes-sigs/kind#3795), and
the store names images by their manifest digest, where the classic store uses the config
digest; both are what this test is about. The engine is made here (tests/e2e/containerd_store.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import docker
import pytest

from airflow_e2e_harness.docker.containers import SESSION_LABEL
from airflow_e2e_harness.session import E2ESession
from tests.e2e.conftest import OUTER_CACHE
from tests.e2e.containerd_store import STORE_DRIVER, ContainerdStoreEngine, hand_over
from tests.e2e.expected import DAYS, MOVIELENS_CONN, SEED, day_ratings

pytestmark = [pytest.mark.e2e, pytest.mark.kind]

REPO = Path(__file__).resolve().parents[2]
MOVIELENS = REPO / "scenarios" / "movielens"

INNER_TEST = '''
import json
from pathlib import Path

MOVIELENS = Path({movielens!r})


def test_dag_runs_on_the_containerd_store(airflow_e2e):
    driver = dict(airflow_e2e.start_daemon().client.info()["DriverStatus"])
    with airflow_e2e.kind(
        dags=MOVIELENS / "dags", images=MOVIELENS / "images",
        manifests=MOVIELENS / "manifests" / "*.yaml", namespace="movielens",
        manifest_vars={{"MOVIELENS_SEED": "{seed}"}}, connections={{"movielens": "{conn}"}},
        env={{"MOVIELENS_NAMESPACE": "${{namespace}}"}},
    ) as env:
        result = env.run("movielens_k8s", "{day}")
        tags = sorted(env.images)
        again = airflow_e2e.cluster.load_images(tags)
        ratings = json.loads((env.data_dir / "ratings" / "{day}.json").read_text())
    loads = {{p.name.removeprefix("load "): p.note for p in airflow_e2e.timer.phases
             if p.name.startswith("load ")}}
    ids = {{tag: airflow_e2e.docker_client.images.get(tag).id for tag in tags}}
    print("RESULT " + json.dumps({{
        "driver": driver, "states": result.states, "ratings": ratings, "loads": loads,
        "loaded_again": again, "ids": ids,
    }}))
'''


def test_a_users_session_on_a_containerd_image_store_engine(
    airflow_e2e: E2ESession, tmp_path: Path,
) -> None:
    day = DAYS[0]
    outer = airflow_e2e.start_daemon().client
    # Task images are built here: their pip installs need PyPI, which this machine's containers
    # reach only from Docker's own bridge with NAT; the test engine keeps the host's iptables alone.
    tags = sorted(airflow_e2e.build_images(MOVIELENS / "images"))
    base = airflow_e2e.resolve_python_base()
    timer = airflow_e2e.timer
    with ExitStack() as stack:
        with timer.phase("containerd-store engine start"):
            name = f"e2ecs{os.getpid() % 100000}"
            engine = stack.enter_context(ContainerdStoreEngine(
                outer, name, tmp_path, labels={SESSION_LABEL: airflow_e2e.id}))
        with timer.phase("hand the images over") as phase:
            hand_over(outer, docker.DockerClient(base_url=engine.url), ([base] if base else []) + tags)
            phase.note = ", ".join(([base] if base else []) + tags)
        (tmp_path / "test_inner.py").write_text(INNER_TEST.format(
            movielens=str(MOVIELENS), seed=SEED, conn=MOVIELENS_CONN, day=day.isoformat()))
        with timer.phase("the user's session on the engine"):
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider",
                 str(tmp_path / "test_inner.py"), f"--artifacts-dir={tmp_path / 'artifacts'}"],
                cwd=tmp_path, capture_output=True, text=True, timeout=1200,
                env=dict(os.environ, DOCKER_HOST=engine.url, HARNESS_CACHE_DIR=str(OUTER_CACHE)),
            )
    output = proc.stdout + proc.stderr
    log = tmp_path / "inner-session.log"
    log.write_text(output)
    where = f"(all of it: {log}; its artifacts: {tmp_path / 'artifacts'})"
    assert proc.returncode == 0, f"{output[-6000:]}\n{where}"
    assert f"using the user's daemon (DOCKER_HOST) at {engine.url}" in output
    found = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])

    assert found["driver"].get(STORE_DRIVER[0]) == STORE_DRIVER[1], found["driver"]
    assert found["states"] == {"fetch_ratings": "success", "rank_movies": "success"}
    assert found["ratings"] == day_ratings(day)
    # Every task image went through the registry (kind load cannot read this store) ...
    assert {tag: found["loads"].get(tag) for tag in tags} == dict.fromkeys(tags, "via registry")
    # ... and the node then holds each as this daemon names it: a second load sends nothing.
    assert found["loaded_again"] == []
    # The store's own naming: the same images have other IDs there than in the classic store of the
    # harness's daemon (manifest digests, not config digests), and the node matched them all the same.
    assert all(found["ids"][tag] != outer.images.get(tag).id for tag in tags), found["ids"]
