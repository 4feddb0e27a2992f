"""Remove what dead sessions left: ``python -m airflow_e2e_harness cleanup``, and every new session.

Only what the harness made is considered, and only when no live session uses
it: containers (task containers included) and networks labelled with a dead
session's id; kind clusters recorded in
the harness cache with no live lease (the user's own clusters have no record);
the ``kind`` network when the harness created it and nothing is attached; the
scratch folders (Airflow homes, kubeconfigs) of dead sessions, and the
namespaces they record on clusters the harness does not own; and the
harness's own daemon when nobody holds a lease on it. Kept clusters and a
kept daemon stay unless asked for (``--kept``).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from airflow_e2e_harness.docker.containers import remove_session_leftovers
from airflow_e2e_harness.docker.daemon import DockerDaemon, stop_process
from airflow_e2e_harness.housekeeping.leases import file_lock
from airflow_e2e_harness.housekeeping.session_records import (
    SessionRecord,
    live_and_dead,
    records_dir,
    scratch_owner,
)
from airflow_e2e_harness.kubernetes.cluster import remove_unused_kind_network
from airflow_e2e_harness.kubernetes.cluster_state import KIND_CLUSTER_LABEL, ClusterState
from airflow_e2e_harness.kubernetes.foreign_namespaces import sweep as sweep_foreign_namespaces

SCRATCH_PREFIX = "airflow-e2e-"


@dataclass
class SweepReport:
    """What a sweep removed (one line per item), and what it left for a reason."""

    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"removed: {item}" for item in self.removed] + [f"left: {item}" for item in self.left]
        return "\n".join(lines) if lines else "nothing to clean up"


class Sweeper:
    """One sweep over the daemons it is given.

    :param clients: Docker daemons to look at, by URL (a session's own; ``cleanup``: every one
        that answers). A dead session's cluster on a daemon not among them is left for later.
    :param include_kept: also remove kept clusters and a kept harness daemon.
    :param stop_daemon: stop the harness daemon when no session holds a lease on it.
    """

    def __init__(
        self, clients: dict[str, docker.DockerClient], *, include_kept: bool = False,
        stop_daemon: bool = False,
    ) -> None:
        self.clients = clients
        self.include_kept = include_kept
        self.stop_daemon = stop_daemon
        self.report = SweepReport()

    def sweep(self) -> SweepReport:
        # One sweep at a time: two new sessions starting together must not race on the same leftovers.
        with file_lock(records_dir() / ".sweep.lock"):
            live, dead = live_and_dead()
            for record in dead:
                self._dead_session(record)
            self._clusters()
            self._scratch_dirs(live)
            if self.stop_daemon:
                self._daemon()
        return self.report

    def _dead_session(self, record: SessionRecord) -> None:
        for client in self.clients.values():
            count = remove_session_leftovers(client, record.id)
            if count:
                self.report.removed.append(f"{count} container(s)/network(s) of dead session {record.id}")
        if record.scratch and Path(record.scratch).exists():
            self._remove_scratch(Path(record.scratch))
        record.remove()

    def _remove_scratch(self, path: Path) -> None:
        """A dead session's scratch folder, after the namespaces it made on clusters it does not own."""
        removed, left = sweep_foreign_namespaces(path)
        self.report.removed.extend(removed)
        self.report.left.extend(left)
        shutil.rmtree(path, ignore_errors=True)
        self.report.removed.append(f"scratch folder (Airflow home) {path}")

    def _clusters(self) -> None:
        for state in ClusterState.all():
            with state.leases.locked():
                if state.leases.prune():
                    continue
                record = state.read()
                if record.get("kept") and not self.include_kept:
                    self.report.left.append(f"kept cluster {state.name} (cleanup --kept removes it)")
                    continue
                host = record.get("docker_host")
                if host:
                    clients = [self.clients[host]] if host in self.clients else []
                else:  # recorded without its daemon: look everywhere
                    clients = list(self.clients.values())
                if not clients:
                    self.report.left.append(f"cluster {state.name}: its daemon {host} is not reachable now")
                    continue
                nodes = self._remove_nodes(state.name, clients)
                if record.get("kind_network_created"):
                    for client in clients:
                        if remove_unused_kind_network(client):
                            self.report.removed.append("the kind network")
                state.forget()
                self.report.removed.append(f"kind cluster {state.name} ({nodes} node(s)) and its data folder")
        for state in ClusterState.folders():
            state.remove_if_idle()

    def _remove_nodes(self, name: str, clients: list[docker.DockerClient]) -> int:
        """What ``kind delete cluster`` does for a cluster whose kubeconfig is private: remove its nodes."""
        count = 0
        for client in clients:
            for node in client.containers.list(all=True, filters={"label": f"{KIND_CLUSTER_LABEL}={name}"}):
                try:
                    node.remove(force=True, v=True)
                    count += 1
                except docker.errors.NotFound:
                    pass
        return count

    def _scratch_dirs(self, live: list[SessionRecord]) -> None:
        """Scratch folders whose owner process is gone (sessions with another cache dir, too)."""
        in_use = {Path(r.scratch) for r in live if r.scratch}
        for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
            if path in in_use or not path.is_dir():
                continue
            owner = scratch_owner(path)
            if owner is not None and not owner.alive():
                self._remove_scratch(path)

    def _daemon(self) -> None:
        daemon = DockerDaemon(allow_start=False, use_existing=False)
        with daemon.leases.locked():
            if daemon.leases.prune():
                return
            if daemon.keep_marker.exists() and not self.include_kept:
                self.report.left.append(f"kept harness daemon at {daemon.own_url} (cleanup --kept stops it)")
                return
            if stop_process(daemon.pidfile):
                daemon.keep_marker.unlink(missing_ok=True)
                self.report.removed.append(f"the harness daemon at {daemon.own_url}")
