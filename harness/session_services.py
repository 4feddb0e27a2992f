"""What an environment needs of its session, declared: the one interface between them.

:class:`~airflow_e2e_harness.session.E2ESession` provides it; environments
(:mod:`airflow_e2e_harness.environment`) use nothing else of the session
(``tests/unit/test_session_services.py`` checks both), so a reader sees here
what an environment can start, read and change, and a unit test can hand an
environment a small fake.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable

    import docker

    from airflow_e2e_harness.airflow.runner import DagRunner, RunResult
    from airflow_e2e_harness.docker.daemon import DockerDaemon
    from airflow_e2e_harness.docker.images import BuiltImage
    from airflow_e2e_harness.docker.ownership import Ownership
    from airflow_e2e_harness.housekeeping.bundle import FailureBundle
    from airflow_e2e_harness.kubernetes.cluster import Cluster
    from airflow_e2e_harness.kubernetes.existing_cluster import ExistingCluster
    from airflow_e2e_harness.policies.docker_redirect import DockerTarget
    from airflow_e2e_harness.policies.session_policies import SessionPolicies
    from airflow_e2e_harness.provision.kind_assets import KindAssets
    from airflow_e2e_harness.session import Images, KeepOptions, KindOptions
    from airflow_e2e_harness.timing import Timer


class SessionServices(Protocol):
    """The session as an environment sees it."""

    # -- who it is and where it writes: names, labels, folders -------------------------------
    id: str
    root: Path
    scratch: Path
    keep: KeepOptions
    kind_options: KindOptions

    @property
    def short_id(self) -> str: ...
    @property
    def artifacts_dir(self) -> Path: ...
    @property
    def namespace_suffix(self) -> str: ...
    def path(self, value: str | os.PathLike[str]) -> Path: ...

    # -- what the session keeps for all its environments ------------------------------------
    timer: Timer
    bundle: FailureBundle
    ownership: Ownership
    policies: SessionPolicies
    runs: list[RunResult]

    # -- shared resources: started by these calls (idempotent) ------------------------------
    def start_daemon(self) -> DockerDaemon: ...
    def build_images(self, images: Images | None) -> dict[str, BuiltImage]: ...
    def prestart_airflow(self) -> None: ...
    def start_airflow(self) -> DagRunner: ...
    def provision_kind(self) -> KindAssets: ...
    def start_cluster(self, *, ready: bool = True) -> Cluster | ExistingCluster: ...

    # -- ... and read once started ----------------------------------------------------------
    @property
    def docker_client(self) -> docker.DockerClient: ...
    @property
    def kind_assets(self) -> KindAssets: ...
    @property
    def cluster(self) -> Cluster | ExistingCluster: ...
    def docker_target(self, images: Iterable[str], connections: Iterable[str]) -> DockerTarget: ...
