"""Work that overlaps with the caller's, with its outcome handed back through a Future.

The thread is a daemon: a hung wait must never hold the interpreter's exit (a
``ThreadPoolExecutor`` joins its threads at exit). Whoever needs the outcome calls
``future.result()``, which re-raises what the work raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def in_background(work: Callable[[], T], name: str) -> Future[T]:
    """Start ``work`` in a daemon thread named ``name``; its result (or exception) lands in the future."""
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as err:  # noqa: BLE001 - handed to whoever joins
            future.set_exception(err)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def done(value: T) -> Future[T]:
    """A future that has its result already (for work that has nothing left to do)."""
    future: Future[T] = Future()
    future.set_result(value)
    return future
