"""Who uses a shared resource: one lease file per session, counted under a file lock.

The harness's own Docker daemon and a kind cluster reused by name serve
several sessions at once (two terminals, tox envs in parallel, an inner
pytest run). Each session holds a lease naming its process; the last one to
leave removes the resource, and ``cleanup`` after a ``kill -9`` counts only
leases whose process still lives. A lease records the process's start time
as well as its pid, so a recycled pid is not mistaken for the old session.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of stat


@dataclass(frozen=True)
class Holder:
    """A process that holds a lease (or registered a session)."""

    pid: int
    start: str | None

    @classmethod
    def me(cls) -> Holder:
        return cls(os.getpid(), process_start_time(os.getpid()))

    def alive(self) -> bool:
        if self.pid <= 0:
            return False
        now = process_start_time(self.pid)
        if now is None:
            try:  # no /proc (not Linux): fall back to "does the pid exist"
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return not Path("/proc").is_dir()
        return self.start is None or now == self.start


@contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """An exclusive ``flock`` on ``path``, released when the block ends (or the process dies).

    Yields True once held; with ``wait=False`` it yields False at once when another process holds it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def exclusive(path: Path, waiting: Callable[[], None]) -> Iterator[None]:
    """``file_lock(path)``, calling ``waiting()`` first when another process holds it (so that a
    session blocked on another's build says why it is idle)."""
    with file_lock(path, wait=False) as held:
        if held:
            yield
            return
    waiting()
    with file_lock(path):
        yield


class Leases:
    """The lease files of one resource, in ``folder`` (one ``<session>.json`` each).

    :param folder: where the lease files live.
    :param lock: the lock file (default ``folder/.lock``); keep it outside anything that
        gets deleted while held, or a second process would lock a fresh file at the same path.
    """

    def __init__(self, folder: Path, lock: Path | None = None) -> None:
        self.folder = folder
        self.lock = lock or folder / ".lock"

    @contextmanager
    def locked(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the resource's lock: decide "create, reuse or delete" inside it (see :func:`file_lock`)."""
        with file_lock(self.lock, wait=wait) as held:
            yield held

    def add(self, session: str, holder: Holder | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{session}.json").write_text(json.dumps(asdict(holder or Holder.me())))

    def remove(self, session: str) -> None:
        (self.folder / f"{session}.json").unlink(missing_ok=True)

    def holders(self) -> dict[str, Holder]:
        found: dict[str, Holder] = {}
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                data = json.loads(path.read_text())
                found[path.stem] = Holder(int(data["pid"]), data.get("start"))
            except (OSError, ValueError, KeyError, TypeError):
                found[path.stem] = Holder(0, None)  # unreadable: a half-written lease of a dead session
        return found

    def prune(self) -> list[str]:
        """Drop the leases of dead processes; returns the sessions that are still alive."""
        live = []
        for session, holder in self.holders().items():
            if holder.alive():
                live.append(session)
            else:
                self.remove(session)
        return live
