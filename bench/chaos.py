"""Chaos: interrupt and kill e2e sessions at random moments, then count what is left.

Each trial starts a real pytest session on a bundled scenario (cluster create,
image build and load, DAG runs: every phase can be hit) and, after a random
delay, either interrupts it (SIGINT to its process group, as a terminal's
Ctrl-C does, or SIGTERM to pytest, as a CI cancel does) or kills it with
SIGKILL and then runs ``python -m airflow_e2e_harness cleanup``. After each
trial it counts the harness's leftovers: labelled containers and networks,
recorded clusters and their nodes, session records, scratch folders, a
running harness daemon. A kind cluster made with kind itself stands for the
user's own and must survive every trial.

Prints numbers, asserts nothing; run it with no other harness session on the machine.

    python -m bench.chaos [--interrupts 10] [--kills 3] [--seed 1] [--min-delay 3] [--max-delay 80]
                          [--target tests/e2e/test_movielens_k8s.py]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from airflow_e2e_harness.docker.containers import SESSION_LABEL
from airflow_e2e_harness.docker.daemon import DockerDaemon, ping, reachable_clients
from airflow_e2e_harness.housekeeping.cleanup import SCRATCH_PREFIX
from airflow_e2e_harness.housekeeping.session_records import OWNER_FILE, all_records
from airflow_e2e_harness.kubernetes.cluster_state import KIND_CLUSTER_LABEL, ClusterState
from airflow_e2e_harness.session import E2ESession, KeepOptions

ROOT = Path(__file__).resolve().parents[1]
# Without job control a shell starts children with SIGINT ignored; put Python's handler back.
RUN_PYTEST = (
    "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.exit(pytest.main(sys.argv[1:]))"
)
STOP_LIMIT = 10.0  # seconds from signal to exit that count as "stopped in time"
HANG_LIMIT = 90.0  # after this the session is killed and counted as hung


@dataclass
class Trial:
    kind: str  # SIGINT, SIGTERM or SIGKILL
    delay: float
    exit_code: int | None = None
    stop_seconds: float | None = None
    finished_first: bool = False  # the session ended before the signal: not a real trial
    hung: bool = False
    phase: str = "start-up"  # the last harness phase started before the signal was sent
    leftovers: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.finished_first:
            return f"{self.kind:7} at {self.delay:5.1f}s: the session had already ended"
        took = "hung" if self.hung else f"exit {self.exit_code} after {self.stop_seconds:.1f}s"
        left = ", ".join(self.leftovers) or "nothing left"
        return f"{self.kind:7} at {self.delay:5.1f}s, during {self.phase}: {took}; {left}"


def leftovers() -> list[str]:
    """What the harness made that is still there, with no session alive."""
    found = []
    for client in reachable_clients().values():
        labelled = client.containers.list(all=True, filters={"label": SESSION_LABEL})
        found += [f"container {c.name}" for c in labelled]
        found += [f"network {n.name}" for n in client.networks.list(filters={"label": SESSION_LABEL})]
        for node in client.containers.list(all=True, filters={"label": KIND_CLUSTER_LABEL}):
            if node.labels.get(KIND_CLUSTER_LABEL, "").startswith("airflow-e2e-"):
                found.append(f"kind node {node.name}")
        client.close()
    found += [f"cluster record {s.name}" for s in ClusterState.all()]
    found += [f"session record {r.id}" for r in all_records()]
    found += [f"scratch {p}" for p in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*")
              if (p / OWNER_FILE).exists()]
    daemon = DockerDaemon(allow_start=False, use_existing=False)
    if not daemon.keep_marker.exists() and ping(daemon.own_url) is not None:
        found.append("harness daemon running")
    return found


def current_phase(log: Path) -> str:
    """The last harness phase that started (``[harness  12.3s] load x:e2e ...``)."""
    text = log.read_text(errors="replace")
    started = re.findall(r"^\[harness +[\d.]+s\] (.+?) \.\.\.$", text, re.MULTILINE)
    return started[-1] if started else "start-up"


def run_trial(trial: Trial, target: str, artifacts: Path) -> Trial:
    argv = [sys.executable, "-c", RUN_PYTEST, "-p", "no:cacheprovider", "-q", target,
            f"--artifacts-dir={artifacts}"]
    log = (artifacts / f"trial-{trial.kind}-{trial.delay:.0f}.log").open("w")
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        proc.wait(timeout=trial.delay)
        trial.finished_first = True
        return trial
    except subprocess.TimeoutExpired:
        pass
    trial.phase = current_phase(Path(log.name))
    sent = time.monotonic()
    if trial.kind == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole foreground group
    else:
        os.kill(proc.pid, getattr(signal, trial.kind))
    try:
        trial.exit_code = proc.wait(timeout=HANG_LIMIT)
        trial.stop_seconds = time.monotonic() - sent
    except subprocess.TimeoutExpired:
        trial.hung = True
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if trial.kind == "SIGKILL":
        subprocess.run([sys.executable, "-m", "airflow_e2e_harness", "cleanup"], cwd=ROOT, stdout=log,
                       stderr=subprocess.STDOUT, check=False)
    log.close()
    trial.leftovers = leftovers()
    return trial


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--interrupts", type=int, default=10)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", default="tests/e2e/test_movielens_k8s.py")
    parser.add_argument("--min-delay", type=float, default=3.0, help="earliest signal, in seconds")
    parser.add_argument("--max-delay", type=float, default=80.0, help="latest signal, in seconds")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    artifacts = Path(tempfile.mkdtemp(prefix="harness-chaos-"))

    # The user's own cluster: made with kind itself, on the harness daemon, kept running throughout.
    users = "users-own-chaos"
    with E2ESession(keep=KeepOptions(daemon=True)) as setup:
        assets, env = setup.provision_kind(), dict(os.environ) | setup.start_daemon().env()
        subprocess.run([str(assets.kind), "create", "cluster", "--name", users, "--image", assets.node_image,
                        "--kubeconfig", str(artifacts / "users-kubeconfig")], env=env, check=True,
                       capture_output=True)
    kinds = ["SIGINT", "SIGTERM"] * ((args.interrupts + 1) // 2)
    def delay() -> float:
        return rng.uniform(args.min_delay, args.max_delay)

    plan = [Trial(kind, delay()) for kind in kinds[: args.interrupts]]
    plan += [Trial("SIGKILL", delay()) for _ in range(args.kills)]
    rng.shuffle(plan)
    print(f"chaos: {len(plan)} trials on {args.target}; logs in {artifacts}", flush=True)
    for n, trial in enumerate(plan, 1):
        run_trial(trial, args.target, artifacts)
        print(f"[{n:2}/{len(plan)}] {trial.line()}", flush=True)

    real = [t for t in plan if not t.finished_first]
    stops = [t for t in real if t.kind != "SIGKILL"]
    kills = [t for t in real if t.kind == "SIGKILL"]
    users_alive = False
    for client in reachable_clients().values():
        nodes = client.containers.list(filters={"label": f"{KIND_CLUSTER_LABEL}={users}"})
        users_alive = users_alive or bool(nodes)
        client.close()
    print("\nsummary")
    print(f"  interrupts: {len(stops)}; stopped within {STOP_LIMIT:.0f}s: "
          f"{sum(1 for t in stops if not t.hung and (t.stop_seconds or 0) <= STOP_LIMIT)}; "
          f"hangs: {sum(t.hung for t in stops)}; non-zero exit: {sum(1 for t in stops if t.exit_code)}; "
          f"slowest stop: {max((t.stop_seconds or 0) for t in stops) if stops else 0:.1f}s")
    print(f"  kill -9 + cleanup: {len(kills)}")
    print(f"  trials with leftovers: {sum(1 for t in real if t.leftovers)} of {len(real)}")
    print(f"  the user's own kind cluster: {'intact' if users_alive else 'GONE'}")
    with E2ESession() as teardown:
        subprocess.run([str(teardown.provision_kind().kind), "delete", "cluster", "--name", users],
                       env=dict(os.environ) | teardown.start_daemon().env(), capture_output=True, check=False)
    subprocess.run([sys.executable, "-m", "airflow_e2e_harness", "daemon", "stop"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
