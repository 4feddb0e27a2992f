"""DockerDaemon: use the user's Docker daemon, or start one the harness owns.

Order of preference: the user's daemon, found as the docker CLI finds it
(:mod:`airflow_e2e_harness.docker.endpoint`: DOCKER_HOST, the current
context, the default and rootless sockets);
the harness daemon when another session (or a ``--keep-daemon`` run) has it
up; otherwise a new dockerd with its own socket and data-root under the
harness cache (installed from Debian packages first when the host has no
engine). The data-root lives in the cache on purpose: base, node and task
images survive between runs.

Every session using the harness daemon holds a lease on it
(:mod:`airflow_e2e_harness.housekeeping.leases`); the last one to leave stops it, unless
it was kept (a ``keep`` marker next to the socket).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import docker
import docker.errors
import requests
from docker.tls import TLSConfig

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.docker.endpoint import ContextNotFound, candidates
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.housekeeping.leases import Leases
from airflow_e2e_harness.lifecycle import Lifecycle
from airflow_e2e_harness.provision.engine import InstallEngine
from airflow_e2e_harness.provision.runtime_wrapper import (
    RUNTIME_NAME,
    bounding_set_is_partial,
    find_runc,
    install_wrapper,
)
from airflow_e2e_harness.provision.steps import ProvisionError, run_steps
from airflow_e2e_harness.timing import Timer, default_timer
from airflow_e2e_harness.waiting import WaitTimeout, wait_until

API_TIMEOUT = 600.0  # image imports, saves and commits of a node image take a while


class DaemonUnavailable(HarnessError, RuntimeError):
    """No Docker daemon could be used or started; the message lists what was tried."""


def ping(url: str, timeout: float = 5.0, tls: TLSConfig | None = None) -> docker.DockerClient | None:
    """A client for ``url`` if a daemon answers there within ``timeout``, else None.

    The returned client itself has the long API_TIMEOUT: the short one is only
    for the question "is anybody there".
    """
    try:
        probe = docker.DockerClient(base_url=url, timeout=timeout, tls=tls or False)
        try:
            probe.ping()
        finally:
            probe.close()
        return docker.DockerClient(base_url=url, timeout=API_TIMEOUT, tls=tls or False)
    except (docker.errors.DockerException, requests.RequestException, OSError):
        return None


def own_state_dir() -> Path:
    return cache_dir() / "docker"


def stop_process(pidfile: Path, timeout: float = 60.0) -> bool:
    """SIGTERM the process named in ``pidfile`` and wait for it; False when none was running."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidfile.unlink(missing_ok=True)
        return False
    try:
        wait_until(lambda: None if not _alive(pid) else f"pid {pid} still running",
                   what="the harness daemon's exit", timeout=timeout)
    except WaitTimeout:
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs. A child of this process that exited is reaped here: started by
    an earlier session of the same process (the rerun loop), it would stay a zombie, "alive"."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: another process reaps it
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def reachable_clients() -> dict[str, docker.DockerClient]:
    """Every daemon the harness may have used that answers, by URL: the user's (as the CLI finds
    it) and the harness's own."""
    clients: dict[str, docker.DockerClient] = {}
    try:
        endpoints = candidates()
    except ContextNotFound:
        endpoints = []
    own = f"unix://{own_state_dir() / 'docker.sock'}"
    for url, tls in [(e.url, e.tls) for e in endpoints] + [(own, None)]:
        if url in clients:
            continue
        client = ping(url, tls=tls)
        if client is not None:
            clients[url] = client
    return clients


class DockerDaemon(Lifecycle):
    """Borrows the user's Docker daemon, or shares the harness's own for a session.

    :param keep: leave the harness daemon running when this session is its last user.
    :param allow_start: start a harness daemon when none answers (else DaemonUnavailable).
    :param use_existing: look for the user's daemon first.
    :param state_dir: the harness daemon's socket, pidfile, log, data-root and leases.
    :param session: the lease's name (the session id).
    :param timer: the phase timer.
    :param start_timeout: seconds to wait for a new dockerd to answer.
    """

    def __init__(
        self,
        *,
        keep: bool = False,
        allow_start: bool = True,
        use_existing: bool = True,
        state_dir: Path | None = None,
        session: str | None = None,
        timer: Timer | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.keep = keep
        self.allow_start = allow_start
        self.use_existing = use_existing
        self.state_dir = state_dir or own_state_dir()
        self.session = session or f"pid-{os.getpid()}"
        self.leases = Leases(self.state_dir / "leases")
        self.timer = timer or default_timer()
        self.start_timeout = start_timeout
        self.url: str = ""
        self.owned = False  # the harness's daemon (this session holds a lease), not the user's
        self.client: docker.DockerClient | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._env: dict[str, str] = {}  # set when a TLS endpoint needs more than DOCKER_HOST
        self.tls: TLSConfig | None = None  # how the user's daemon is reached, when over TLS

    # -- paths of the harness-owned daemon -------------------------------------------------
    @property
    def socket_path(self) -> Path:
        return self.state_dir / "docker.sock"

    @property
    def own_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pidfile(self) -> Path:
        return self.state_dir / "dockerd.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "dockerd.log"

    @property
    def keep_marker(self) -> Path:
        return self.state_dir / "keep"

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        tried: list[str] = []
        if self.use_existing:
            try:
                endpoints = candidates()
            except ContextNotFound as err:
                raise DaemonUnavailable(str(err)) from err
            for endpoint in endpoints:
                client = ping(endpoint.url, tls=endpoint.tls)
                if client:
                    self._env, self.tls = endpoint.env(), endpoint.tls
                    why = f"the user's daemon ({endpoint.source})"
                    self._adopt(endpoint.url, client, owned=False, why=why)
                    return
                tried.append(f"{endpoint.url} ({endpoint.source}): no answer")
        with self.leases.locked():  # start-or-share is one decision among sessions
            others = self.leases.prune()
            client = ping(self.own_url)
            if client:
                why = f"the harness daemon, shared with {len(others)} live session(s)" if others else (
                    "the harness daemon, kept from an earlier run")
                self._adopt(self.own_url, client, owned=True, why=why)
            else:
                tried.append(f"{self.own_url} (harness daemon): not running")
                if not self.allow_start:
                    raise DaemonUnavailable(self._explain(tried, "starting a daemon is disabled"))
                try:
                    run_steps([InstallEngine()], self.timer)
                except ProvisionError as err:
                    raise DaemonUnavailable(self._explain(tried, str(err))) from err
                with self.timer.phase("docker daemon start") as phase:
                    self._start_own()
                    phase.note = self.own_url
            self.leases.add(self.session)
        if self.keep and self.owned:
            self.keep_marker.write_text("kept; `python -m airflow_e2e_harness daemon stop` stops it\n")
        assert self.client is not None

    def _adopt(self, url: str, client: docker.DockerClient, *, owned: bool, why: str) -> None:
        self.url, self.client, self.owned = url, client, owned
        version = client.version().get("Version", "?")
        self.timer.log(f"docker: using {why} at {url} (engine {version})")

    def _explain(self, tried: list[str], reason: str) -> str:
        lines = "\n".join(f"  - {t}" for t in tried)
        return (
            "No Docker daemon available.\nTried:\n"
            f"{lines}\nCould not start one: {reason}\n"
            "What to do: start Docker (or set DOCKER_HOST to a daemon that answers), or run "
            "as root on Debian so the harness can install docker.io itself "
            "(`python -m airflow_e2e_harness provision`)."
        )

    def _daemon_config(self) -> Path:
        config: dict[str, object] = {}
        runc = find_runc()
        if runc and bounding_set_is_partial():
            # Privileged containers (kind nodes) need this on hosts lacking capabilities.
            config["runtimes"] = {RUNTIME_NAME: {"path": str(install_wrapper(runc))}}
            config["default-runtime"] = RUNTIME_NAME
        path = self.state_dir / "daemon.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def _start_own(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        stop_process(self.pidfile, timeout=30)  # a dockerd from a killed run may still hold the pidfile
        self.socket_path.unlink(missing_ok=True)
        # exec-root holds unix sockets: keep its path short (108-byte limit).
        exec_root = Path("/run") / "airflow-e2e-harness"
        argv = [
            "dockerd",
            "--host", self.own_url,
            "--data-root", str(self.state_dir / "data"),
            "--exec-root", str(exec_root),
            "--pidfile", str(self.pidfile),
            "--config-file", str(self._daemon_config()),
        ]
        with self.log_file.open("ab") as log:  # the child keeps its own copy of the descriptor
            self._proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches pytest, which then stops us in order
            )
        proc = self._proc

        def answers() -> str | None:
            if proc.poll() is not None:
                raise DaemonUnavailable(
                    f"dockerd exited with {proc.returncode} during start-up.\n"
                    f"Last lines:\n{self._tail()}\nFull log: {self.log_file}"
                )
            self.client = ping(self.own_url, timeout=2)
            return None if self.client else f"no answer on {self.own_url}"

        try:
            wait_until(answers, what="dockerd", timeout=self.start_timeout)
        except WaitTimeout as err:
            self._terminate()
            raise DaemonUnavailable(
                f"{err}.\nLast lines:\n{self._tail()}\nFull log: {self.log_file}") from err
        self.url, self.owned = self.own_url, True

    def _tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def _terminate(self) -> None:
        if self._proc is None:  # started by another session: only its pidfile knows it
            stop_process(self.pidfile)
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if not self.owned:
            return
        self.owned = False
        with self.leases.locked():
            self.leases.remove(self.session)
            others = self.leases.prune()
            if others:
                self.timer.log(f"docker: the harness daemon is still used by {len(others)} other session(s)")
                return
            if self.keep or self.keep_marker.exists():
                self.timer.log(f"docker: keeping the harness daemon at {self.own_url} (log: {self.log_file})")
                return
            with self.timer.phase("docker daemon stop"):
                self._terminate()

    def env(self) -> dict[str, str]:
        """What child processes (DockerOperator, kind, docker CLI) need to find this daemon."""
        return self._env or {"DOCKER_HOST": self.url}
