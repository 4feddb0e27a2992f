"""What to collect when an e2e test fails, and where it went.

Sources register themselves as they come up (a namespace, the cluster, a
service container); on a failure each writes into its own folder of the
bundle, and a source that breaks leaves a note instead of hiding the others.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from pathlib import Path

import yaml
from kubernetes import client as k8s

from airflow_e2e_harness.kubernetes.pod_log import pod_log

Source = Callable[[Path], None]


class FailureBundle:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.sources: dict[str, Source] = {}

    def add_source(self, name: str, source: Source) -> None:
        self.sources[name] = source

    def collect(self, label: str) -> Path:
        dest = self.root / "bundles" / re.sub(r"[^A-Za-z0-9_.-]+", "_", label)
        dest.mkdir(parents=True, exist_ok=True)
        for name, source in self.sources.items():
            target = dest / name
            target.mkdir(parents=True, exist_ok=True)
            try:
                source(target)
            except Exception:  # noqa: BLE001 - one broken source must not hide the rest
                (target / "COLLECTION-FAILED.txt").write_text(traceback.format_exc())
        return dest


def namespace_source(api_client: k8s.ApiClient, namespace: str) -> Source:
    """Pods (spec and status), every container's log, and the namespace's events."""

    def collect(dest: Path) -> None:
        core = k8s.CoreV1Api(api_client)
        events = sorted(
            core.list_namespaced_event(namespace).items,
            key=lambda e: str(e.last_timestamp or e.event_time or e.metadata.creation_timestamp),
        )
        (dest / "events.txt").write_text("".join(
            f"{e.last_timestamp or e.event_time} {e.type} {e.involved_object.kind}/"
            f"{e.involved_object.name} {e.reason}: {e.message}\n" for e in events
        ))
        for pod in core.list_namespaced_pod(namespace).items:
            name = pod.metadata.name
            (dest / f"pod-{name}.yaml").write_text(yaml.safe_dump(api_client.sanitize_for_serialization(pod)))
            for container in (pod.spec.containers or []):
                try:
                    text = pod_log(core, name, namespace, container.name)
                except k8s.ApiException as err:
                    text = f"(no log: {err.status} {err.reason})"
                (dest / f"pod-{name}-{container.name}.log").write_text(text)

    return collect


def docker_container_source(container: object) -> Source:
    """A service container's output (``docker logs``)."""

    def collect(dest: Path) -> None:
        logs = container.logs()  # type: ignore[attr-defined]
        (dest / "container.log").write_bytes(logs)

    return collect
