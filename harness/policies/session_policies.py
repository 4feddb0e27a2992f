"""The cluster policies one session registers with Airflow, as one object.

Environments point them at their targets (``policies.kubernetes.target(...)``)
while a DAG runs; the session installs them as it starts and removes them as it
stops. Their order is the order Airflow calls them in.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_e2e_harness.airflow.interrupts import InterruptPolicy
from airflow_e2e_harness.policies.base import PolicyPlugin
from airflow_e2e_harness.policies.docker_redirect import STOP_GRACE, DockerRedirect
from airflow_e2e_harness.policies.image_check import DockerImageCheck
from airflow_e2e_harness.policies.image_rewrite import ImageRewrite
from airflow_e2e_harness.policies.k8s_redirect import KubernetesRedirect
from airflow_e2e_harness.policies.k8s_waits import KubernetesWaits
from airflow_e2e_harness.policies.namespace_map import NamespaceMap
from airflow_e2e_harness.policies.retries import FastRetries


@dataclass(frozen=True)
class SessionPolicies:
    """What a session changes in tasks: where they run, which images, how long they wait."""

    kubernetes: KubernetesRedirect
    image_check: DockerImageCheck
    interrupts: InterruptPolicy
    k8s_waits: KubernetesWaits
    namespace_map: NamespaceMap
    image_rewrite: ImageRewrite
    docker: DockerRedirect
    retries: FastRetries

    @classmethod
    def for_session(cls, labels: dict[str, str], *, fast_waits: bool, fast_retries: bool) -> SessionPolicies:
        """The policies of one session.

        :param labels: what the image check's probe containers are labelled with (the session's).
        :param fast_waits: shorten KubernetesPodOperator's waits and Docker's stop grace.
        :param fast_retries: retry failed tasks at once.
        """
        return cls(
            kubernetes=KubernetesRedirect(),
            image_check=DockerImageCheck(labels=labels),
            interrupts=InterruptPolicy(),
            k8s_waits=KubernetesWaits(enabled=fast_waits),
            namespace_map=NamespaceMap(),
            image_rewrite=ImageRewrite(),
            docker=DockerRedirect(stop_grace=STOP_GRACE if fast_waits else None),
            retries=FastRetries(enabled=fast_retries),
        )

    def in_order(self) -> tuple[PolicyPlugin, ...]:
        """Airflow calls them in this order; the Docker redirect comes after the image check, so
        that its pre-execute step runs first."""
        return (self.kubernetes, self.image_check, self.interrupts, self.k8s_waits, self.namespace_map,
                self.image_rewrite, self.docker, self.retries)

    def install(self) -> None:
        for policy in self.in_order():
            policy.install()

    def uninstall(self) -> None:
        for policy in reversed(self.in_order()):
            policy.uninstall()
