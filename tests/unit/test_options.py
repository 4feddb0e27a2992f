"""The HARNESS_* settings: read in one place, validated there, documented where users look."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_e2e_harness.errors import ConfigurationError
from airflow_e2e_harness.options import HarnessOptions

REPO = Path(__file__).resolve().parents[2]
# A read of the process environment whose key is a HARNESS_* literal.
ENV_READ = re.compile(r"""(?:environ(?:\.get)?\s*[\[(]|getenv\s*\()\s*["'](HARNESS_[A-Z_]+)""")
MENTION = re.compile(r"\bHARNESS_[A-Z][A-Z_]*[A-Z]\b")


def test_nothing_set_gives_the_defaults() -> None:
    assert HarnessOptions.from_env({}) == HarnessOptions()
    assert HarnessOptions().artifacts_dir == "e2e-artifacts"
    assert HarnessOptions().image_load == "registry"


def test_values_are_parsed_by_type() -> None:
    options = HarnessOptions.from_env({
        "HARNESS_KEEP_ALL": "yes", "HARNESS_STOCK_WAITS": "0", "HARNESS_KEEP_DAEMON": "",
        "HARNESS_CACHE_DIR": "~/somewhere", "HARNESS_BASE_IMAGES": " Local ",
        "HARNESS_KIND_IMAGE": "kindest/node:v1.32.2", "HARNESS_IMAGE_LOAD": "kind",
    })
    assert options.keep_all is True
    assert options.stock_waits is False and options.keep_daemon is False
    assert options.cache_dir == Path.home() / "somewhere"
    assert options.base_images == "local"
    assert options.kind_image == "kindest/node:v1.32.2"
    assert options.image_load == "kind"


@pytest.mark.parametrize(("name", "value"), [
    ("HARNESS_KEEP_ALL", "maybe"), ("HARNESS_BASE_IMAGES", "remote"), ("HARNESS_IMAGE_LOAD", "ftp"),
])
def test_a_bad_value_names_the_variable_and_what_it_takes(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{name}='{value}': expected "):
        HarnessOptions.from_env({name: value})


def test_no_other_module_reads_a_harness_variable_from_the_environment() -> None:
    readers = {
        f"{path.relative_to(REPO)}: {name}"
        for folder in ("harness", "fixtures")
        for path in (REPO / folder).rglob("*.py")
        for name in ENV_READ.findall(path.read_text())
    }
    assert readers == set(), "read these through HarnessOptions (harness/options.py)"


def test_every_variable_the_docs_and_code_name_is_an_option() -> None:
    known = set(HarnessOptions.variables())
    files = [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "harness").rglob("*.py"),
             *(REPO / "fixtures").rglob("*.py")]
    named = {(f.name, m) for f in files for m in MENTION.findall(f.read_text())}
    unknown = sorted(f"{file}: {name}" for file, name in named if name not in known)
    assert unknown == []
    assert len(known) == 17
