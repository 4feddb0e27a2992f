"""Which images a kind node's containerd holds, compared with a Docker daemon's images.

A load is skipped when every node already holds the image as the daemon has
it now. Docker names an image by a different digest in each of its image
stores: in the classic store the image ID is the config digest; in the
containerd image store (the default of Docker 29 and Docker Desktop) it is
the digest the name points at, a manifest or an index. A node pulls the
pushed image unchanged, so its containerd holds both digests, and either may
match. All tags are answered with a few ``exec`` calls in the node (about
0.1 s each), not a few per image.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_e2e_harness.docker.image_names import full_name

# Runs a command in the node: (exit code, output).
NodeExec = Callable[[list[str]], tuple[int, bytes]]

CTR = ["ctr", "--namespace=k8s.io"]
CONTENT_SCRIPT = (  # one line per digest: "<digest> <document>"
    'for d; do printf "%s " "$d"; ctr --namespace=k8s.io content get "$d" | tr -d "\\n"; echo; done'
)


@dataclass(frozen=True)
class NodeImage:
    target: str  # the digest the name points at: a manifest, or an index of them
    config: str | None  # the config digest of the (first) manifest

    def matches(self, local_id: str) -> bool:
        """Whether a daemon whose image ID is ``local_id`` has this very image (either store)."""
        return local_id in (self.target, self.config)


def node_images(run: NodeExec, tags: Sequence[str]) -> dict[str, NodeImage]:
    """The images the node holds for ``tags``; tags it lacks are left out."""
    code, output = run([*CTR, "images", "ls"])
    if code != 0:
        return {}
    targets: dict[str, str] = {}
    for line in output.decode(errors="replace").splitlines()[1:]:
        fields = line.split()  # REF TYPE DIGEST SIZE PLATFORMS LABELS
        if len(fields) >= 3:
            targets[fields[0]] = fields[2]
    held = {tag: targets[ref] for tag in tags if (ref := full_name(tag)) in targets}
    configs: dict[str, str] = {}
    pending = dict(held)
    for _ in range(3):  # an index points at a manifest, which points at the config
        if not pending:
            break
        docs = content(run, sorted(set(pending.values())))
        following: dict[str, str] = {}
        for tag, digest in pending.items():
            doc = docs.get(digest) or {}
            if isinstance(doc.get("config"), dict):
                configs[tag] = str(doc["config"]["digest"])
            elif doc.get("manifests"):
                following[tag] = str(doc["manifests"][0]["digest"])
        pending = following
    return {tag: NodeImage(target, configs.get(tag)) for tag, target in held.items()}


def content(run: NodeExec, digests: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The JSON documents the node's content store holds for ``digests``, in one exec."""
    _, output = run(["sh", "-c", CONTENT_SCRIPT, "sh", *digests])
    docs: dict[str, dict[str, Any]] = {}
    for line in output.decode(errors="replace").splitlines():
        digest, _, text = line.partition(" ")
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            continue  # not in the store, or not JSON
        if isinstance(doc, dict):
            docs[digest] = doc
    return docs
