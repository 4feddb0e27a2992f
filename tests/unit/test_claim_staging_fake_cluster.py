"""Inputs copied into an existing cluster's claims before each run, without a cluster.

The copy-in's shell script runs for real, against a local folder standing in for the claim (a
fake exec session hands it the bytes the harness sends); the environment's bookkeeping (when to
copy in, when to replace the claim's content, which folder is which claim's, what cluster the
findings name) runs against a fake cluster whose "claims" are local folders too.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from contextlib import nullcontext, suppress
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from airflow_e2e_harness import environment
from airflow_e2e_harness.airflow.runner import RunResult
from airflow_e2e_harness.environment import KindEnvironment
from airflow_e2e_harness.kubernetes import claim_copy
from airflow_e2e_harness.kubernetes.claim_copy import (
    CHUNK,
    STAGE_LIMIT,
    ClaimCopyError,
    pack,
    stage_claim,
    tree_state,
)
from airflow_e2e_harness.policies.k8s_redirect import KubernetesRedirect
from airflow_e2e_harness.session import E2ESession
from airflow_e2e_harness.timing import Timer


# -- the copy-in itself: its script against a local folder --------------------------------------
class LocalExec:
    """An exec session whose ``sh -c`` script runs here, ``/claim`` being a local folder.

    Like the v4 exec protocol, it never sees stdin close: the script must stop reading by itself.
    """

    def __init__(self, claim: Path, command: list[str]) -> None:
        assert command[:2] == ["sh", "-c"], command
        self.script = command[2].replace("/claim", str(claim))
        self.stdin = bytearray()
        self.frames = 0
        self.open = True
        self.status = ""
        self.printed = ""

    def is_open(self) -> bool:
        return self.open

    def write_stdin(self, data: bytes) -> None:
        assert isinstance(data, bytes) and len(data) <= CHUNK
        self.stdin += data
        self.frames += 1

    def update(self, timeout: float = 0) -> None:
        pass

    def run_forever(self, timeout: float | None = None) -> None:
        # stdin stays open (a pipe nobody closes) so a script that waits for EOF times out here
        proc = subprocess.Popen(["sh", "-c", self.script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(bytes(self.stdin))
            proc.stdin.flush()
        except BrokenPipeError:
            pass  # the script ended before reading it all
        try:
            code = proc.wait(timeout=20)
        finally:
            with suppress(BrokenPipeError):
                proc.stdin.close()
        self.printed = proc.stdout.read().decode()
        self.status = json.dumps({"status": "Success"} if code == 0 else {
            "status": "Failure", "message": f"command terminated with non-zero exit code: exit code {code}"})
        self.open = False

    def read_channel(self, channel: int) -> str:
        assert channel == 3
        return self.status

    def read_all(self) -> str:
        return self.printed

    def close(self) -> None:
        self.open = False


class FakeCore:
    """Pods that reach ``phase`` at once; exec goes to a :class:`LocalExec` on ``claim``."""

    def __init__(self, claim: Path, phase: str = "Running") -> None:
        self.claim = claim
        self.phase = phase
        self.api_client = k8s.ApiClient(k8s.Configuration())
        self.created: list[k8s.V1Pod] = []
        self.deleted: list[str] = []
        self.execs: list[LocalExec] = []

    def create_namespaced_pod(self, namespace: str, pod: k8s.V1Pod) -> None:
        self.created.append(pod)

    def read_namespaced_pod(self, name: str, namespace: str) -> Any:
        return SimpleNamespace(status=SimpleNamespace(phase=self.phase))

    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> Any:
        return SimpleNamespace(data=b"pull access denied for alpine:3\n")

    def delete_namespaced_pod(self, name: str, namespace: str, **kwargs: Any) -> None:
        self.deleted.append(name)

    def stream(self, method: Any, name: str, namespace: str, **kwargs: Any) -> LocalExec:
        assert method.__name__ == "connect_get_namespaced_pod_exec"
        assert kwargs["stdin"] and not kwargs["tty"] and kwargs["container"] == "copy"
        self.execs.append(LocalExec(self.claim, kwargs["command"]))
        return self.execs[-1]


@pytest.fixture
def core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCore:
    fake = FakeCore(tmp_path / "claim")
    fake.claim.mkdir()
    monkeypatch.setattr(claim_copy, "stream", fake.stream)
    return fake


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


INPUTS = {"in/a.txt": b"the quick brown fox\n", "in/deep/b.txt": b"dog\n", ".hidden": b"dot file\n",
          "noise.bin": os.urandom(3 * CHUNK)}  # incompressible: several stdin frames
OLD = {"old.txt": b"from an earlier run\n", ".old-hidden": b"x\n", "..odd": b"y\n", "in/gone.txt": b"z\n"}


def test_the_claim_then_holds_exactly_what_the_folder_holds(core: FakeCore, tmp_path: Path) -> None:
    src = tmp_path / "data"
    write(src, INPUTS)
    write(core.claim, OLD)
    sent = stage_claim(core, "words-1", "words", "alpine:3", src, replace=True)  # type: ignore[arg-type]
    assert files_of(core.claim) == INPUTS  # what only the claim had is gone, dot files too
    assert sent == len(pack(src, STAGE_LIMIT))
    assert core.execs[0].frames > 1
    (pod,) = core.created
    mount = pod.spec.containers[0].volume_mounts[0]
    assert (mount.mount_path, mount.read_only) == ("/claim", False)
    assert pod.spec.volumes[0].persistent_volume_claim.claim_name == "words"
    assert pod.spec.containers[0].command[0] == "sleep"  # it ends by itself should the harness die
    assert core.deleted == [pod.metadata.name]


def test_before_the_first_run_what_the_claim_holds_stays(core: FakeCore, tmp_path: Path) -> None:
    """The folder could not show what the manifests put into the claim: nothing is removed."""
    src = tmp_path / "data"
    write(src, INPUTS)
    write(core.claim, OLD)
    stage_claim(core, "words-1", "words", "alpine:3", src, replace=False)  # type: ignore[arg-type]
    assert files_of(core.claim) == OLD | INPUTS


def test_a_missing_folder_empties_the_claim(core: FakeCore, tmp_path: Path) -> None:
    write(core.claim, OLD)
    stage_claim(core, "words-1", "words", "alpine:3", tmp_path / "nothing", replace=True)  # type: ignore[arg-type]
    assert files_of(core.claim) == {}


def test_too_much_input_is_refused_naming_the_limit_before_any_pod(core: FakeCore, tmp_path: Path) -> None:
    src = tmp_path / "data"
    (src / "in").mkdir(parents=True)
    with (src / "in" / "big.bin").open("wb") as handle:
        for _ in range(STAGE_LIMIT // CHUNK + 2):
            handle.write(os.urandom(CHUNK))
    with pytest.raises(ClaimCopyError, match=r"more than 7\.5 MiB \(gzipped tar\).*rotates at 10 MiB"):
        stage_claim(core, "words-1", "words", "alpine:3", src, replace=True)  # type: ignore[arg-type]
    assert core.created == []


def test_a_failed_copy_says_what_the_pod_printed_and_the_pod_goes(core: FakeCore, tmp_path: Path) -> None:
    src = tmp_path / "data"
    write(src, {"a.txt": b"a\n"})
    core.claim.rmdir()  # `cd /claim` fails
    with pytest.raises(ClaimCopyError, match=r"(?s)into claim words-1/words: .*can.t cd.*exit code 2"):
        stage_claim(core, "words-1", "words", "alpine:3", src, replace=True)  # type: ignore[arg-type]
    assert core.deleted == [core.created[0].metadata.name]


def test_a_pod_that_never_runs_is_named_with_its_log(core: FakeCore, tmp_path: Path) -> None:
    core.phase = "Failed"
    with pytest.raises(ClaimCopyError, match=r"pod airflow-e2e-stage-\w+ Failed: pull access denied"):
        stage_claim(core, "words-1", "words", "alpine:3", tmp_path, replace=True)  # type: ignore[arg-type]
    assert core.execs == [] and len(core.deleted) == 1


def test_packed_names_are_relative_to_the_claims_root(tmp_path: Path) -> None:
    write(tmp_path, {"in/a.txt": b"a\n"})
    with tarfile.open(fileobj=io.BytesIO(pack(tmp_path, STAGE_LIMIT)), mode="r:gz") as tar:
        assert tar.getnames() == ["in", "in/a.txt"]


def test_tree_state_sees_edits_additions_and_removals(tmp_path: Path) -> None:
    write(tmp_path, {"in/a.txt": b"a\n", "in/b.txt": b"b\n"})
    before = tree_state(tmp_path)
    assert before == tree_state(tmp_path)
    (tmp_path / "in" / "a.txt").write_bytes(b"A\n")
    os.utime(tmp_path / "in" / "a.txt", ns=(1, 1))  # same size: the mtime tells
    edited = tree_state(tmp_path)
    assert edited != before
    (tmp_path / "in" / "b.txt").unlink()
    assert tree_state(tmp_path) not in (before, edited)
    assert tree_state(tmp_path / "missing") == frozenset()


# -- the environment's bookkeeping on a fake existing cluster ----------------------------------
class FakeClaims:
    """stage_claim / copy_claim as the cluster would do them, on local folders, with a log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: list[tuple[str, str, bool | None]] = []
        self.fail_copy = False

    def claim(self, name: str) -> Path:
        (self.root / name).mkdir(parents=True, exist_ok=True)  # a fresh claim is an empty folder
        return self.root / name

    def stage(self, core: Any, namespace: str, claim: str, image: str, src: Path, *, replace: bool) -> int:
        self.calls.append(("stage", claim, replace))
        dest = self.claim(claim)
        if replace:
            shutil.rmtree(dest, ignore_errors=True)
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True)
        dest.mkdir(parents=True, exist_ok=True)
        return 100

    def copy(self, core: Any, namespace: str, claim: str, image: str, dest: Path) -> None:
        self.calls.append(("copy", claim, None))
        if self.fail_copy:
            raise ClaimCopyError("pod Failed")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(self.claim(claim), dest)


class FakeSession:
    def __init__(self, root: Path, *, existing: bool) -> None:
        self.root = root
        self.artifacts_dir = root / "artifacts"
        self.id = "session-1"
        self.namespace_suffix = "4242" if existing else ""
        self.kind_options = SimpleNamespace(existing=existing)
        self.kind_assets = SimpleNamespace(sidecar_image=None)
        self.timer = Timer(stream=io.StringIO())
        self.policies = SimpleNamespace(
            kubernetes=KubernetesRedirect(),
            namespace_map=SimpleNamespace(target=lambda *args: nullcontext()),
            image_rewrite=SimpleNamespace(target=lambda *args: nullcontext()),
        )
        self.ownership = SimpleNamespace(hand_back=lambda *args: None)  # pytest runs as root here
        self.docker_client = None
        self.cluster = SimpleNamespace(
            name="ci" if existing else "airflow-e2e-4242", source=Path("/home/me/.kube/ci"),
            kubeconfig=root / "kubeconfig", data_dir=root / "kind-data", core=None, image_refs={},
            image_ref=lambda tag: tag,
        )

    def path(self, value: str | os.PathLike[str]) -> Path:
        return E2ESession.path(self, value)  # type: ignore[arg-type]


CLAIM = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: {name}, namespace: "${{NAMESPACE}}"}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
"""


def make(tmp_path: Path, claims: list[str], *, existing: bool = True) -> KindEnvironment:
    (tmp_path / "dags").mkdir(exist_ok=True)
    manifest = tmp_path / "storage.yaml"
    manifest.write_text("---\n".join(CLAIM.format(name=name) for name in claims))
    return KindEnvironment(FakeSession(tmp_path, existing=existing), dags=tmp_path / "dags",  # type: ignore[arg-type]
                           images=None, connections=None, variables=None, env=None,
                           manifests=[manifest], namespace="words")


@pytest.fixture
def claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeClaims:
    fake = FakeClaims(tmp_path / "cluster-claims")
    monkeypatch.setattr(environment, "stage_claim", fake.stage)
    monkeypatch.setattr(environment, "copy_claim", fake.copy)
    return fake


def result() -> RunResult:
    return RunResult(dag_id="count_words_k8s", logical_date=None, run_id="r", state="success")  # type: ignore[arg-type]


def a_run(env: KindEnvironment) -> RunResult:
    """What Environment._run does around the runner: copy in, the target, the run, copy back."""
    env._before_run()
    with env._kubernetes_target():
        pass
    done = result()
    env._after_run(done)
    return done


def test_inputs_go_in_before_each_run_and_removals_follow(tmp_path: Path, claims: FakeClaims) -> None:
    env = make(tmp_path, ["words"])
    write(env.data_dir, {"in/a.txt": b"a\n", "in/b.txt": b"b\n"})
    a_run(env)  # the first: added to what the manifests may have put there
    assert claims.calls == [("stage", "words", False), ("copy", "words", None)]
    assert files_of(claims.claim("words")) == {"in/a.txt": b"a\n", "in/b.txt": b"b\n"}
    a_run(env)  # unchanged since the copy back: not copied in again
    assert claims.calls[2:] == [("copy", "words", None)]
    (env.data_dir / "in" / "b.txt").unlink()
    a_run(env)
    assert claims.calls[3:] == [("stage", "words", True), ("copy", "words", None)]
    assert files_of(claims.claim("words")) == {"in/a.txt": b"a\n"}
    assert "stage claim words-4242/words: done" in env.session.timer.stream.getvalue()  # type: ignore[attr-defined]


def test_nothing_staged_nothing_copied_in(tmp_path: Path, claims: FakeClaims) -> None:
    env = make(tmp_path, ["words"])
    a_run(env)  # a fresh claim is left to the manifests
    assert claims.calls == [("copy", "words", None)]
    write(env.data_dir, {"in/a.txt": b"a\n"})
    a_run(env)  # data_dir is the claim's copy now: what it lacks, the claim must lack too
    assert claims.calls[1:] == [("stage", "words", True), ("copy", "words", None)]


def test_after_a_failed_copy_back_the_folder_goes_in_again(tmp_path: Path, claims: FakeClaims) -> None:
    env = make(tmp_path, ["words"])
    write(env.data_dir, {"in/a.txt": b"a\n"})
    a_run(env)
    claims.fail_copy = True
    assert a_run(env).findings == ["outputs of claim words-4242/words not copied: pod Failed"]
    claims.fail_copy = False
    claims.calls.clear()
    a_run(env)  # data_dir did not change, but the claim may differ from it now
    assert claims.calls == [("stage", "words", True), ("copy", "words", None)]


def test_several_claims_each_have_a_folder(tmp_path: Path, claims: FakeClaims) -> None:
    env = make(tmp_path, ["inputs", "outputs"])
    write(env.data_dir, {"inputs/a.txt": b"a\n", "stray.txt": b"in no claim\n"})
    a_run(env)
    assert claims.calls[0] == ("stage", "inputs", False)  # "outputs" has nothing: left alone
    assert files_of(claims.claim("inputs")) == {"a.txt": b"a\n"}


def test_a_failed_copy_in_stops_the_run_naming_the_claim(
    tmp_path: Path, claims: FakeClaims, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> int:
        raise ApiException(status=403, reason="pods/exec is forbidden")

    monkeypatch.setattr(environment, "stage_claim", forbidden)
    env = make(tmp_path, ["words"])
    write(env.data_dir, {"in/a.txt": b"a\n"})
    not_copied = r"(?s)inputs in .* not copied into claim words-4242/words: .*forbidden"
    with pytest.raises(ClaimCopyError, match=not_copied):
        a_run(env)
    monkeypatch.setattr(environment, "stage_claim", claims.stage)
    a_run(env)
    assert claims.calls[0] == ("stage", "words", True)  # the claim may be half written: replaced


def test_on_kind_nothing_is_copied_the_folder_is_the_volume(tmp_path: Path, claims: FakeClaims) -> None:
    env = make(tmp_path, ["words"], existing=False)
    write(env.data_dir, {"in/a.txt": b"a\n"})
    a_run(env)
    assert claims.calls == []


@pytest.mark.parametrize(("existing", "label"), [
    (True, "existing cluster (context ci, /home/me/.kube/ci)"),
    (False, "kind cluster airflow-e2e-4242"),
])
def test_tasks_are_said_to_go_to_the_cluster_actually_used(
    tmp_path: Path, claims: FakeClaims, existing: bool, label: str,
) -> None:
    env = make(tmp_path, ["words"], existing=existing)
    redirect = env.session.policies.kubernetes
    with env._kubernetes_target():
        assert redirect.label == label
    assert redirect.label == "the session's cluster"
