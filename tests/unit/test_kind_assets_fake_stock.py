"""The stock-node path builds nothing it does not use: no apt, no Go compile (fake client and PATH)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_e2e_harness.provision import k8s_images, kind_assets
from airflow_e2e_harness.provision.kind_assets import STOCK_NODE_IMAGE, provision_kind
from airflow_e2e_harness.timing import Timer


class FakeImages:
    def get(self, tag: str) -> object:
        if tag == STOCK_NODE_IMAGE:
            return object()
        import docker.errors

        raise docker.errors.ImageNotFound(tag)


class FakeClient:
    images = FakeImages()


class FakeDaemon:
    client = FakeClient()


def forbidden(what: str):  # type: ignore[no-untyped-def]
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the stock path must not {what}")

    return fail


def test_stock_node_runs_no_apt_and_compiles_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kind = tmp_path / "kind"
    kind.write_text("#!/bin/sh\n")
    kind.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no kubectl (nor kind) on PATH
    monkeypatch.delenv("HARNESS_KIND_IMAGE", raising=False)
    monkeypatch.delenv("HARNESS_KUBECTL_BIN", raising=False)
    monkeypatch.setattr(kind_assets, "registry_resolves", lambda host=None: True)  # a registry answers
    monkeypatch.setattr(kind_assets, "start_kubernetes_build", forbidden("compile Kubernetes"))
    monkeypatch.setattr(kind_assets, "go_steps", forbidden("run Go builds"))
    monkeypatch.setattr(kind_assets, "image_steps", forbidden("build images"))
    monkeypatch.setattr(k8s_images, "run_logged", forbidden("run apt-get"))

    assets = provision_kind(FakeDaemon(), Timer(), None, kind_bin=str(kind))  # type: ignore[arg-type]

    assert assets.node_image == STOCK_NODE_IMAGE
    assert assets.node_source == "stock"
    assert assets.kind == kind.resolve()
    assert assets.kubectl is None
    assert assets.sidecar_image is None  # the provider's default sidecar, pulled by the node
