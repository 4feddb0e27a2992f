"""The daemon is found as the docker CLI finds it: fake CLI config dirs and contexts, no daemon."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from socketserver import UnixStreamServer

import pytest

from airflow_e2e_harness.docker import daemon as daemon_module
from airflow_e2e_harness.docker.daemon import DaemonUnavailable, DockerDaemon
from airflow_e2e_harness.docker.endpoint import ContextNotFound, candidates


def write_context(config_dir: Path, name: str, host: str, *, tls: bool = False) -> None:
    """What `docker context create` writes: contexts/meta/<sha256(name)>/meta.json (+ TLS files)."""
    ident = hashlib.sha256(name.encode()).hexdigest()
    meta = config_dir / "contexts" / "meta" / ident
    meta.mkdir(parents=True)
    meta_doc = {"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}
    (meta / "meta.json").write_text(json.dumps(meta_doc))
    if tls:
        certs = config_dir / "contexts" / "tls" / ident / "docker"
        certs.mkdir(parents=True)
        for file in ("ca.pem", "cert.pem", "key.pem"):
            (certs / file).write_text("fake")


@pytest.fixture
def cli_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    (config_dir / "config.json").write_text("{}")
    for var in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    return config_dir


def sources(found: list) -> list[tuple[str, str]]:
    return [(e.url, e.source) for e in found]


def test_no_context_means_default_then_rootless_socket(cli_config: Path, tmp_path: Path) -> None:
    assert sources(candidates()) == [
        ("unix:///var/run/docker.sock", "default socket"),
        (f"unix://{tmp_path}/run/docker.sock", "rootless socket"),
    ]


def test_current_context_of_the_cli_config_comes_first(cli_config: Path) -> None:
    write_context(cli_config, "colima", "unix:///home/u/.colima/default/docker.sock")
    (cli_config / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    found = candidates()
    assert found[0].url == "unix:///home/u/.colima/default/docker.sock"
    assert found[0].source == "context 'colima' (the docker CLI's current context)"
    assert found[1].source == "default socket"


def test_docker_context_env_overrides_the_config(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_context(cli_config, "colima", "unix:///colima.sock")
    write_context(cli_config, "desktop-linux", "unix:///desktop.sock")
    (cli_config / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    monkeypatch.setenv("DOCKER_CONTEXT", "desktop-linux")
    assert candidates()[0].url == "unix:///desktop.sock"
    assert candidates()[0].source == "context 'desktop-linux' (DOCKER_CONTEXT)"


def test_docker_host_overrides_every_context(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_context(cli_config, "colima", "unix:///colima.sock")
    monkeypatch.setenv("DOCKER_CONTEXT", "colima")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert sources(candidates()) == [("tcp://127.0.0.1:2375", "DOCKER_HOST")]


def test_default_context_is_the_default_socket(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONTEXT", "default")
    assert candidates()[0].source == "default socket"


def test_tcp_tls_context_hands_children_its_cert_path(
    cli_config: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_context(cli_config, "remote", "tcp://127.0.0.1:2376", tls=True)
    monkeypatch.setenv("DOCKER_CONTEXT", "remote")
    endpoint = candidates()[0]
    assert endpoint.tls is not None
    env = endpoint.env()
    assert env["DOCKER_HOST"] == "tcp://127.0.0.1:2376"
    assert env["DOCKER_TLS_VERIFY"] == "1"
    assert Path(env["DOCKER_CERT_PATH"]).name == "docker"


def test_a_context_that_does_not_exist_is_an_error_naming_it(
    cli_config: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_CONTEXT", "no-such-context")
    with pytest.raises(ContextNotFound, match="'no-such-context' \\(DOCKER_CONTEXT\\) does not exist"):
        candidates()
    with pytest.raises(DaemonUnavailable, match="no-such-context"):
        DockerDaemon(allow_start=False).start()


class FakeDockerAPI(BaseHTTPRequestHandler):
    """Answers what the docker SDK asks first: /_ping and /version."""

    def do_GET(self) -> None:
        body = b"OK" if self.path.endswith("/_ping") else json.dumps(
            {"Version": "99.0-fake", "ApiVersion": "1.41"}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain" if body == b"OK" else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class UnixHTTPServer(UnixStreamServer, HTTPServer):
    def server_bind(self) -> None:
        UnixStreamServer.server_bind(self)
        self.server_name, self.server_port = "fake", 0

    def get_request(self):  # type: ignore[no-untyped-def]
        request, _ = super().get_request()
        return request, ("fake", 0)


def test_daemon_behind_a_context_is_adopted_without_installing_an_engine(
    cli_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sock = tmp_path / "fake-docker.sock"
    server = UnixHTTPServer(str(sock), FakeDockerAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    write_context(cli_config, "colima", f"unix://{sock}")
    (cli_config / "config.json").write_text(json.dumps({"currentContext": "colima"}))

    def no_install(*args: object, **kwargs: object) -> None:
        raise AssertionError("the engine must not be installed when a context's daemon answers")

    monkeypatch.setattr(daemon_module, "run_steps", no_install)
    try:
        daemon = DockerDaemon(state_dir=tmp_path / "state")
        daemon.start()
        assert daemon.url == f"unix://{sock}"
        assert daemon.env()["DOCKER_HOST"] == f"unix://{sock}"
        assert not daemon.owned
        daemon.stop()
    finally:
        server.shutdown()
        server.server_close()
