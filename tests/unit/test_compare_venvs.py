"""compare's versions: the command line's sides, the virtualenv cache key, the constraints handed to
pip, and the harness wheel (no virtualenv is made here)."""

from __future__ import annotations

import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from airflow_e2e_harness.compare.command import side_labels, specs
from airflow_e2e_harness.compare.venvs import VersionSpec, cache_key, installed_distributions, prune
from airflow_e2e_harness.compare.wheel import WheelNotBuilt, content_hash, repack_installed
from airflow_e2e_harness.errors import ConfigurationError

PY = "3.11.7 (main)"


@pytest.fixture
def constraints(tmp_path: Path) -> Path:
    path = tmp_path / "airflow-3.3.txt"
    path.write_text("# pins\napache-airflow==3.3.2\napache-airflow-providers-cncf-kubernetes==10.25.0\n"
                    "Apache_Airflow_Providers_Docker==4.6.1\ndocker==7.2.0\n")
    return path


def test_the_key_follows_every_input_and_not_the_order_of_pins(constraints: Path, tmp_path: Path) -> None:
    base = VersionSpec("3.3.2", constraints, ("a==1", "b==2"))
    key = cache_key(base, "wheel1", PY)
    assert key.startswith("airflow-3.3.2-")
    assert key == cache_key(VersionSpec("3.3.2", constraints, ("b==2", "a==1")), "wheel1", PY)
    assert key == cache_key(VersionSpec("3.3.2", constraints, ("a==1", "b==2"), label="other"), "wheel1", PY)
    changed = [
        cache_key(base, "wheel2", PY),
        cache_key(base, "wheel1", "3.12.1"),
        cache_key(VersionSpec("3.2.2", constraints, ("a==1", "b==2")), "wheel1", PY),
        cache_key(VersionSpec("3.3.2", constraints, ("a==1",)), "wheel1", PY),
        cache_key(VersionSpec("3.3.2", None, ("a==1", "b==2")), "wheel1", PY),
    ]
    copy = tmp_path / "copy.txt"
    copy.write_text(constraints.read_text() + "svcs==25.1.0\n")
    changed.append(cache_key(VersionSpec("3.3.2", copy, ("a==1", "b==2")), "wheel1", PY))
    assert len({key, *changed}) == len(changed) + 1


def test_the_command_line_wins_over_the_constraints(constraints: Path) -> None:
    spec = VersionSpec("3.3.2", constraints, ("apache-airflow-providers-docker==4.7.0",))
    assert spec.effective_constraints().splitlines() == [
        "# pins", "apache-airflow-providers-cncf-kubernetes==10.25.0", "docker==7.2.0"]
    assert spec.requirements == ["apache-airflow==3.3.2", "apache-airflow-providers-docker==4.7.0"]


def test_bad_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a version"):
        VersionSpec("three")
    with pytest.raises(ConfigurationError, match="not a requirement"):
        VersionSpec("3.3.2", pins=("===",))
    with pytest.raises(ConfigurationError, match="no such file"):
        VersionSpec("3.3.2", tmp_path / "missing.txt")


def test_sides_constraints_by_order_or_for_all_and_pins_by_number(constraints: Path, tmp_path: Path) -> None:
    other = tmp_path / "airflow-3.2.txt"
    other.write_text("apache-airflow==3.2.2\n")
    pins = ["pytest-html", "2:apache-airflow-providers-docker"]
    by_order = specs(["3.2.2", "3.3.2"], [other, constraints], pins)
    assert [(s.airflow, s.constraints, s.pins, s.label) for s in by_order] == [
        ("3.2.2", other.resolve(), ("pytest-html",), "3.2.2"),
        ("3.3.2", constraints.resolve(), ("pytest-html", "apache-airflow-providers-docker"), "3.3.2"),
    ]
    for_all = specs(["3.2.2", "3.3.2"], [constraints], [])
    assert [s.constraints for s in for_all] == [constraints.resolve()] * 2
    with pytest.raises(ConfigurationError, match="once per --airflow"):
        specs(["3.2.2", "3.3.2", "3.1.8"], [other, constraints], [])
    with pytest.raises(ConfigurationError, match="no --airflow number 3"):
        specs(["3.2.2", "3.3.2"], [], ["3:x==1"])
    with pytest.raises(ConfigurationError, match="two or more"):
        specs(["3.3.2"], [], [])


def test_labels_tell_sides_of_one_version_apart(tmp_path: Path) -> None:
    assert side_labels(["3.2.2", "3.3.2"], {}, []) == ["3.2.2", "3.3.2"]
    provider = {2: ["apache-airflow-providers-cncf-kubernetes==10.26.0"]}
    assert side_labels(["3.3.2", "3.3.2"], provider, []) == [
        "3.3.2 #1", "3.3.2 apache-airflow-providers-cncf-kubernetes==10.26.0"]
    assert side_labels(["3.3.2", "3.3.2"], {}, [Path("old.txt"), Path("new.txt")]) == [
        "3.3.2 old.txt", "3.3.2 new.txt"]


def test_prune_keeps_the_newest_and_those_in_use(tmp_path: Path) -> None:
    import os

    for n in range(4):
        (tmp_path / f"v{n}").mkdir()
        (tmp_path / f"v{n}" / "ready.json").write_text("{}")
        os.utime(tmp_path / f"v{n}" / "ready.json", (1000 + n, 1000 + n))
    (tmp_path / "half-made").mkdir()
    removed = prune(tmp_path, keep=2)
    assert sorted(p.name for p in removed) == ["v0", "v1"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["half-made", "v2", "v3"]


def wheel_of(path: Path, members: dict[str, bytes], date: tuple[int, ...]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=date), data)  # type: ignore[arg-type]
    return path


def test_the_wheel_hash_is_of_its_contents_not_its_timestamps(tmp_path: Path) -> None:
    members = {"pkg/__init__.py": b"x = 1\n", "pkg-0.1.dist-info/METADATA": b"Name: pkg\n"}
    one = wheel_of(tmp_path / "one.whl", members, (2026, 1, 1, 0, 0, 0))
    two = wheel_of(tmp_path / "two.whl", dict(reversed(members.items())), (2026, 2, 2, 0, 0, 0))
    three = wheel_of(tmp_path / "three.whl", members | {"pkg/__init__.py": b"x = 2\n"}, (2026, 1, 1, 0, 0, 0))
    assert content_hash(one) == content_hash(two) != content_hash(three)


def fake_installed(site: Path) -> metadata.Distribution:
    """An installation as pip leaves it from an index: files, and a RECORD naming them."""
    (site / "airflow_e2e_harness").mkdir(parents=True)
    (site / "airflow_e2e_harness" / "__init__.py").write_text("VERSION = 1\n")
    info = site / "airflow_e2e_harness-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: airflow-e2e-harness\nVersion: 0.1.0\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text(
        "airflow_e2e_harness/__init__.py,,\nairflow_e2e_harness-0.1.0.dist-info/METADATA,,\n"
        "airflow_e2e_harness-0.1.0.dist-info/INSTALLER,,\nairflow_e2e_harness-0.1.0.dist-info/RECORD,,\n"
        "../../bin/airflow-e2e-harness,,\n")
    return metadata.PathDistribution(info)


def test_an_installation_from_an_index_is_repacked_as_a_wheel(tmp_path: Path) -> None:
    wheel = repack_installed(fake_installed(tmp_path / "site"), tmp_path / "out")
    with zipfile.ZipFile(wheel) as archive:
        names = sorted(archive.namelist())
        record = archive.read("airflow_e2e_harness-0.1.0.dist-info/RECORD").decode()
        assert archive.read("airflow_e2e_harness/__init__.py") == b"VERSION = 1\n"
    info = "airflow_e2e_harness-0.1.0.dist-info"
    assert names == [f"{info}/METADATA", f"{info}/RECORD", "airflow_e2e_harness/__init__.py"]
    assert "airflow_e2e_harness/__init__.py,sha256=" in record and "INSTALLER" not in record


def test_an_installation_without_files_asks_for_a_wheel(tmp_path: Path) -> None:
    info = tmp_path / "airflow_e2e_harness-0.1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("__editable__.airflow_e2e_harness-0.1.0.pth,,\n")
    with pytest.raises(WheelNotBuilt, match="--harness-wheel"):
        repack_installed(metadata.PathDistribution(info), tmp_path / "out")


def test_what_a_virtualenv_holds_is_read_by_its_interpreter(tmp_path: Path) -> None:
    import sys

    found = installed_distributions(Path(sys.executable))
    assert found["apache-airflow"] == metadata.version("apache-airflow")
    assert found["pytest"] == metadata.version("pytest")
    assert installed_distributions(tmp_path / "no-venv" / "bin" / "python") == {}
