"""What the harness knows about a kind cluster it made: its record, its users, its data folder.

kind node containers carry no label of ours, so the record in the harness
cache is what marks a cluster as the harness's own: only recorded clusters
are ever reused or deleted, and a user's cluster of the same name is left
alone. The record is written before ``kind create`` starts, so a session
killed half-way through a create still leaves something ``cleanup`` finds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.housekeeping.leases import Leases

KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"  # kind's own label on node containers


def clusters_dir() -> Path:
    return cache_dir() / "kind"


class ClusterState:
    """The folder ``<cache>/kind/<name>``: ``cluster.json``, ``leases/`` and ``data/`` (the nodes' /data).

    :param name: the kind cluster name.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.dir = clusters_dir() / name
        self.leases = Leases(self.dir / "leases", lock=self.dir / ".lock")

    @property
    def record_path(self) -> Path:
        return self.dir / "cluster.json"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    def recorded(self) -> bool:
        return self.record_path.is_file()

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.record_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, **fields: Any) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.record_path.write_text(json.dumps(self.read() | fields, indent=2))

    def forget(self) -> None:
        """Drop the record and the data; call under the lock (which stays: a session may wait on it)."""
        self.record_path.unlink(missing_ok=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def remove_if_idle(self) -> bool:
        """Remove the whole folder when nobody holds or waits for its lock and nothing is recorded,
        so one folder per session's cluster does not pile up in the cache."""
        with self.leases.locked(wait=False) as held:
            if not held or self.recorded() or self.leases.prune():
                return False
            shutil.rmtree(self.dir, ignore_errors=True)
            return True

    @classmethod
    def folders(cls) -> list[ClusterState]:
        root = clusters_dir()
        return [cls(p.name) for p in sorted(root.iterdir()) if p.is_dir()] if root.is_dir() else []

    @classmethod
    def all(cls) -> list[ClusterState]:
        root = clusters_dir()
        return [cls(p.parent.name) for p in sorted(root.glob("*/cluster.json"))] if root.is_dir() else []
