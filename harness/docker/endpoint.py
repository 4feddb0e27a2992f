"""Where the user's Docker daemon is, in the order the docker CLI looks.

``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``) wins
outright, as in the CLI. Otherwise the current context: ``DOCKER_CONTEXT``,
else ``currentContext`` in the CLI config (``$DOCKER_CONFIG`` or
``~/.docker``); that is how Docker Desktop, colima and rootless setups are
reached. Then the default socket, then the rootless one. The docker SDK reads
the context store and its TLS material; this module only puts the
candidates in order and says where each came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import docker.errors
from docker.context import ContextAPI
from docker.context.config import get_current_context_name
from docker.tls import TLSConfig
from docker.utils import kwargs_from_env

from airflow_e2e_harness.errors import HarnessError

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


class ContextNotFound(HarnessError, LookupError):
    """The docker context the user selected does not exist."""


@dataclass(frozen=True)
class Endpoint:
    """One place a daemon may answer."""

    url: str
    source: str  # for log lines and errors: "DOCKER_HOST", "context 'colima' (DOCKER_CONTEXT)", ...
    tls: TLSConfig | None = None

    def env(self) -> dict[str, str]:
        """What child processes (DockerOperator, kind, the docker CLI) need to reach the same daemon."""
        values = {"DOCKER_HOST": self.url}
        if self.tls is not None:
            values["DOCKER_TLS_VERIFY"] = "1" if self.tls.verify else ""
            cert = self.tls.cert[0] if self.tls.cert else self.tls.ca_cert
            if cert:
                values["DOCKER_CERT_PATH"] = str(Path(cert).parent)
        return values


def candidates(environ: Mapping[str, str] | None = None) -> list[Endpoint]:
    """Every place to try, in the docker CLI's order; raises ContextNotFound for a missing context."""
    environ = os.environ if environ is None else environ
    host = environ.get("DOCKER_HOST")
    if host:
        tls = kwargs_from_env(environment=dict(environ)).get("tls")
        return [Endpoint(host, "DOCKER_HOST", tls or None)]
    found: list[Endpoint] = []
    name, why = environ.get("DOCKER_CONTEXT"), "DOCKER_CONTEXT"
    if not name:
        name, why = get_current_context_name(), "the docker CLI's current context"
    if name and name != "default":
        try:
            context = ContextAPI.get_context(name)
        except docker.errors.ContextException as err:
            raise ContextNotFound(f"docker context {name!r} ({why}) cannot be read: {err}") from err
        if context is None:
            raise ContextNotFound(
                f"docker context {name!r} ({why}) does not exist; `docker context ls` lists the ones "
                "there are (unset DOCKER_CONTEXT, or `docker context use default`)."
            )
        if context.Host:
            found.append(Endpoint(context.Host, f"context {name!r} ({why})", context.TLSConfig))
    found.append(Endpoint(DEFAULT_SOCKET, "default socket"))
    runtime = environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    found.append(Endpoint(f"unix://{runtime}/docker.sock", "rootless socket"))
    return found
