"""A Docker socket the way a system daemon offers it, in front of the session's daemon.

A system Docker daemon listens on ``/var/run/docker.sock``, owned by
``root:docker`` with mode 660: members of the ``docker`` group talk to it, and
the daemon (and so every container) runs as root. The harness's own daemon
listens under ``/root/.cache``, which no other user can even traverse, and it
is shared by every session on the machine, so restarting it with a second
``--host`` and ``--group docker`` is not an option for one test. Instead this
relay listens at a path anyone can reach, with exactly the system socket's
owner and mode, and passes every connection's bytes through to the session's
daemon unchanged (hijacked attach streams included). The kernel checks the
group on connect, as it does for the real thing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path

CHUNK = 1 << 16


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """One direction until EOF; then the other side learns it (a half-close, as HTTP expects)."""
    with contextlib.suppress(OSError):
        while data := src.recv(CHUNK):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


class SocketRelay:
    """Listen on ``path`` (``root:<group>``, ``mode``) and forward to the unix socket ``target``."""

    def __init__(self, path: Path, target: str, *, group: int, mode: int = 0o660) -> None:
        self.path = path
        self.target = target
        self.group = group
        self.mode = mode
        self._server: socket.socket | None = None
        self._stop = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def __enter__(self) -> SocketRelay:
        self.path.unlink(missing_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.path))
        os.chown(self.path, 0, self.group)
        os.chmod(self.path, self.mode)
        server.listen(64)
        server.settimeout(0.5)  # so that the accept loop sees a stop
        self._server = server
        threading.Thread(target=self._accept, name="socket-relay", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.close()
        self.path.unlink(missing_ok=True)

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with self._lock:
            self._open |= {client, upstream}
        try:
            upstream.connect(self.target)
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                sock.close()
            with self._lock:
                self._open -= {client, upstream}
