"""Namespaces a session makes on a cluster it did not create, written down for the sweep after kill -9.

On an existing cluster the session's namespaces are its only footprint, and
the session removes them when it stops. A killed session cannot, so before it
applies them it writes down, in its scratch folder, which namespaces and
which kubeconfig (its own minified copy, in the same folder). The sweep
(``cleanup``, or any later session's start) deletes each one that still
carries the dead session's label, and nothing else: a namespace of the same
name that someone made since has no such label.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow_e2e_harness.docker.containers import SESSION_LABEL

RECORD = "foreign-namespaces.json"
SWEEP_TIMEOUT = 5.0  # seconds per API call; an unreachable cluster must not hold up a session's start


def label_namespaces(documents: list[dict[str, Any]], session_id: str) -> None:
    """Mark the Namespace documents as this session's (what the sweep checks before deleting)."""
    for doc in documents:
        if doc.get("kind") == "Namespace":
            doc.setdefault("metadata", {}).setdefault("labels", {})[SESSION_LABEL] = session_id


def remember(scratch: Path, session_id: str, kubeconfig: Path, namespaces: list[str]) -> None:
    """Add ``namespaces`` (on the cluster of ``kubeconfig``) to the scratch folder's record."""
    path = Path(scratch) / RECORD
    entries = _read(path)
    entries.append({"session": session_id, "kubeconfig": str(kubeconfig), "namespaces": list(namespaces)})
    path.write_text(json.dumps(entries, indent=2))


def sweep(scratch: Path) -> tuple[list[str], list[str]]:
    """Delete the namespaces a dead session's scratch folder records: (removed, left), a line each."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException

    removed: list[str] = []
    left: list[str] = []
    for entry in _read(Path(scratch) / RECORD):
        session, kubeconfig = entry.get("session", ""), entry.get("kubeconfig", "")
        try:
            api = k8s_config.new_client_from_config(config_file=kubeconfig)
        except Exception as err:  # noqa: BLE001 - a missing or broken kubeconfig: say so, go on
            left += [f"namespace {ns} of dead session {session} not removed: its kubeconfig {kubeconfig} "
                      f"cannot be read ({err}); delete it yourself" for ns in entry.get("namespaces", [])]
            continue
        with api:
            core = k8s.CoreV1Api(api)
            for name in entry.get("namespaces", []):
                try:
                    found = core.read_namespace(name, _request_timeout=SWEEP_TIMEOUT)
                    labels = found.metadata.labels or {}
                    if labels.get(SESSION_LABEL) != session:
                        continue  # gone and made again by someone else: not ours
                    core.delete_namespace(name, _request_timeout=SWEEP_TIMEOUT)
                    removed.append(f"namespace {name} of dead session {session} on {api.configuration.host}")
                except ApiException as err:
                    if err.status != 404:
                        left.append(f"namespace {name} of dead session {session} not removed: {err.reason}")
                except Exception as err:  # noqa: BLE001 - unreachable: report, never hang the sweep
                    left.append(f"namespace {name} of dead session {session} not removed: "
                                 f"{api.configuration.host} did not answer ({type(err).__name__}); "
                                 f"delete it yourself")
    return removed, left


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return entries if isinstance(entries, list) else []
