"""Content hashing decides whether a task image is rebuilt (no daemon needed)."""

from __future__ import annotations

from pathlib import Path

from airflow_e2e_harness.docker.images import TaskImages, context_hash, declares_base_arg


def make_context(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "Dockerfile").write_text("ARG PYTHON_BASE=python:3.12-slim\nFROM ${PYTHON_BASE}\n")
    (root / "src" / "app.py").write_text("print('hi')\n")
    return root


def test_hash_is_stable_and_ignores_bytecode(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "img")
    first = context_hash(ctx, {})
    (ctx / "src" / "__pycache__").mkdir()
    (ctx / "src" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0junk")
    assert context_hash(ctx, {}) == first


def test_hash_changes_with_content_name_and_build_args(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "img")
    base = context_hash(ctx, {})
    assert context_hash(ctx, {"PYTHON_BASE": "local:1"}) != base
    (ctx / "src" / "app.py").write_text("print('bye')\n")
    changed = context_hash(ctx, {})
    assert changed != base
    (ctx / "src" / "app.py").rename(ctx / "src" / "main.py")
    assert context_hash(ctx, {}) != changed


def test_base_arg_detection(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "img")
    assert declares_base_arg(ctx / "Dockerfile")
    (ctx / "Dockerfile").write_text("FROM debian:bookworm\n# ARG PYTHON_BASE is not declared\n")
    assert not declares_base_arg(ctx / "Dockerfile")


def test_discover_maps_each_image_folder_to_a_tag(tmp_path: Path) -> None:
    make_context(tmp_path / "images" / "alpha")
    make_context(tmp_path / "images" / "beta")
    (tmp_path / "images" / "notes").mkdir()  # no Dockerfile: not an image
    assert TaskImages.discover(tmp_path / "images") == {
        "alpha:e2e": tmp_path / "images" / "alpha",
        "beta:e2e": tmp_path / "images" / "beta",
    }
