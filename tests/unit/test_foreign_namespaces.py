"""What a session writes down about namespaces on a cluster it does not own, and what the sweep says
when it cannot reach them (no cluster here; tests/e2e/test_existing_cluster.py kills a real session)."""

from __future__ import annotations

import json
from pathlib import Path

from airflow_e2e_harness.docker.containers import SESSION_LABEL
from airflow_e2e_harness.kubernetes.foreign_namespaces import RECORD, label_namespaces, remember, sweep


def test_namespace_documents_carry_the_session_label_and_nothing_else_does() -> None:
    documents = [
        {"kind": "Namespace", "metadata": {"name": "etl-42", "labels": {"team": "data"}}},
        {"kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "etl-42"}},
    ]
    label_namespaces(documents, "20261130-010203-42")
    assert documents[0]["metadata"]["labels"] == {"team": "data", SESSION_LABEL: "20261130-010203-42"}
    assert "labels" not in documents[1]["metadata"]


def test_each_environment_adds_its_namespaces_to_the_record(tmp_path: Path) -> None:
    remember(tmp_path, "s1", tmp_path / "cluster" / "kubeconfig", ["etl-42"])
    remember(tmp_path, "s1", tmp_path / "cluster" / "kubeconfig", ["movielens-42"])
    entries = json.loads((tmp_path / RECORD).read_text())
    assert [e["namespaces"] for e in entries] == [["etl-42"], ["movielens-42"]]
    assert {e["session"] for e in entries} == {"s1"}


def test_an_unreadable_kubeconfig_is_reported_as_left_not_removed(tmp_path: Path) -> None:
    remember(tmp_path, "s1", tmp_path / "gone" / "kubeconfig", ["etl-42"])
    removed, left = sweep(tmp_path)
    assert removed == []
    assert len(left) == 1 and "namespace etl-42 of dead session s1 not removed" in left[0], left
    assert "delete it yourself" in left[0]


def test_a_folder_without_a_record_sweeps_nothing(tmp_path: Path) -> None:
    assert sweep(tmp_path) == ([], [])


def test_a_cluster_that_does_not_answer_is_reported_as_left(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
    }))
    remember(tmp_path, "s1", kubeconfig, ["etl-42"])
    removed, left = sweep(tmp_path)
    assert removed == []
    assert len(left) == 1 and f"127.0.0.1:{port} did not answer" in left[0], left
