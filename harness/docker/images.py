"""TaskImages: build a scenario's task images, skipping unchanged ones.

The build context's content hash (plus build arguments) is stored as an image
label; an image whose label matches is not rebuilt. Dockerfiles stay stock:
``ARG PYTHON_BASE=python:3.12-slim`` / ``FROM ${PYTHON_BASE}`` builds from
the stock base where a registry answers, and from the harness's local Debian
base (passed as that build argument) where none does.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.docker.registry_access import have_or_pull
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.housekeeping.leases import exclusive
from airflow_e2e_harness.provision.base_image import PythonBaseImage
from airflow_e2e_harness.provision.steps import run_steps
from airflow_e2e_harness.timing import Timer, default_timer

HASH_LABEL = "io.airflow-e2e-harness.context-hash"
BASE_ARG = "PYTHON_BASE"
STOCK_PYTHON_BASE = "python:3.12-slim"
IGNORED = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


class ImageBuildError(HarnessError, RuntimeError):
    """A task image failed to build; carries the build log's tail and its path.

    :param dockerfile: the Dockerfile, with ``line`` the instruction that failed (when known).
    """

    def __init__(self, message: str, *, dockerfile: Path | None = None, line: int | None = None,
                 log_path: Path | None = None) -> None:
        super().__init__(message)
        self.dockerfile, self.line, self.log_path = dockerfile, line, log_path


STEP = re.compile(r"^Step (?P<number>\d+)/\d+ : (?P<instruction>.+)$")


def failed_instruction(dockerfile: Path, log_lines: list[str]) -> tuple[int | None, str]:
    """The Dockerfile line of the last step the build log started (``Step N/M``: the Nth
    instruction), and that instruction."""
    steps = [(int(m["number"]), m["instruction"].strip()) for text in log_lines for line in text.splitlines()
             if (m := STEP.match(line.strip()))]
    if not steps:
        return None, ""
    number, instruction = steps[-1]
    try:
        starts = instruction_lines(dockerfile.read_text())
    except OSError:
        return None, instruction
    return (starts[number - 1] if 0 < number <= len(starts) else None), instruction


def instruction_lines(source: str) -> list[int]:
    """The line each instruction starts on: comments, blank lines and continuations are not one."""
    starts, continued = [], False
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        if not continued and text and not text.startswith("#"):
            starts.append(number)
        if text and not text.startswith("#"):
            continued = text.endswith("\\")
    return starts


def _files(context: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(context):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED and not d.endswith(".egg-info"))
        for name in sorted(files):
            if not name.endswith(".pyc"):
                yield Path(root) / name


def context_hash(context: Path, buildargs: Mapping[str, str]) -> str:
    """Hash of every file's path and content, plus the build arguments."""
    digest = hashlib.sha256()
    for path in _files(context):
        digest.update(str(path.relative_to(context)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for key in sorted(buildargs):
        digest.update(f"{key}={buildargs[key]}\0".encode())
    return digest.hexdigest()


def declares_base_arg(dockerfile: Path) -> bool:
    return re.search(rf"^\s*ARG\s+{BASE_ARG}\b", dockerfile.read_text(), re.MULTILINE) is not None


def resolve_python_base(
    client: docker.DockerClient, timer: Timer | None = None, mode: str = "auto",
) -> str | None:
    """The base to pass as PYTHON_BASE, or None to build from the Dockerfile's own default.

    ``mode`` (``HARNESS_BASE_IMAGES``): auto (stock if a registry answers), stock, local.
    """
    timer = timer or default_timer()
    if mode == "stock" or (mode == "auto" and have_or_pull(client, STOCK_PYTHON_BASE)):
        timer.log(f"base images: stock ({STOCK_PYTHON_BASE} as the Dockerfiles say)")
        return None
    step = PythonBaseImage(client)
    run_steps([step], timer)
    timer.log(f"base images: local {step.tag} (no registry answers; HARNESS_BASE_IMAGES={mode})")
    return step.tag


@dataclass
class BuiltImage:
    tag: str
    image_id: str
    built: bool  # False when skipped as unchanged
    seconds: float


class TaskImages:
    """Builds ``{tag: build context}`` with the docker SDK."""

    def __init__(
        self,
        client: docker.DockerClient,
        images: Mapping[str, Path],
        *,
        python_base: str | None = None,
        log_dir: Path | None = None,
        timer: Timer | None = None,
    ) -> None:
        self.client = client
        self.images = dict(images)
        self.python_base = python_base
        self.log_dir = log_dir
        self.timer = timer or default_timer()
        for tag, context in self.images.items():
            if not (Path(context) / "Dockerfile").is_file():
                raise ImageBuildError(
                    f"{Path(context) / 'Dockerfile'}: no such file (image {tag}). Each image needs a "
                    "build context folder with a Dockerfile."
                )

    @classmethod
    def discover(cls, images_dir: Path, tag: str = "e2e") -> dict[str, Path]:
        """Each ``<images_dir>/<name>/Dockerfile`` becomes image ``<name>:<tag>``."""
        return {
            f"{d.name}:{tag}": d
            for d in sorted(images_dir.iterdir())
            if (d / "Dockerfile").is_file()
        } if images_dir.is_dir() else {}

    def _buildargs(self, context: Path) -> dict[str, str]:
        if self.python_base and declares_base_arg(context / "Dockerfile"):
            return {BASE_ARG: self.python_base}
        return {}

    def build_all(self) -> dict[str, BuiltImage]:
        return {tag: self.build(tag) for tag in self.images}

    def build(self, tag: str) -> BuiltImage:
        """Build ``tag`` unless unchanged. Sessions side by side (pytest-xdist workers, two
        terminals) build an image once: the others wait for it, then find it unchanged."""
        lock = cache_dir() / "locks" / f"build-{hashlib.sha256(tag.encode()).hexdigest()[:16]}.lock"
        with exclusive(lock, lambda: self.timer.log(f"image {tag}: another session is building it; waiting")):
            return self._build_or_skip(tag)

    def _build_or_skip(self, tag: str) -> BuiltImage:
        context = Path(self.images[tag])
        buildargs = self._buildargs(context)
        wanted = context_hash(context, buildargs)
        try:
            current = self.client.images.get(tag)
            if current.labels.get(HASH_LABEL) == wanted:
                self.timer.log(f"image {tag}: unchanged, build skipped")
                self.timer.record(f"build {tag}", 0.0, "unchanged")
                return BuiltImage(tag, current.id, False, 0.0)
        except docker.errors.ImageNotFound:
            pass
        with self.timer.phase(f"build {tag}") as phase:
            image = self._build(tag, context, buildargs, wanted)
            phase.note = "built"
        return BuiltImage(tag, image.id, True, phase.seconds)

    def _build(self, tag: str, context: Path, buildargs: dict[str, str], wanted: str):
        try:
            image, logs = self.client.images.build(
                path=str(context), tag=tag, buildargs=buildargs, labels={HASH_LABEL: wanted},
                rm=True, forcerm=True,
            )
        except docker.errors.BuildError as err:
            lines = [chunk.get("stream", "") or chunk.get("error", "") for chunk in err.build_log]
            log = self._write_log(tag, lines)
            tail = "".join(lines[-20:])
            hint = ""
            if "CERTIFICATE_VERIFY_FAILED" in tail:
                hint = ("\nHint: the build reaches PyPI through a TLS-intercepting proxy; "
                        "its CA must be trusted inside the image (the harness's local base does "
                        "this; with a stock base, set HARNESS_BASE_IMAGES=local).")
            dockerfile = context / "Dockerfile"
            line, instruction = failed_instruction(dockerfile, lines)
            where = f"{dockerfile}:{line}" if line else str(dockerfile)
            at = f" at `{instruction}`" if instruction else ""
            raise ImageBuildError(f"{where}: building {tag} failed{at}: {err.msg}\n{tail}"
                                  f"{hint}\nFull build log: {log}", dockerfile=dockerfile, line=line,
                                  log_path=log) from err
        self._write_log(tag, [chunk.get("stream", "") for chunk in logs])
        return image

    def _write_log(self, tag: str, lines: list[str]) -> Path | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / f"build-{tag.replace('/', '_').replace(':', '_')}.log"
        path.write_text("".join(lines))
        return path
