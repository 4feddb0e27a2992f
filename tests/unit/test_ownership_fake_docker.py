"""Handing files back to a non-root user: which folders, which container, and the script itself.

The Docker client is a fake that records what it is asked to run; the script
runs on the host's own sh against a temporary tree.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from airflow_e2e_harness.docker import ownership
from airflow_e2e_harness.docker.containers import SESSION_LABEL
from airflow_e2e_harness.docker.ownership import (
    SCRIPT,
    Owner,
    Ownership,
    foreign_entry,
    may_touch,
    outermost,
)
from airflow_e2e_harness.timing import Timer

ME = Owner(os.getuid(), os.getgid())


class FakeImages:
    def __init__(self, local: set[str]) -> None:
        self.local = local

    def get(self, tag: str) -> object:
        if tag not in self.local:
            raise docker.errors.ImageNotFound(tag)
        return object()


class FakeContainer:
    def __init__(self, kwargs: dict[str, Any], exit_code: int) -> None:
        self.kwargs = kwargs
        self.exit_code = exit_code
        self.status = "running"
        self.execs: list[list[str]] = []
        self.removed = False

    def exec_run(self, command: list[str], user: str) -> tuple[int, bytes]:
        assert user == "0:0"
        self.execs.append(command)
        return self.exit_code, b"chown: Operation not permitted" if self.exit_code else b""

    def reload(self) -> None:
        pass

    def remove(self, force: bool) -> None:
        self.removed = True


class FakeContainers:
    def __init__(self, exit_code: int = 0) -> None:
        self.started: list[FakeContainer] = []
        self.exit_code = exit_code

    def run(self, image: str, command: list[str], **kwargs: Any) -> FakeContainer:
        assert kwargs["detach"] is True
        container = FakeContainer({"image": image, "command": command, **kwargs}, self.exit_code)
        self.started.append(container)
        return container


class FakeDockerClient:
    """What the hand-back asks of a client: info, images.get, containers.run, and exec into one."""

    def __init__(self, local: set[str], security: list[str] | None = None, exit_code: int = 0) -> None:
        self.images = FakeImages(local)
        self.containers = FakeContainers(exit_code)
        self.security = security or ["name=seccomp,profile=builtin"]

    def info(self) -> dict[str, Any]:
        return {"SecurityOptions": self.security}

    @property
    def execs(self) -> list[list[str]]:
        return [command for c in self.containers.started for command in c.execs]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "e2e-artifacts" / "s1" / "data" / "docker" / "out").mkdir(parents=True)
    return root


@pytest.fixture
def timer() -> Timer:
    import io

    return Timer(stream=io.StringIO())


def make(project: Path, timer: Timer, owner: Owner | None = ME) -> Ownership:
    return Ownership(session="s1", roots=[project, project / "e2e-artifacts"], owner=owner, timer=timer)


def pretend_foreign(monkeypatch: pytest.MonkeyPatch, *foreign: Path) -> None:
    """Entries as a root-run container leaves them, without needing root to make them."""
    monkeypatch.setattr(ownership, "foreign_entry", lambda folder, uid: folder if any(
        f.is_relative_to(folder) or folder.is_relative_to(f) for f in foreign) else None)


def test_root_needs_no_hand_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert Owner.me() is None
    monkeypatch.setattr(os, "geteuid", lambda: 1001)
    monkeypatch.setattr(os, "getegid", lambda: 121)
    assert Owner.me() == Owner(1001, 121)


def test_an_own_tree_has_no_foreign_entry_and_another_users_view_finds_the_top(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.txt").write_text("x")
    assert foreign_entry(tmp_path, os.getuid()) is None
    assert foreign_entry(tmp_path, os.getuid() + 1) == tmp_path
    assert foreign_entry(tmp_path / "missing", os.getuid()) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file of another uid needs root")
def test_a_nested_entry_of_another_uid_is_found(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    deep = tmp_path / "a" / "b" / "f.txt"
    deep.write_text("x")
    os.chown(deep, 4321, 4321)
    assert foreign_entry(tmp_path, 0) == deep


def test_only_folders_strictly_inside_a_root_that_are_the_users_or_in_a_folder_of_theirs(
    project: Path,
) -> None:
    roots = [project]
    assert may_touch(project / "e2e-artifacts" / "s1", roots, os.getuid())
    assert not may_touch(project, roots, os.getuid())  # a root itself: never
    assert not may_touch(project.parent / "elsewhere", roots, os.getuid())
    assert not may_touch(project / "e2e-artifacts" / "s1", roots, os.getuid() + 1)  # neither theirs
    assert not may_touch(project / "e2e-artifacts" / "missing", roots, os.getuid())


@pytest.mark.skipif(os.geteuid() != 0, reason="making folders of another uid needs root")
def test_a_folder_of_the_users_in_a_shared_folder_or_a_new_folder_of_roots_in_theirs(tmp_path: Path) -> None:
    shared, mine = tmp_path / "tmp", tmp_path / "tmp" / "session"  # --artifacts-dir=/tmp
    mine.mkdir(parents=True)
    os.chown(mine, 4321, 4321)
    assert may_touch(mine, [shared], 4321)  # /tmp is root's, the session's folder is theirs
    made_by_docker = tmp_path / "project" / "data"  # a bind source docker made: root's
    made_by_docker.mkdir(parents=True)
    os.chown(made_by_docker.parent, 4321, 4321)
    assert may_touch(made_by_docker, [tmp_path / "project"], 4321)


def test_nested_folders_are_handed_back_once() -> None:
    a, b, c = Path("/p/a"), Path("/p/a/data"), Path("/p/c")
    assert outermost([b, a, c, a]) == [a, c]


def test_a_helper_as_root_chowns_the_foreign_folders_then_stays_for_the_next_run(
    project: Path, timer: Timer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = project / "e2e-artifacts" / "s1" / "data" / "docker"
    other = project / "data"
    other.mkdir()
    pretend_foreign(monkeypatch, data / "out")
    client = FakeDockerClient({"writer:e2e"})
    owned = make(project, timer)
    owned.register(data, images=["writer:e2e"])
    owned.register(other)  # another environment's: mounted too, so its runs find it there
    assert owned.hand_back(client, [data]) is None  # type: ignore[arg-type]
    assert owned.hand_back(client, [data]) is None  # type: ignore[arg-type]
    (helper,) = client.containers.started
    run = helper.kwargs
    assert run["image"] == "writer:e2e"  # no Python base here: the task image does it
    assert run["user"] == "0:0" and run["network_mode"] == "none"
    assert run["labels"] == {SESSION_LABEL: "s1"}  # a cleanup after kill -9 finds it
    assert run["entrypoint"] == ["sleep"] and run["userns_mode"] is None
    assert [(m["Source"], m["Target"]) for m in run["mounts"]] == [
        (str(other), "/handback/0"), (str(data), "/handback/1"),
    ]
    assert client.execs == [["sh", "-c", SCRIPT, "handback", f"{ME.uid}:{ME.gid}", "/handback/1"]] * 2
    owned.close()
    assert helper.removed


def test_a_folder_made_anew_or_a_stopped_helper_gets_a_new_helper(
    project: Path, timer: Timer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = project / "e2e-artifacts" / "s1" / "data" / "docker"
    pretend_foreign(monkeypatch, data)
    client = FakeDockerClient({"writer:e2e"})
    owned = make(project, timer)
    owned.register(data, images=["writer:e2e"])
    owned.hand_back(client)  # type: ignore[arg-type]
    # Deleted and made anew: the helper's bind mount keeps the old folder's inode from being
    # reused (no mount here, so a rename keeps it instead).
    data.rename(data.with_name("deleted"))
    data.mkdir()
    owned.hand_back(client)  # type: ignore[arg-type]
    client.containers.started[-1].status = "exited"
    owned.hand_back(client)  # type: ignore[arg-type]
    assert len(client.containers.started) == 3
    assert [c.removed for c in client.containers.started] == [True, True, False]


def test_nothing_foreign_runs_nothing(project: Path, timer: Timer) -> None:
    client = FakeDockerClient({"writer:e2e"})
    owned = make(project, timer)
    owned.register(project / "e2e-artifacts" / "s1", images=["writer:e2e"])
    assert owned.hand_back(client) is None  # type: ignore[arg-type]
    assert client.containers.started == []


def test_as_root_nothing_is_even_looked_at(
    project: Path, timer: Timer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pretend_foreign(monkeypatch, project / "e2e-artifacts")
    client = FakeDockerClient({"writer:e2e"})
    owned = make(project, timer, owner=None)
    owned.register(project / "e2e-artifacts" / "s1", images=["writer:e2e"])
    assert owned.hand_back(client) is None  # type: ignore[arg-type]
    assert client.containers.started == [] and owned.folders == []


def test_a_folder_outside_the_sessions_trees_keeps_its_owner(
    project: Path, tmp_path: Path, timer: Timer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    outside = tmp_path / "srv" / "etl"
    outside.mkdir(parents=True)
    pretend_foreign(monkeypatch, outside)
    client = FakeDockerClient({"writer:e2e"})
    owned = make(project, timer)
    owned.register(outside, images=["writer:e2e"])
    assert owned.hand_back(client) is None  # type: ignore[arg-type]
    assert client.containers.started == []
    assert "outside this session's folders" in timer.stream.getvalue()  # type: ignore[attr-defined]


def test_a_kind_data_folder_is_handed_back_within_its_cluster_folder(
    project: Path, tmp_path: Path, timer: Timer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = tmp_path / "cache" / "kind" / "etl"
    (state / "data" / "etl").mkdir(parents=True)
    pretend_foreign(monkeypatch, state / "data" / "etl")
    client = FakeDockerClient({"kindest/node:local"})
    owned = make(project, timer)
    owned.register(state / "data", images=["kindest/node:local"], within=state)
    assert owned.hand_back(client) is None  # type: ignore[arg-type]
    (helper,) = client.containers.started
    assert helper.kwargs["mounts"][0]["Source"] == str(state / "data")


@pytest.mark.parametrize(("security", "ids", "userns"), [
    (["name=rootless", "name=seccomp,profile=builtin"], "0:0", None),  # the user is root inside
    (["name=userns", "name=seccomp,profile=default"], f"{ME.uid}:{ME.gid}", "host"),
])
def test_rootless_and_remapped_daemons(
    project: Path, timer: Timer, monkeypatch: pytest.MonkeyPatch, security: list[str], ids: str,
    userns: str | None,
) -> None:
    pretend_foreign(monkeypatch, project / "e2e-artifacts")
    client = FakeDockerClient({"writer:e2e"}, security)
    owned = make(project, timer)
    owned.register(project / "e2e-artifacts" / "s1", images=["writer:e2e"])
    owned.hand_back(client)  # type: ignore[arg-type]
    (helper,) = client.containers.started
    assert client.execs[0][4] == ids and helper.kwargs["userns_mode"] == userns


def test_without_an_image_or_when_chown_fails_it_says_how_to_do_it_by_hand(
    project: Path, timer: Timer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = project / "e2e-artifacts" / "s1"
    folder.mkdir(parents=True, exist_ok=True)
    pretend_foreign(monkeypatch, folder)
    owned = make(project, timer)
    owned.register(folder)
    problem = owned.hand_back(FakeDockerClient(set()))  # type: ignore[arg-type]
    assert problem and "no local image" in problem and f"sudo chown -R {ME.uid}:{ME.gid} {folder}" in problem
    failing = FakeDockerClient({"writer:e2e"}, exit_code=1)
    problem = owned.hand_back(failing, images=["writer:e2e"])  # type: ignore[arg-type]
    assert problem and "Operation not permitted" in problem
    assert failing.containers.started[0].removed  # the next hand-back starts afresh


def test_the_script_makes_everything_the_owners_and_leaves_symlink_targets_alone(tmp_path: Path) -> None:
    """What the helper container runs, on this host's sh: a read-only folder becomes deletable,
    a private file readable, and a link to a file outside keeps that file's mode."""
    tree, outside = tmp_path / "tree", tmp_path / "outside.txt"
    (tree / "sealed").mkdir(parents=True)
    (tree / "sealed" / "f.txt").write_text("x")
    (tree / "sealed" / "f.txt").chmod(0o000)
    (tree / "sealed").chmod(0o555)
    outside.write_text("y")
    outside.chmod(0o400)
    (tree / "link").symlink_to(outside)
    ids = f"{os.getuid()}:{os.getgid()}"
    subprocess.run(["sh", "-c", SCRIPT, "handback", ids, str(tree)], check=True)
    assert (tree / "sealed" / "f.txt").stat().st_mode & 0o777 == 0o600
    assert (tree / "sealed").stat().st_mode & 0o777 == 0o755
    assert outside.stat().st_mode & 0o777 == 0o400
