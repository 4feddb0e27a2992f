"""The harness's own wheel, to install in each version's virtualenv: the running harness, not PyPI's.

Found in this order: the wheel given (``--harness-wheel``); the wheel this installation was made
from, when pip recorded it (``direct_url.json``) and it is still there; a wheel built with
``pip wheel`` from the source tree of an editable or source install; a wheel repacked from the
installed files themselves (an install from an index).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from airflow_e2e_harness.errors import ConfigurationError, HarnessError

DISTRIBUTION = "airflow-e2e-harness"
# Files pip writes into an installation's .dist-info that are no part of the wheel.
INSTALL_ONLY = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


class WheelNotBuilt(HarnessError, RuntimeError):
    """No wheel of the running harness could be found or made; ``--harness-wheel`` gives one."""


def harness_wheel(given: Path | None, out: Path) -> Path:
    """The wheel to install: ``given``, else one found or made into ``out`` (see the module doc)."""
    if given is not None:
        if not given.is_file() or given.suffix != ".whl":
            raise ConfigurationError(f"--harness-wheel {given}: not a wheel file")
        return given.resolve()
    dist = metadata.distribution(DISTRIBUTION)
    url = _direct_url(dist)
    if url is not None:
        path = Path(unquote(urlparse(url).path))
        if path.suffix == ".whl" and path.is_file():
            return path
        if (path / "pyproject.toml").is_file():
            return build_wheel(path, out)
    return repack_installed(dist, out)


def _direct_url(dist: metadata.Distribution) -> str | None:
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    url = json.loads(text).get("url", "")
    return url if url.startswith("file://") else None


def build_wheel(source: Path, out: Path) -> Path:
    """``pip wheel --no-deps source`` into ``out``, as a user builds it."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("airflow_e2e_harness-*.whl"):
        old.unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
         str(source), "-w", str(out)], capture_output=True, text=True,
    )
    built = sorted(out.glob("airflow_e2e_harness-*.whl"))
    if proc.returncode != 0 or not built:
        raise WheelNotBuilt(f"pip wheel {source} failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n"
                            "give a wheel with --harness-wheel")
    return built[0]


def repack_installed(dist: metadata.Distribution, out: Path) -> Path:
    """A wheel of the installed files (the RECORD's, with a RECORD of their own), for an install
    that left no source and no wheel behind."""
    files = [f for f in dist.files or [] if not f.name.endswith(".pyc") and "__pycache__" not in f.parts]
    info = next((f.parts[0] for f in files if f.parts[0].endswith(".dist-info")), None)
    if info is None or not any(f.parts[0] == "airflow_e2e_harness" for f in files):
        raise WheelNotBuilt(f"the installed {DISTRIBUTION} lists no files of its own (an editable install "
                            "without its source?): give a wheel with --harness-wheel")
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"airflow_e2e_harness-{dist.version}-py3-none-any.whl"
    rows: list[tuple[str, str, str]] = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in sorted(files, key=str):
            name = f.as_posix()
            if ".." in f.parts or (f.parts[0] == info and f.name in INSTALL_ONLY):
                continue  # scripts pip wrote elsewhere (bin/), and the installer's own files
            data = Path(str(f.locate())).read_bytes()
            archive.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append((name, f"sha256={digest}", str(len(data))))
        record = io.StringIO()
        csv.writer(record, lineterminator="\n").writerows([*rows, (f"{info}/RECORD", "", "")])
        archive.writestr(f"{info}/RECORD", record.getvalue())
    return wheel


def content_hash(wheel: Path) -> str:
    """sha256 over the wheel's member names and contents: the same files give the same hash, whatever
    the zip's timestamps (two builds of one source tree)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            digest.update(name.encode() + b"\0" + archive.read(name) + b"\0")
    return digest.hexdigest()
