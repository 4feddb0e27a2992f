"""A kubernetes client bound to one kubeconfig file, for both kinds of cluster the harness uses."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client as k8s
from kubernetes import config as k8s_config


class KubeconfigApi:
    """``api``, ``core`` and ``apps`` from ``self.kubeconfig`` only: never ``KUBECONFIG`` or
    ``~/.kube/config``."""

    kubeconfig: Path
    _api: k8s.ApiClient | None = None

    @property
    def api(self) -> k8s.ApiClient:
        if self._api is None:
            self._api = k8s_config.new_client_from_config(config_file=str(self.kubeconfig))
        return self._api

    @property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api)

    @property
    def apps(self) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self.api)

    def close_api(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
