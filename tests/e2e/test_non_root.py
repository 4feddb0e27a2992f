"""A user in the ``docker`` group, on a daemon that runs containers as root, can delete what
the harness leaves in their project (issue 18, point 7).

As on hosted CI runners: the user is not root, the daemon's socket is
``root:docker`` mode 660 (here a relay in front of the session's daemon, see
socket_relay), and task containers write as root into bind-mounted data
folders. A small project (``tests/e2e/non_root_project/``: a DockerOperator
DAG whose container writes private, sealed and plain files as root) runs its
pytest as that user. Its tests read and delete outputs between runs; afterwards
nothing under the project belongs to another uid, and the user's ``rm -rf``
of ``e2e-artifacts`` and ``data`` succeeds. Docker only: no kind cluster.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_e2e_harness.session import E2ESession
from tests.e2e.socket_relay import SocketRelay

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

PROJECT = Path(__file__).resolve().parent / "non_root_project"
USER = "airflow-e2e-user"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"

CONFTEST = '''\
import pytest


@pytest.fixture(scope="session")
def writer(airflow_e2e):
    with airflow_e2e.docker(env={"WRITER_DATA_DIR": "${data_dir}"}) as env:
        yield env


@pytest.fixture(scope="session")
def writer_in_project(airflow_e2e):
    with airflow_e2e.docker(data_dir="data", env={"WRITER_DATA_DIR": "${data_dir}"}) as env:
        yield env
'''

TESTS = '''\
import os
import shutil

from docker.types import Mount


def not_mine(folder):
    return [p for p in [folder, *folder.rglob("*")] if p.lstat().st_uid != os.getuid()]


def test_outputs_are_mine_between_runs(writer):
    first = writer.run("write_as_root", "2026-01-05")
    assert first.ok, first.describe()
    assert str(first.xcoms["write"]) == "0"  # the container ran as root
    day = writer.data_dir / "out" / "2026-01-05"
    assert (day / "private" / "secret.txt").read_text() == "2026-01-05\\n"  # root's 0700 + 0600
    assert not_mine(writer.data_dir) == []
    shutil.rmtree(writer.data_dir / "out")  # a test cleaning up between runs
    second = writer.run("write_as_root", "2026-01-06")
    assert second.ok, second.describe()
    assert not_mine(writer.data_dir) == []


def test_a_data_folder_in_the_project(writer_in_project):
    run = writer_in_project.run("write_as_root", "2026-01-05")
    assert run.ok, run.describe()
    assert writer_in_project.data_dir == writer_in_project.session.root / "data"
    assert not_mine(writer_in_project.data_dir) == []


def test_a_container_outside_any_run_is_handed_back_at_the_end(writer):
    """Like a service container writing into the data folder: root's until the session ends."""
    writer.session.docker_client.containers.run(
        "nonroot-writer:e2e", ["2026-02-01"], remove=True,
        mounts=[Mount("/data", str(writer.data_dir), type="bind")],
    )
    assert not_mine(writer.data_dir) != []
'''


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    home: Path
    docker_gid: int


def docker_group_user() -> User:
    """The test's user, made if missing: a plain account in the ``docker`` group."""
    if os.geteuid() != 0:
        pytest.skip("making a user and a root:docker socket needs root; run this test as root")
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not installed: cannot make a non-root user")
    try:
        grp.getgrnam("docker")
    except KeyError:
        subprocess.run(["groupadd", "--system", "docker"], check=True)
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/sh", "--groups", "docker", USER], check=True,
        )
    if USER not in grp.getgrnam("docker").gr_mem:
        subprocess.run(["usermod", "--append", "--groups", "docker", USER], check=True)
    entry = pwd.getpwnam(USER)
    return User(USER, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir), grp.getgrnam("docker").gr_gid)


def as_user(
    user: User, argv: Sequence[str | os.PathLike[str]], env: dict[str, str] | None = None, **kwargs: object,
) -> subprocess.CompletedProcess[str]:
    """``argv`` as the user, with the groups a login gives them (docker among them)."""
    base = {"HOME": str(user.home), "USER": user.name, "LOGNAME": user.name, "PATH": SYSTEM_PATH,
            "LANG": "C.UTF-8"}
    return subprocess.run(  # type: ignore[call-overload]
        [str(a) for a in argv], user=user.uid, group=user.gid, extra_groups=[user.docker_gid],
        env=base | (env or {}), capture_output=True, text=True, stdin=subprocess.DEVNULL, **kwargs,
    )


def give(tree: Path, user: User) -> None:
    """Everything under ``tree`` (made here as root) to the user, as if they had made it."""
    for path in [tree, *tree.rglob("*")]:
        os.chown(path, user.uid, user.gid, follow_symlinks=False)


def not_owned_by(tree: Path, uid: int) -> list[str]:
    return [f"{p} (uid {p.lstat().st_uid})" for p in [tree, *tree.rglob("*")] if p.lstat().st_uid != uid]


def user_python(user: User, workdir: Path) -> Path:
    """An interpreter the user can run that imports this venv's packages (the harness, Airflow).

    This venv's interpreter may live where the user cannot go (pyenv under /root): then a
    venv of the system's Python of the same version, whose site imports this venv's
    site-packages, stands in for the user's own environment. When those site-packages are
    out of reach too (CI clones the repository, and tox its venvs, under a folder only root
    may enter), the user's venv gets a hard-linked mirror of them in the work folder.
    """
    try:
        if as_user(user, [sys.executable, "-c", "import airflow_e2e_harness"]).returncode == 0:
            return Path(sys.executable)
    except PermissionError:  # the interpreter (or a folder on its way) is not theirs to run
        pass
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    system = Path(f"/usr/bin/python{version}")
    if not system.exists():
        pytest.skip(f"{sys.executable} is out of {user.name}'s reach and there is no {system}")
    venv = workdir / "venv"
    made = as_user(user, [system, "-m", "venv", "--without-pip", venv])
    assert made.returncode == 0, made.stderr
    packages = Path(sysconfig.get_paths()["purelib"])
    if as_user(user, ["test", "-r", packages, "-a", "-x", packages]).returncode != 0:
        packages = mirror(packages, workdir / "outer-site-packages")
    site = venv / "lib" / f"python{version}" / "site-packages" / "outer-venv.pth"
    site.write_text(f"import site; site.addsitedir({str(packages)!r})\n")
    give(site, user)
    python = venv / "bin" / "python"
    imports = [python, "-c", "import airflow_e2e_harness, airflow.providers.docker"]
    check = as_user(user, imports, env={"AIRFLOW_HOME": str(workdir / "airflow-probe")})  # not ~/airflow
    assert check.returncode == 0, check.stderr
    return python


def mirror(tree: Path, to: Path) -> Path:
    """``tree`` at ``to``, readable by all: files others may read are hard-linked, others copied.

    Nothing is chowned or chmodded through a link: that would change the originals too.
    """
    def link_or_copy(source: str, target: str) -> None:
        if os.stat(source).st_mode & stat.S_IROTH:
            try:
                os.link(source, target)
                return
            except OSError:  # another filesystem
                pass
        shutil.copy2(source, target)
        os.chmod(target, os.stat(target).st_mode | 0o444)
    shutil.copytree(tree, to, symlinks=True, copy_function=link_or_copy)
    for folder in [to, *(p for p in to.rglob("*") if p.is_dir() and not p.is_symlink())]:
        folder.chmod(folder.stat().st_mode | 0o555)
    return to


def make_project(user: User, workdir: Path) -> Path:
    project = workdir / "project"
    shutil.copytree(PROJECT, project)
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "tests").mkdir()
    (project / "tests" / "conftest.py").write_text(CONFTEST)
    (project / "tests" / "test_outputs.py").write_text(TESTS)
    give(project, user)
    return project


@pytest.fixture
def user() -> User:
    return docker_group_user()


@pytest.fixture
def workdir(user: User) -> Iterator[Path]:
    """A folder of the user's own in their home (pytest's tmp_path is root's, mode 700)."""
    path = Path(tempfile.mkdtemp(prefix="nonroot-e2e-", dir=user.home))
    give(path, user)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def docker_socket(airflow_e2e: E2ESession, user: User) -> Iterator[Path]:
    """The session's daemon behind a root:docker 660 socket any user can reach (see socket_relay)."""
    url = airflow_e2e.start_daemon().url
    if not url.startswith("unix://"):
        pytest.skip(f"the session's daemon is at {url}: the relay forwards to a unix socket only")
    folder = Path(tempfile.mkdtemp(prefix="harness-docker-", dir="/run"))
    folder.chmod(0o755)
    try:
        with SocketRelay(folder / "docker.sock", url.removeprefix("unix://"), group=user.docker_gid) as relay:
            yield relay.path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_docker_group_user_deletes_all_the_harness_leaves(
    user: User, workdir: Path, docker_socket: Path,
) -> None:
    info = docker_socket.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (0, user.docker_gid, 0o660)
    python = user_python(user, workdir)
    project = make_project(user, workdir)
    cache = workdir / "cache"  # the harness's cache for this user: theirs, like ~/.cache
    outcome = as_user(
        user, [python, "-m", "pytest", "-q"], cwd=project, timeout=1200,
        env={"DOCKER_HOST": f"unix://{docker_socket}", "HARNESS_CACHE_DIR": str(cache)},
    )
    output = outcome.stdout + outcome.stderr
    assert outcome.returncode == 0, output
    assert re.search(r"\b3 passed\b", output), output
    assert "using the user's daemon (DOCKER_HOST)" in output, output
    hand_backs = re.findall(r"ownership hand-back: done in .*", output)
    assert len(hand_backs) == 4, output  # one per run (3), one at the session's end
    print("\n".join(["hand-backs (3 runs, then the session's end):", *hand_backs]))

    left = not_owned_by(project, user.uid) + not_owned_by(cache, user.uid)
    assert left == [], "\n".join(left)
    removed = as_user(user, ["rm", "-rf", "e2e-artifacts", "data"], cwd=project)
    assert removed.returncode == 0, removed.stderr
    assert not (project / "e2e-artifacts").exists() and not (project / "data").exists()
