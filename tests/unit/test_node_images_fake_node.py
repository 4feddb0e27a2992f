"""Node image checks against a fake node (a dict standing in for its containerd), for both of
Docker's image stores: the classic one (image ID = config digest) and the containerd image
store (image ID = the manifest or index digest), which no daemon here can run (Debian
bookworm's Docker 20.10 predates it)."""

from __future__ import annotations

import json
from typing import Any

from airflow_e2e_harness.kubernetes.node_images import NodeImage, node_images

CONFIG = "sha256:" + "c" * 64
MANIFEST = "sha256:" + "m" * 64
INDEX = "sha256:" + "i" * 64
OTHER = "sha256:" + "o" * 64


class FakeNode:
    """Answers the two commands node_images runs, from ``images`` (ref -> target digest) and
    ``store`` (digest -> JSON document); counts the execs."""

    def __init__(self, images: dict[str, str], store: dict[str, dict[str, Any]]) -> None:
        self.images = images
        self.store = store
        self.calls: list[list[str]] = []

    def run(self, command: list[str]) -> tuple[int, bytes]:
        self.calls.append(command)
        if command[-2:] == ["images", "ls"]:
            rows = ["REF TYPE DIGEST SIZE PLATFORMS LABELS"]
            rows += [f"{ref} application/vnd.oci.image.manifest.v1+json {digest} 1.0 MiB linux/amd64 -"
                     for ref, digest in self.images.items()]
            return 0, "\n".join(rows).encode()
        assert command[:2] == ["sh", "-c"], command
        lines = [f"{d} {json.dumps(self.store[d])}" if d in self.store else f"{d} " for d in command[4:]]
        return 0, ("\n".join(lines) + "\n").encode()


def manifest(config: str) -> dict[str, Any]:
    return {"schemaVersion": 2, "config": {"digest": config, "size": 1}, "layers": []}


def test_classic_store_matches_on_the_config_digest() -> None:
    node = FakeNode({"docker.io/library/etl:1.0": MANIFEST}, {MANIFEST: manifest(CONFIG)})
    held = node_images(node.run, ["etl:1.0"])
    assert held == {"etl:1.0": NodeImage(MANIFEST, CONFIG)}
    assert held["etl:1.0"].matches(CONFIG)
    assert not held["etl:1.0"].matches(OTHER)  # rebuilt locally: a new config digest


def test_containerd_store_matches_on_the_index_digest() -> None:
    index = {"schemaVersion": 2, "manifests": [{"digest": MANIFEST, "platform": {"os": "linux"}}]}
    node = FakeNode({"docker.io/team/etl:1.0": INDEX}, {INDEX: index, MANIFEST: manifest(CONFIG)})
    held = node_images(node.run, ["team/etl:1.0"])["team/etl:1.0"]
    assert held == NodeImage(INDEX, CONFIG)
    assert held.matches(INDEX)  # what `docker image inspect` calls the ID in that store
    assert not held.matches(OTHER)


def test_missing_tags_and_missing_content_are_left_out_or_unmatched() -> None:
    node = FakeNode({"docker.io/library/etl:1.0": MANIFEST}, {})  # listed, but no content
    held = node_images(node.run, ["etl:1.0", "absent:1.0"])
    assert held == {"etl:1.0": NodeImage(MANIFEST, None)}
    assert not held["etl:1.0"].matches(CONFIG)


def test_all_tags_are_answered_in_a_fixed_number_of_execs() -> None:
    tags = [f"img{n}:1.0" for n in range(6)]
    images = {f"docker.io/library/{tag}": f"sha256:{n:064d}" for n, tag in enumerate(tags)}
    store = {digest: manifest(f"sha256:{n + 100:064d}") for n, digest in enumerate(images.values())}
    node = FakeNode(images, store)
    held = node_images(node.run, tags)
    assert [held[tag].config for tag in tags] == [f"sha256:{n + 100:064d}" for n in range(6)]
    assert len(node.calls) == 2  # the listing, then one content read for all six


def test_a_failing_listing_means_nothing_is_held() -> None:
    assert node_images(lambda command: (1, b"ctr: not found"), ["etl:1.0"]) == {}
