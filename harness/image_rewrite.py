"""Pods on an existing cluster run the task images the session pushed, under the DAG's own names.

A DAG says ``image="etl:1.0"``; a cluster the harness did not create can
only pull it from a registry, as ``registry.example:5000/etl:1.0``. Airflow's
supported way to change every pod KubernetesPodOperator (and its family)
creates is ``pod_mutation_hook``, a cluster policy like the others: while a
run lasts, each container (init containers too) whose image is one the
session pushed gets the pushed reference, and ``imagePullPolicy: Never``
(right for images loaded into kind nodes) becomes ``IfNotPresent``. Images
the session did not build stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from airflow_e2e_harness.policies import PolicyPlugin, hookimpl
from airflow_e2e_harness.registry import containerd_reference


class ImageRewrite(PolicyPlugin):
    """The policy plugin; :meth:`target` sets ``{DAG image name: pushed reference}`` for a run."""

    plugin_name = "airflow-e2e-harness-image-rewrite"

    def __init__(self) -> None:
        self.refs: dict[str, str] = {}
        self.rewritten: list[tuple[str, str]] = []

    @contextmanager
    def target(self, refs: Mapping[str, str]) -> Iterator[None]:
        saved, self.refs = self.refs, dict(refs)
        try:
            yield
        finally:
            self.refs = saved

    @hookimpl
    def pod_mutation_hook(self, pod: Any) -> None:
        spec = getattr(pod, "spec", None)
        if not self.refs or spec is None:
            return
        for container in [*(spec.containers or []), *(spec.init_containers or [])]:
            ref = self.refs.get(containerd_reference(container.image or ""))
            if ref is None:
                continue
            self.rewritten.append((container.image, ref))
            container.image = ref
            if container.image_pull_policy == "Never":
                container.image_pull_policy = "IfNotPresent"


def rewrite_manifest_images(documents: list[dict[str, Any]], refs: Mapping[str, str]) -> list[str]:
    """The same for the environment's manifests (Deployments, Jobs, Pods, ...): containers whose
    image the session pushed get the pushed reference; returns what was rewritten."""
    done = []
    for doc in documents:
        where = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        for pod_spec in _pod_specs(doc):
            for container in [*(pod_spec.get("containers") or []), *(pod_spec.get("initContainers") or [])]:
                ref = refs.get(containerd_reference(str(container.get("image", ""))))
                if ref is None:
                    continue
                done.append(f"{where}: {container['image']} -> {ref}")
                container["image"] = ref
                if container.get("imagePullPolicy") == "Never":
                    container["imagePullPolicy"] = "IfNotPresent"
    return done


def _pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod specs in a workload document: a Pod's own, a template's, a CronJob's job template's."""
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Pod":
        return [spec]
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = (spec.get("template") or {}).get("spec")
    return [template] if isinstance(template, dict) else []
