"""``python -m airflow_e2e_harness``: provisioning, one-off DAG runs, housekeeping outside pytest,
``compare`` (your suite on two Airflow versions) and ``loop`` (reruns in one process)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

from airflow_e2e_harness.airflow.interrupts import sigterm_as_keyboard_interrupt
from airflow_e2e_harness.compare.command import add_parser as add_compare_parser
from airflow_e2e_harness.docker.daemon import DockerDaemon, ping, reachable_clients, stop_process
from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.housekeeping.cleanup import Sweeper
from airflow_e2e_harness.kubernetes.cluster_state import ClusterState
from airflow_e2e_harness.loop import add_parser as add_loop_parser
from airflow_e2e_harness.session import SHARED_CLUSTER_NAME, E2ESession, KeepOptions, KindOptions


def cmd_provision(args: argparse.Namespace) -> int:
    """Everything the Docker half needs; ``--kind`` adds kind and its node image."""
    session = E2ESession(
        keep=KeepOptions(daemon=args.keep_daemon), kind=KindOptions(node_image=args.kind_image),
    )
    with session:
        session.resolve_python_base()  # builds the local base where no registry answers
        if args.kind:
            session.timer.log(f"kind assets: {session.provision_kind()}")
    print(session.timer.summary(), file=sys.stderr)
    return 0


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: {what} {value!r}: expected NAME=VALUE")
        pairs[key] = rest
    return pairs


def cmd_run(args: argparse.Namespace) -> int:
    """One DAG run in a Docker or kind environment, as the pytest fixtures would wire it."""
    keep = KeepOptions(daemon=args.keep_all, cluster=args.keep_all, resources=args.keep_all)
    name = args.cluster_name or (SHARED_CLUSTER_NAME if args.keep_all else None)  # kept: found again
    kind = KindOptions(
        cluster_name=name, node_image=args.kind_image, context=args.kube_context,
        kubeconfig=Path(args.kubeconfig).expanduser().resolve() if args.kubeconfig else None,
        image_registry=args.image_registry,
    )
    session = E2ESession(keep=keep, kind=kind, fast_waits=not args.stock_waits,
                         fast_retries=not args.keep_retry_delays)
    images: dict[str, str] | str | None = _pairs(args.image, "--image") or args.images
    common = dict(
        dags=args.dags, images=images, connections=_pairs(args.conn, "--conn"),
        variables=_pairs(args.var, "--var"), env=_pairs(args.env, "--env"),
    )
    with session:
        if args.kind:
            env = session.kind(manifests=args.manifests or None, namespace=args.namespace, **common)
        else:
            env = session.docker(network=args.network, **common)
        with env:
            if args.until:
                results = env.run_catchup(args.dag_id, args.logical_date, args.until)
            elif args.scheduled:
                results = [env.run_scheduled(args.dag_id, args.logical_date)]
            else:
                results = [env.run(args.dag_id, args.logical_date)]
        for result in results:
            print(result.describe())
            for task in result.failed_tasks():
                print(f"--- {task.task_id} ({task.state}), last lines of {task.log_path}:\n{task.log_tail()}")
        session.release()
        print(session.timer.summary(), file=sys.stderr)
    return 0 if all(result.ok for result in results) else 1


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
        with daemon.leases.locked():
            users = daemon.leases.prune()
            if users and not args.force:
                print(f"harness daemon: used by live session(s) {', '.join(users)}; not stopped (--force)")
                return 1
            daemon.keep_marker.unlink(missing_ok=True)
            stopped = stop_process(daemon.pidfile)
        print("harness daemon: stopped" if stopped else "harness daemon: not running")
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    """Remove what killed sessions left (clusters, containers, networks, Airflow homes, the daemon)."""
    clients = reachable_clients()
    own = DockerDaemon(use_existing=False, allow_start=False)
    stranded = [s.name for s in ClusterState.all() if s.read().get("docker_host") == own.own_url]
    with ExitStack() as stack:
        if own.own_url not in clients and stranded:
            # Clusters left on the harness daemon, which is down: start it to remove their nodes.
            daemon = stack.enter_context(DockerDaemon(use_existing=False))
            assert daemon.client is not None
            clients[daemon.url] = daemon.client
        report = Sweeper(clients, include_kept=args.kept, stop_daemon=True).sweep()
    for client in clients.values():
        client.close()
    print(report)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_e2e_harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("provision", help="install the engine and build local base images (cached)")
    p.add_argument("--kind", action="store_true", help="also build kind, Kubernetes and the node image")
    p.add_argument("--kind-image", default=None,
                   help="'local', 'stock' or an image tag (HARNESS_KIND_IMAGE)")
    p.add_argument("--keep-daemon", action="store_true", help="leave the harness daemon running")
    p.set_defaults(func=cmd_provision)
    d = sub.add_parser("daemon", help="start, stop or check the harness-owned Docker daemon")
    d.add_argument("action", choices=["start", "stop", "status"])
    d.add_argument("--force", action="store_true", help="stop: even while sessions use it")
    d.set_defaults(func=cmd_daemon)
    r = sub.add_parser("run", help="run one DAG once in a Docker environment, or a kind one with --kind")
    r.add_argument("dag_id")
    r.add_argument("logical_date", help="e.g. 2026-01-05")
    r.add_argument("--scheduled", action="store_true",
                   help="as the scheduler would run it: run type, data interval, run id from its timetable")
    r.add_argument("--until", metavar="END", help="every scheduled run from logical_date to END, in order")
    r.add_argument("--dags", default="dags", help="folder of DAG files (default: ./dags)")
    r.add_argument("--images", help="folder of <name>/Dockerfile, each built as <name>:e2e")
    r.add_argument("--image", action="append", default=[], metavar="TAG=CONTEXT", help="an image to build")
    r.add_argument("--conn", action="append", default=[], metavar="ID=URI", help="an Airflow connection")
    r.add_argument("--var", action="append", default=[], metavar="KEY=VALUE", help="an Airflow variable")
    r.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="what the DAG files read; ${data_dir}, ${network}, ${namespace} are filled in")
    r.add_argument("--network", help="Docker: a user-defined network for the task containers")
    r.add_argument("--kind", action="store_true", help="run in the kind cluster")
    r.add_argument("--manifests", action="append", default=[], metavar="GLOB", help="kind: manifests")
    r.add_argument("--namespace", default="default", help="kind: the namespace (${NAMESPACE} in manifests)")
    r.add_argument("--cluster-name", help="reuse (or create and share) this cluster; default: one of its own")
    r.add_argument("--kind-image", default=None, help="'local', 'stock' or an image tag (HARNESS_KIND_IMAGE)")
    r.add_argument("--keep-all", action="store_true", help="keep daemon, cluster and resources")
    r.add_argument("--stock-waits", action="store_true", help="KubernetesPodOperator's own poll intervals")
    r.add_argument("--keep-retry-delays", action="store_true", help="wait out each retry_delay")
    r.add_argument("--kubeconfig", help="kind: an existing cluster's kubeconfig (read only) instead of kind")
    r.add_argument("--kube-context", help="with --kubeconfig: its context (default: the current one)")
    r.add_argument("--image-registry", help="with --kubeconfig: HOST[:PORT][/PREFIX] the cluster pulls from")
    r.set_defaults(func=cmd_run)
    c = sub.add_parser(
        "cleanup", help="remove what killed sessions left: clusters, containers, networks, Airflow homes",
    )
    c.add_argument("--kept", action="store_true", help="also kept clusters and a kept harness daemon")
    c.set_defaults(func=cmd_cleanup)
    add_compare_parser(sub)
    add_loop_parser(sub)
    args = parser.parse_args(argv)
    sigterm_as_keyboard_interrupt()
    try:
        return int(args.func(args))
    except HarnessError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
