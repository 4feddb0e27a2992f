"""``python -m airflow_e2e_harness``: provisioning and daemon housekeeping outside pytest."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from airflow_e2e_harness.containers import remove_session_leftovers
from airflow_e2e_harness.daemon import DaemonUnavailable, DockerDaemon, ping
from airflow_e2e_harness.images import resolve_python_base
from airflow_e2e_harness.provision.steps import ProvisionError
from airflow_e2e_harness.timing import default_timer


def cmd_provision(args: argparse.Namespace) -> int:
    """Everything the Docker half needs; ``--kind`` adds kind and its node image."""
    timer = default_timer()
    with DockerDaemon(keep=args.keep_daemon, timer=timer) as daemon:
        assert daemon.client is not None
        resolve_python_base(daemon.client, timer)
        if args.kind:
            from airflow_e2e_harness.provision.kind_assets import provision_kind

            assets = provision_kind(daemon, timer, args.kind_image)
            timer.log(f"kind assets: {assets}")
    print(timer.summary(), file=sys.stderr)
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    daemon = DockerDaemon(keep=True, use_existing=False)
    if args.action == "start":
        daemon.start()
        print(f"export DOCKER_HOST={daemon.url}")
    elif args.action == "status":
        client = ping(daemon.own_url)
        print(f"harness daemon at {daemon.own_url}: {'running' if client else 'not running'}")
        return 0 if client else 1
    elif args.action == "stop":
        try:
            pid = int(daemon.pidfile.read_text().strip())
        except (OSError, ValueError):
            print("harness daemon: not running")
            return 0
        os.kill(pid, signal.SIGTERM)
        print(f"harness daemon: sent SIGTERM to {pid}")
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    """Remove every container and network the harness labelled, e.g. after `kill -9`."""
    with DockerDaemon(allow_start=False) as daemon:
        assert daemon.client is not None
        removed = remove_session_leftovers(daemon.client)
    print(f"removed {removed} container(s)/network(s) left by the harness")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_e2e_harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("provision", help="install the engine and build local base images (cached)")
    p.add_argument("--kind", action="store_true", help="also build kind, Kubernetes and the node image")
    p.add_argument("--kind-image", default=os.environ.get("HARNESS_KIND_IMAGE"),
                   help="'local', 'stock' or an image tag (HARNESS_KIND_IMAGE)")
    p.add_argument("--keep-daemon", action="store_true", help="leave the harness daemon running")
    p.set_defaults(func=cmd_provision)
    d = sub.add_parser("daemon", help="start, stop or check the harness-owned Docker daemon")
    d.add_argument("action", choices=["start", "stop", "status"])
    d.set_defaults(func=cmd_daemon)
    c = sub.add_parser("cleanup", help="remove containers and networks left by killed runs")
    c.set_defaults(func=cmd_cleanup)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (DaemonUnavailable, ProvisionError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
