"""Hand what task containers wrote as root back to the user who runs the tests.

On a system Docker daemon (a user in the ``docker`` group, as on hosted CI
runners) task containers run as root, so what they write into bind-mounted
folders is root's: the user cannot delete it (``rm -rf e2e-artifacts``, a
checkout step that cleans the workspace) and, with a private mode, cannot even
read it. After each run, and once more when the session ends, the session's
folders are chowned to the user's uid:gid (owner read and write added) from a
helper container: started on an image the session already has (no registry
needed) the first time something needs handing back, with the folders
mounted, then exec'd into (~0.2 s) rather than started anew (~1 s) each run.

It never reaches beyond the session's own folders: a folder is handed back
only when pytest is not root, when it lies strictly inside one of the
session's trees (the project, the artifacts folder, the harness's kind data
folders), and when it or its parent is the user's. And it runs only when a walk
finds an entry that is not the user's, so where containers already write as
the user (rootless Docker, Docker Desktop) it costs a walk and nothing more.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import requests
from docker.models.containers import Container
from docker.types import Mount

from airflow_e2e_harness.docker.containers import SESSION_LABEL
from airflow_e2e_harness.docker.registry_access import image_exists
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.timing import Timer, default_timer

MOUNT_ROOT = "/handback"
HELPER_SECONDS = 24 * 3600  # the helper's sleep; a longer session starts another when it ends
# $1 is "uid:gid", the rest are the folders. chown -R never follows symlinks (-h: the link
# itself), and chmod -R skips them, so nothing outside the mounted folders is touched.
SCRIPT = 'ids=$1; shift; chown -R -h "$ids" "$@" && chmod -R u+rwX "$@"'


@dataclass(frozen=True)
class Owner:
    """Who files are handed back to."""

    uid: int
    gid: int

    @classmethod
    def me(cls) -> Owner | None:
        """The user running this process; None for root, who can delete anything already."""
        if os.geteuid() == 0:
            return None
        return cls(os.geteuid(), os.getegid())


def foreign_entry(folder: Path, uid: int) -> Path | None:
    """The first entry under ``folder`` (itself included) that ``uid`` does not own, or None.

    A folder that cannot be listed counts as foreign: only its owner's hand-back can open it.
    """
    try:
        if folder.lstat().st_uid != uid:
            return folder
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return None
    except PermissionError:
        return folder
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if info.st_uid != uid:
            return Path(entry.path)
        if stat.S_ISDIR(info.st_mode):
            found = foreign_entry(Path(entry.path), uid)
            if found is not None:
                return found
    return None


def may_touch(folder: Path, roots: Sequence[Path], uid: int) -> bool:
    """True when ``folder`` lies strictly inside one of ``roots`` and it, or its parent, is
    ``uid``'s: a folder the user made (the session's, a data folder), or could have made, so
    owning its content gives them nothing that was someone else's before the session."""
    if not any(folder != root and folder.is_relative_to(root) for root in roots):
        return False
    try:
        return uid in (folder.lstat().st_uid, folder.parent.stat().st_uid)
    except OSError:
        return False


def outermost(folders: Iterable[Path]) -> list[Path]:
    """The folders without those inside another one of them (``chown -R`` covers those)."""
    unique = sorted(set(folders), key=lambda p: (len(p.parts), str(p)))
    kept: list[Path] = []
    for folder in unique:
        if not any(folder.is_relative_to(k) for k in kept):
            kept.append(folder)
    return kept


def owner_ids(client: docker.DockerClient, owner: Owner) -> tuple[str, str | None]:
    """``uid:gid`` as the helper container must say it, and its user namespace mode.

    Rootless Docker maps the user to root inside containers; a daemon with
    userns-remap maps container root elsewhere, so the helper leaves the remap
    (``--userns=host``) to be real root.
    """
    options = " ".join(client.info().get("SecurityOptions") or [])
    if "name=rootless" in options:
        return "0:0", None
    return f"{owner.uid}:{owner.gid}", "host" if "name=userns" in options else None


def identity(path: Path) -> tuple[int, int] | None:
    """Which folder a path names right now: one deleted and made anew under a helper's bind
    mount is another (the mount pins the old inode, so its number cannot be reused)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


class HandBackFailed(HarnessError, RuntimeError):
    """The helper container could not be made, or its chown failed."""


@dataclass
class Helper:
    """A container that sleeps with the session's folders mounted, so that a hand-back is an
    exec into it (~0.2 s) rather than a container start (~1 s).

    :param container: the running container.
    :param mounts: each host folder: where it is inside, and which folder it was when mounted.
    """

    container: Container
    mounts: dict[Path, tuple[str, tuple[int, int] | None]]

    def covers(self, folder: Path) -> bool:
        return any(folder.is_relative_to(host) for host in self.mounts)

    def path_of(self, folder: Path) -> str:
        """``folder`` as the helper sees it."""
        host = next(h for h in self.mounts if folder.is_relative_to(h))
        rest = folder.relative_to(host).as_posix()
        inside = self.mounts[host][0]
        return inside if rest == "." else f"{inside}/{rest}"

    def chown(self, ids: str, folders: list[Path]) -> None:
        command = ["sh", "-c", SCRIPT, "handback", ids, *(self.path_of(f) for f in folders)]
        code, output = self.container.exec_run(command, user="0:0")
        if code != 0:
            raise HandBackFailed(f"exit {code}: {output.decode(errors='replace').strip()}")

    def current(self) -> bool:
        """Still running, with each mount still the folder of that name (a bind mount keeps a
        deleted folder, not the one made anew in its place)."""
        try:
            self.container.reload()
        except (docker.errors.DockerException, requests.RequestException):
            return False
        if self.container.status != "running":
            return False
        return all(identity(host) == known for host, (_, known) in self.mounts.items())


class Ownership:
    """The folders of one session that containers write to, handed back to the user.

    :param session: the session id (labels the helper container, so a cleanup finds it).
    :param roots: the session's trees; nothing outside them is handed back.
    :param owner: who gets the files (``Owner.me()``); None, as for root, does nothing.
    :param timer: the phase timer.
    """

    def __init__(
        self, *, session: str, roots: Sequence[Path], owner: Owner | None, timer: Timer | None = None,
    ) -> None:
        self.session = session
        self.roots = [Path(r).resolve() for r in roots]
        self.owner = owner
        self.timer = timer or default_timer()
        self.folders: list[Path] = []
        self.images: list[str] = []  # candidates for the helper container, best first
        self._helper: Helper | None = None
        self._owner_ids: tuple[str, str | None] | None = None

    @property
    def active(self) -> bool:
        return self.owner is not None

    def register(self, folder: Path, images: Iterable[str] = (), within: Path | None = None) -> None:
        """A folder to hand back at the session's end too, images that may do it, and (``within``)
        a tree of the session's own that holds it, beyond those it was made with."""
        if not self.active:
            return
        if within is not None and Path(within).resolve() not in self.roots:
            self.roots.append(Path(within).resolve())
        folder = Path(folder).resolve()
        if folder not in self.folders:
            self.folders.append(folder)
            assert self.owner is not None
            if folder.exists() and not may_touch(folder, self.roots, self.owner.uid):
                self.timer.log(
                    f"ownership: {folder} is outside this session's folders (or neither it nor its "
                    "parent is yours): what containers write there keeps their owner"
                )
        self.images.extend(i for i in images if i not in self.images)

    def hand_back(
        self, client: docker.DockerClient, folders: Iterable[Path] | None = None, images: Iterable[str] = (),
    ) -> str | None:
        """Chown what is not the user's in ``folders`` (default: every registered one) to them.

        :returns: None when done (or nothing was needed), else why it could not be.
        """
        if self.owner is None:
            return None
        chosen = [Path(f).resolve() for f in (self.folders if folders is None else folders)]
        allowed = [f for f in chosen if may_touch(f, self.roots, self.owner.uid)]
        todo = [f for f in outermost(allowed) if foreign_entry(f, self.owner.uid) is not None]
        if not todo:
            return None
        try:
            with self.timer.phase("ownership hand-back") as phase:
                ids, userns = self._ids(client)
                helper, started = self._helper_for(client, todo, userns, images)
                helper.chown(ids, todo)
                phase.note = f"{len(todo)} folder(s) to {ids}" + (", helper started" if started else "")
        except (HandBackFailed, docker.errors.DockerException, requests.RequestException) as err:
            self.close()
            return self._failed(todo, str(err).strip())
        return None

    def close(self) -> None:
        """Remove the helper container (the session's end; a cleanup also finds it by its label)."""
        helper, self._helper = self._helper, None
        if helper is not None:
            with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
                helper.container.remove(force=True)

    def _ids(self, client: docker.DockerClient) -> tuple[str, str | None]:
        if self._owner_ids is None:
            assert self.owner is not None
            self._owner_ids = owner_ids(client, self.owner)
        return self._owner_ids

    def _helper_for(
        self, client: docker.DockerClient, folders: list[Path], userns: str | None, images: Iterable[str],
    ) -> tuple[Helper, bool]:
        """The running helper when it has every folder mounted, else a new one that mounts every
        registered folder as well (so that later runs find theirs); True when it is new."""
        helper = self._helper
        if helper is not None and helper.current() and all(helper.covers(f) for f in folders):
            return helper, False
        self.close()
        image = self._image(client, images)
        if image is None:
            raise HandBackFailed("no local image with sh and chown (the Python base or a task image)")
        assert self.owner is not None
        uid = self.owner.uid
        wanted = [*self.folders, *folders]
        mounts = outermost(f for f in wanted if f.is_dir() and may_touch(f, self.roots, uid))
        targets = {f: f"{MOUNT_ROOT}/{n}" for n, f in enumerate(mounts)}
        container = client.containers.run(
            image, [str(HELPER_SECONDS)], entrypoint=["sleep"], user="0:0", detach=True,
            mounts=[Mount(t, str(f), type="bind") for f, t in targets.items()],
            network_mode="none", userns_mode=userns, labels={SESSION_LABEL: self.session},
        )
        self._helper = Helper(container, {f: (t, identity(f)) for f, t in targets.items()})
        return self._helper, True

    def _image(self, client: docker.DockerClient, extra: Iterable[str]) -> str | None:
        from airflow_e2e_harness.docker.images import STOCK_PYTHON_BASE
        from airflow_e2e_harness.provision.base_image import PythonBaseImage

        candidates = [PythonBaseImage(client).tag, STOCK_PYTHON_BASE, *extra, *self.images]
        return next((tag for tag in candidates if image_exists(client, tag)), None)

    def _failed(self, folders: list[Path], why: str) -> str:
        assert self.owner is not None
        where = " ".join(str(f) for f in folders)
        message = (
            f"ownership: could not hand {where} back to uid {self.owner.uid}: {why}; "
            f"`sudo chown -R {self.owner.uid}:{self.owner.gid} {where}` does it"
        )
        self.timer.log(message)
        return message
