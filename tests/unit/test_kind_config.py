"""The kind config the cluster is created from: the default, or a user's with the /data mount added."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airflow_e2e_harness.kubernetes.cluster import render_kind_config
from airflow_e2e_harness.provision.steps import ProvisionError


def render(tmp_path: Path, config: str | None) -> dict:
    source = None
    if config is not None:
        source = tmp_path / "kind.yaml"
        source.write_text(config)
    data = tmp_path / "data"
    return yaml.safe_load(render_kind_config(source, data, tmp_path / "out.yaml").read_text())


def test_default_is_one_control_plane_with_the_data_mount(tmp_path: Path) -> None:
    doc = render(tmp_path, None)
    assert [n["role"] for n in doc["nodes"]] == ["control-plane"]
    assert doc["nodes"][0]["extraMounts"] == [{"hostPath": str(tmp_path / "data"), "containerPath": "/data"}]


def test_users_multi_node_config_gets_the_mount_on_every_node_and_keeps_its_own(tmp_path: Path) -> None:
    doc = render(tmp_path, """
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    extraMounts: [{hostPath: /srv/certs, containerPath: /certs}]
  - role: worker
  - role: worker
""")
    assert [n["role"] for n in doc["nodes"]] == ["control-plane", "worker", "worker"]
    for node in doc["nodes"]:
        assert {"hostPath": str(tmp_path / "data"), "containerPath": "/data"} in node["extraMounts"]
    assert {"hostPath": "/srv/certs", "containerPath": "/certs"} in doc["nodes"][0]["extraMounts"]


def test_placeholder_mount_of_the_repo_config_is_filled_in(tmp_path: Path) -> None:
    repo_config = Path(__file__).resolve().parents[2] / "kind-config.yaml"
    doc = yaml.safe_load(render_kind_config(repo_config, tmp_path / "d", tmp_path / "o.yaml").read_text())
    assert doc["nodes"][0]["extraMounts"] == [{"hostPath": str(tmp_path / "d"), "containerPath": "/data"}]


def test_not_a_kind_config_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="not a kind cluster config"):
        render(tmp_path, "apiVersion: v1\nkind: Pod\n")
