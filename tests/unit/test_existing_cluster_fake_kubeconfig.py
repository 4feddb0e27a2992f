"""An existing cluster's pieces without a cluster: the harness's own kubeconfig (from a fake one
of the user's), pushed names, and the rewriting of pods and manifests to them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from airflow_e2e_harness.kubernetes.existing_cluster import (
    ClusterUnreachable,
    minified_kubeconfig,
    registry_reference,
)
from airflow_e2e_harness.kubernetes.local_registry import RegistryError
from airflow_e2e_harness.policies.image_rewrite import ImageRewrite, rewrite_manifest_images

USERS_KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "prod",
    "contexts": [
        {"name": "prod", "context": {"cluster": "prod", "user": "admin"}},
        {"name": "ci", "context": {"cluster": "ci", "user": "robot"}},
    ],
    "clusters": [
        {"name": "prod", "cluster": {"server": "https://prod.example:6443"}},
        {"name": "ci", "cluster": {"server": "https://ci.example:6443",
                                   "certificate-authority": "certs/ca.crt"}},
    ],
    "users": [
        {"name": "admin", "user": {"token": "prod-secret"}},
        {"name": "robot", "user": {"client-certificate": "/abs/robot.crt", "client-key": "robot.key"}},
    ],
}


def test_only_the_chosen_context_is_written_with_absolute_paths(tmp_path: Path) -> None:
    source = tmp_path / "home" / "config"
    source.parent.mkdir()
    source.write_text(yaml.safe_dump(USERS_KUBECONFIG))
    dest = tmp_path / "run" / "kubeconfig"
    assert minified_kubeconfig(source, "ci", dest) == ("ci", "https://ci.example:6443")
    written = yaml.safe_load(dest.read_text())
    assert written["current-context"] == "ci"
    assert [c["name"] for c in written["clusters"]] == ["ci"]
    assert written["clusters"][0]["cluster"]["certificate-authority"] == str(source.parent / "certs/ca.crt")
    assert written["users"] == [{"name": "robot", "user": {
        "client-certificate": "/abs/robot.crt", "client-key": str(source.parent / "robot.key")}}]
    assert "prod-secret" not in dest.read_text()
    assert dest.stat().st_mode & 0o077 == 0
    assert yaml.safe_load(source.read_text()) == USERS_KUBECONFIG  # the user's file is left as it was


def test_the_current_context_is_the_default_and_an_unknown_one_is_named(tmp_path: Path) -> None:
    source = tmp_path / "config"
    source.write_text(yaml.safe_dump(USERS_KUBECONFIG))
    assert minified_kubeconfig(source, None, tmp_path / "k")[0] == "prod"
    with pytest.raises(ClusterUnreachable, match=r"no context 'staging'.*\['ci', 'prod'\]"):
        minified_kubeconfig(source, "staging", tmp_path / "k")


def test_pushed_names() -> None:
    assert registry_reference("localhost:5001", "etl:1.0") == "localhost:5001/etl:1.0"
    assert registry_reference("registry.example/e2e/", "team/etl:1.0") == "registry.example/e2e/team/etl:1.0"
    with pytest.raises(RegistryError):
        registry_reference("localhost:5001", "ghcr.io/team/etl:1.0")


def _pod(image: str, policy: str) -> k8s.V1Pod:
    return k8s.V1Pod(spec=k8s.V1PodSpec(
        containers=[k8s.V1Container(name="base", image=image, image_pull_policy=policy),
                    k8s.V1Container(name="other", image="busybox:1.36", image_pull_policy="Never")],
    ))


def test_pods_get_the_pushed_image_and_a_pull_policy_that_can_pull() -> None:
    rewrite = ImageRewrite()
    refs = {"docker.io/library/etl:1.0": "localhost:5001/etl:1.0"}
    pod = _pod("etl:1.0", "Never")
    with rewrite.target(refs):
        rewrite.pod_mutation_hook(pod)
    assert (pod.spec.containers[0].image, pod.spec.containers[0].image_pull_policy) == (
        "localhost:5001/etl:1.0", "IfNotPresent")
    other = pod.spec.containers[1]
    assert (other.image, other.image_pull_policy) == ("busybox:1.36", "Never")
    untouched = _pod("etl:1.0", "Never")
    rewrite.pod_mutation_hook(untouched)  # outside a run: no mapping
    assert untouched.spec.containers[0].image == "etl:1.0"


def test_manifest_workloads_get_the_pushed_image() -> None:
    docs = [
        {"kind": "Deployment", "metadata": {"name": "api"}, "spec": {"template": {"spec": {
            "containers": [{"name": "api", "image": "api:e2e", "imagePullPolicy": "Never"}]}}}},
        {"kind": "CronJob", "metadata": {"name": "nightly"}, "spec": {"jobTemplate": {"spec": {"template": {
            "spec": {"initContainers": [{"name": "init", "image": "api:e2e"}], "containers": []}}}}}},
        {"kind": "Service", "metadata": {"name": "api"}, "spec": {"ports": [{"port": 80}]}},
    ]
    done = rewrite_manifest_images(docs, {"docker.io/library/api:e2e": "reg:5000/api:e2e"})
    assert len(done) == 2
    container = docs[0]["spec"]["template"]["spec"]["containers"][0]
    assert container == {"name": "api", "image": "reg:5000/api:e2e", "imagePullPolicy": "IfNotPresent"}
    init = docs[1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"][0]
    assert init["image"] == "reg:5000/api:e2e"
