"""Pods and manifests run the images built here: IfNotPresent for them, nothing else changed."""

from __future__ import annotations

from kubernetes.client import models as k8s

from airflow_e2e_harness.policies.image_rewrite import ImageRewrite, pin_manifest_images


def pod(*containers: tuple[str, str | None]) -> k8s.V1Pod:
    return k8s.V1Pod(spec=k8s.V1PodSpec(containers=[
        k8s.V1Container(name=f"c{i}", image=image, image_pull_policy=policy)
        for i, (image, policy) in enumerate(containers)
    ]))


def test_loaded_images_of_any_spelling_are_not_pulled() -> None:
    hook = ImageRewrite()
    p = pod(("etl", None), ("docker.io/library/etl:latest", "Always"), ("etl:latest", "Never"),
            ("quay.io/apache/bash", None), ("ghcr.io/other/image:1", "Always"))

    with hook.target({}, loaded=["etl:latest", "quay.io/apache/bash:latest"]):
        hook.pod_mutation_hook(p)

    assert [c.image_pull_policy for c in p.spec.containers] == [
        "IfNotPresent", "IfNotPresent", "Never", "IfNotPresent", "Always"]
    assert p.spec.containers[0].image == "etl"  # the name stays the DAG's
    assert hook.pinned == [("etl", None), ("docker.io/library/etl:latest", "Always"),
                           ("quay.io/apache/bash", None)]


def test_outside_a_run_nothing_changes() -> None:
    hook, p = ImageRewrite(), pod(("etl", None))
    hook.pod_mutation_hook(p)
    assert p.spec.containers[0].image_pull_policy is None


def test_manifest_workloads_are_pinned_too() -> None:
    deployment = {"kind": "Deployment", "metadata": {"name": "api"}, "spec": {"template": {"spec": {
        "containers": [{"name": "api", "image": "api"}, {"name": "proxy", "image": "envoy:1"}],
        "initContainers": [{"name": "init", "image": "api:latest", "imagePullPolicy": "Always"}],
    }}}}

    done = pin_manifest_images([deployment], ["api:latest"])

    spec = deployment["spec"]["template"]["spec"]
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "imagePullPolicy" not in spec["containers"][1]
    assert spec["initContainers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert done == ["Deployment/api: api pull policy default -> IfNotPresent",
                    "Deployment/api: api:latest pull policy Always -> IfNotPresent"]
