"""Live sessions on this machine: one record each, so what a dead one left can be found.

A session writes its record when it starts and removes it when it stops. A
record whose process is gone (``kill -9``, a crashed CI runner) marks a dead
session: ``cleanup``, and every new session, sweep what it names (its scratch
folder and Airflow home, its labelled containers and networks, its leases).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.housekeeping.leases import Holder


def records_dir() -> Path:
    return cache_dir() / "sessions"


@dataclass(frozen=True)
class SessionRecord:
    """What a session made outside its own process that a sweep may have to remove."""

    id: str
    pid: int
    start: str | None
    scratch: str  # temp folder holding the Airflow home and kubeconfigs
    artifacts: str  # kept: logs and outputs are the user's to read

    @property
    def holder(self) -> Holder:
        return Holder(self.pid, self.start)

    @property
    def path(self) -> Path:
        return records_dir() / f"{self.id}.json"

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(asdict(self), indent=2))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def all_records() -> list[SessionRecord]:
    found = []
    for path in sorted(records_dir().glob("*.json")):
        try:
            found.append(SessionRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            found.append(SessionRecord(path.stem, 0, None, "", ""))  # half-written: its writer died
    return found


def live_and_dead() -> tuple[list[SessionRecord], list[SessionRecord]]:
    live, dead = [], []
    for record in all_records():
        (live if record.holder.alive() else dead).append(record)
    return live, dead


OWNER_FILE = "owner.json"


def mark_scratch(path: Path) -> None:
    """Name the owning process inside a scratch folder: only a dead owner's folder is swept,
    also by sessions that keep their records in another cache dir."""
    (path / OWNER_FILE).write_text(json.dumps(asdict(Holder.me())))


def unmark_scratch(path: Path) -> None:
    (path / OWNER_FILE).unlink(missing_ok=True)


def scratch_owner(path: Path) -> Holder | None:
    try:
        data = json.loads((path / OWNER_FILE).read_text())
        return Holder(int(data["pid"]), data.get("start"))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not a harness scratch folder, or not one we can judge: leave it
