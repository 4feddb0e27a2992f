"""Pods on an existing cluster run the task images the session pushed, under the DAG's own names.

A DAG says ``image="etl:1.0"``; a cluster the harness did not create can
only pull it from a registry, as ``registry.example:5000/etl:1.0``. Airflow's
supported way to change every pod KubernetesPodOperator (and its family)
creates is ``pod_mutation_hook``, a cluster policy like the others: while a
run lasts, each container (init containers too) whose image is one the
session pushed gets the pushed reference, and ``imagePullPolicy: Never``
(right for images loaded into kind nodes) becomes ``IfNotPresent``. Images
the session did not build stay as they are.

On kind the images are loaded into the nodes under the DAG's own names, and the same hook makes
sure that is what runs: an image named ``:latest`` or without a tag gets Kubernetes' default pull
policy ``Always``, so a pod pulled the published image over the one built from the checkout (or,
offline, failed to start although the node held it). Containers whose image the environment
built get ``IfNotPresent`` unless they say ``Never``; the manifests' workloads too
(:func:`pin_manifest_images`). Other images keep their policy and are pulled as in production.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from airflow_e2e_harness.docker.image_names import full_name
from airflow_e2e_harness.policies.base import PolicyPlugin, hookimpl

PINNED = "IfNotPresent"


class ImageRewrite(PolicyPlugin):
    """The policy plugin; :meth:`target` sets ``{DAG image name: pushed reference}`` (an existing
    cluster) and the images loaded into the nodes (kind) for a run."""

    plugin_name = "airflow-e2e-harness-image-rewrite"

    def __init__(self) -> None:
        self.refs: dict[str, str] = {}
        self.loaded: frozenset[str] = frozenset()
        self.rewritten: list[tuple[str, str]] = []
        self.pinned: list[tuple[str, str | None]] = []  # (image, the pull policy it had)

    @contextmanager
    def target(self, refs: Mapping[str, str], loaded: Iterable[str] = ()) -> Iterator[None]:
        """``refs``: pushed references by DAG image name; ``loaded``: images the nodes hold as built."""
        saved = self.refs, self.loaded
        self.refs, self.loaded = dict(refs), frozenset(full_name(i) for i in loaded)
        try:
            yield
        finally:
            self.refs, self.loaded = saved

    @hookimpl
    def pod_mutation_hook(self, pod: Any) -> None:
        spec = getattr(pod, "spec", None)
        if not (self.refs or self.loaded) or spec is None:
            return
        for container in [*(spec.containers or []), *(spec.init_containers or [])]:
            policy = container.image_pull_policy
            if full_name(container.image or "") in self.loaded and policy != "Never":
                if policy != PINNED:
                    self.pinned.append((container.image, container.image_pull_policy))
                    container.image_pull_policy = PINNED
                continue
            ref = self.refs.get(full_name(container.image or ""))
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
                ref = refs.get(full_name(str(container.get("image", ""))))
                if ref is None:
                    continue
                done.append(f"{where}: {container['image']} -> {ref}")
                container["image"] = ref
                if container.get("imagePullPolicy") == "Never":
                    container["imagePullPolicy"] = "IfNotPresent"
    return done


def pin_manifest_images(documents: list[dict[str, Any]], loaded: Iterable[str]) -> list[str]:
    """Containers of the manifests' workloads whose image the nodes hold as built run that image:
    ``IfNotPresent`` where the pull policy was missing or ``Always``; returns what changed."""
    names = frozenset(full_name(i) for i in loaded)
    done = []
    for doc in documents:
        where = f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        for pod_spec in _pod_specs(doc):
            for container in [*(pod_spec.get("containers") or []), *(pod_spec.get("initContainers") or [])]:
                image, policy = str(container.get("image", "")), container.get("imagePullPolicy")
                if full_name(image) in names and policy not in (PINNED, "Never"):
                    container["imagePullPolicy"] = PINNED
                    done.append(f"{where}: {image} pull policy {policy or 'default'} -> {PINNED}")
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
