"""Loading manifests: every error names the file and line; documents remember where they came from."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from airflow_e2e_harness.kubernetes.manifests import Document, ManifestError, load_documents, origin

GOOD = """\
# the API
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: ${NAMESPACE}
---
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: "${NAMESPACE}"}
"""


def write(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load(*paths: Path) -> list:
    return load_documents(paths, {"NAMESPACE": "shop"})


def test_documents_remember_file_and_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)

    docs = load(path)

    assert [(d["kind"], d.path, d.line) for d in docs] == [("Deployment", path, 2), ("Service", path, 9)]
    assert docs[0]["metadata"]["namespace"] == "shop"
    assert origin(docs[1]) == f"{path}:9"
    assert origin({"kind": "Namespace"}) == ""  # made in code


def test_documents_are_still_plain_dicts_to_whoever_serializes_or_copies_them(tmp_path: Path) -> None:
    doc = load(write(tmp_path, GOOD))[0]

    assert json.loads(json.dumps(doc)) == dict(doc)
    clone = copy.deepcopy(doc)
    assert isinstance(clone, Document) and (clone.path, clone.line) == (doc.path, doc.line)


def test_unparsable_yaml_names_path_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {a: [1,\n  b: 2}\n")

    with pytest.raises(ManifestError) as failure:
        load(path)

    message = str(failure.value)
    assert message.startswith(f"{path}:6: expected ',' or ']', but got '}}'")
    assert "(while parsing a flow sequence at line 5)" in message
    assert "<unicode string>" not in message
    assert (failure.value.path, failure.value.line) == (path, 6)


def test_yaml_ending_too_early_names_the_last_line(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: [1,\n")

    with pytest.raises(ManifestError) as failure:
        load(path)

    assert str(failure.value) == \
        f"{path}:5: expected the node content, but found '<stream end>'"


def test_bad_indentation_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   labels: {}\n")

    with pytest.raises(ManifestError, match=rf"^{path}:5: mapping values are not allowed here"):
        load(path)


def test_unprintable_characters_name_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \x07}\n")

    with pytest.raises(ManifestError, match=rf"^{path}:3: "):
        load(path)


@pytest.mark.parametrize(("text", "missing", "line"), [
    ("apiVersion: v1\nmetadata: {name: x}\n", "document has no kind", 1),
    ("---\n# comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n",
     "ConfigMap document has no metadata.name", 3),
    ("kind: ConfigMap\n", "ConfigMap document has no apiVersion, metadata.name", 1),
])
def test_a_document_without_kind_or_name_names_the_file(
    tmp_path: Path, text: str, missing: str, line: int,
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ManifestError) as failure:
        load(path)

    assert str(failure.value) == f"{path}:{line}: {missing}"


def test_a_document_that_is_not_a_mapping_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n- just\n- a list\n")

    with pytest.raises(ManifestError, match=rf"^{path}:5: a document must be a mapping"):
        load(path)


def test_an_unknown_placeholder_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {seed: '${SEED}'}\n")

    with pytest.raises(ManifestError, match=rf"^{path}:4: placeholder \$\{{SEED\}} has no value; known: "):
        load(path)


def test_an_invalid_placeholder_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {price: '$5'}\n")

    with pytest.raises(ManifestError, match=rf"^{path}:4: Invalid placeholder .*write \$\$ for a literal \$"):
        load(path)
