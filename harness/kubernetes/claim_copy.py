"""Keep a PersistentVolumeClaim and a local folder in step, through the API only.

On an existing cluster there is no host folder behind the volumes (on kind
the harness mounts one into its nodes), so the environment copies, through
short pods that mount the claim:

* in, before a run (:func:`stage_claim`): what the test put in
  ``env.data_dir`` goes to the claim as a gzipped tar on the stdin of a
  command exec'd in the pod, so the pods find their inputs where they
  would on kind;
* out, after a run (:func:`copy_claim`): the pod prints a gzipped tar of the
  claim in base64 as its log, which is decoded and unpacked over the folder.
  The kubelet rotates container logs at 10 MiB by default, which bounds what
  one copy can carry, and so what may be copied in (:data:`STAGE_LIMIT`).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes.stream import stream
from kubernetes.stream.ws_client import ERROR_CHANNEL
from websocket import WebSocketException

from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.kubernetes.pod_log import pod_log
from airflow_e2e_harness.waiting import WaitTimeout, wait_until

COPY_TIMEOUT = 120.0
COPY_IMAGE = "alpine:3"  # where no image of the harness's own is pushed (stock mode): sh, tar, gzip, base64
COPY_OUT_SCRIPT = "cd /claim && tar czf - . | base64"
MIB = 1024 * 1024
LOG_LIMIT = 10 * MIB  # the kubelet's default containerLogMaxSize: one copy out must fit in one log file
STAGE_LIMIT = LOG_LIMIT * 3 // 4  # base64 makes 4 bytes of 3: what copied in still fits when copied out
CHUNK = 256 * 1024  # bytes per stdin frame
# What is in the claim but not in the folder goes (the files a test removed), but only once the
# folder was copied from the claim: before the first run it cannot show what the manifests put there.
CLEAR_SCRIPT = "cd /claim && rm -rf ./..?* ./.[!.]* ./*"
UNPACK_SCRIPT = "head -c {size} | tar xzf - -C /claim"  # head: the v4 exec protocol cannot close stdin
TreeState = frozenset[tuple[str, int, int, int]]


class ClaimCopyError(HarnessError, RuntimeError):
    """The copy pod failed, its output was not a tar archive, or the inputs are too large."""


def copy_claim(core: k8s.CoreV1Api, namespace: str, claim: str, image: str, dest: Path) -> None:
    """Replace ``dest`` with the files of ``claim`` (run with ``image``, which needs sh, tar,
    gzip and base64)."""
    name = f"airflow-e2e-copy-{uuid.uuid4().hex[:8]}"
    core.create_namespaced_pod(namespace, copy_pod(name, claim, image, ["sh", "-c", COPY_OUT_SCRIPT], True))
    try:
        phase = _wait(core, namespace, name, ("Succeeded", "Failed"))
        text = pod_log(core, name, namespace)
        if phase != "Succeeded":
            raise ClaimCopyError(f"copying claim {namespace}/{claim}: pod {name} {phase}: {text[-2000:]}")
        try:
            archive = base64.b64decode("".join(text.split()), validate=True)
        except binascii.Error as err:
            raise ClaimCopyError(f"copying claim {namespace}/{claim}: not base64 ({err})") from err
    finally:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    # Unpacked beside dest first: an archive that cannot be unpacked leaves the last copy in place.
    dest.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(fresh, filter="data")
    except (tarfile.TarError, EOFError, OSError) as err:
        shutil.rmtree(fresh, ignore_errors=True)
        raise ClaimCopyError(f"copying claim {namespace}/{claim}: the archive does not unpack ({err!r}); "
                             f"{dest} keeps the previous copy") from err
    shutil.rmtree(dest, ignore_errors=True)
    fresh.rename(dest)


def stage_claim(
    core: k8s.CoreV1Api, namespace: str, claim: str, image: str, src: Path, *, replace: bool,
) -> int:
    """Copy the files of ``src`` into ``claim``; ``replace``: remove what else it holds first.
    Returns the bytes sent (a gzipped tar). ``image`` needs sh, sleep, rm, head, tar and gzip.

    :raises ClaimCopyError: ``src`` packs to more than :data:`STAGE_LIMIT`, or the copy failed.
    """
    archive = pack(src, STAGE_LIMIT)
    name = f"airflow-e2e-stage-{uuid.uuid4().hex[:8]}"
    where = f"copying {src} into claim {namespace}/{claim}"
    # The pod only waits to be exec'd into; it ends by itself should the harness die meanwhile.
    waiting = ["sleep", f"{2 * COPY_TIMEOUT:.0f}"]
    core.create_namespaced_pod(namespace, copy_pod(name, claim, image, waiting, False))
    try:
        phase = _wait(core, namespace, name, ("Running", "Succeeded", "Failed"))
        if phase != "Running":
            raise ClaimCopyError(f"{where}: pod {name} {phase}: {pod_log(core, name, namespace)[-2000:]}")
        script = " && ".join([*([CLEAR_SCRIPT] if replace else []), UNPACK_SCRIPT.format(size=len(archive))])
        ok, output = exec_with_stdin(core, namespace, name, ["sh", "-c", script], archive)
        if not ok:
            raise ClaimCopyError(f"{where}: {output[-2000:]}")
    finally:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    return len(archive)


def pack(src: Path, limit: int) -> bytes:
    """``src``'s entries as a gzipped tar, named relative to it (the claim's root is not touched)."""
    out = _Bounded(limit)
    try:
        with tarfile.open(fileobj=out, mode="w:gz") as tar:
            for child in sorted(src.iterdir()) if src.is_dir() else []:
                tar.add(child, arcname=child.name)
    except _TooLarge:
        raise ClaimCopyError(
            f"{src} packs to more than {limit / MIB:.1f} MiB (gzipped tar), the most the harness copies "
            f"into a claim: after each run the claim is copied back through a pod log, which the kubelet "
            f"rotates at {LOG_LIMIT // MIB} MiB. Let a task make large inputs, or build them into its image."
        ) from None
    return out.getvalue()


def tree_state(root: Path) -> TreeState:
    """Each entry under ``root`` with its mode, size and mtime: a folder whose state has not
    changed since it was copied from its claim needs no copy back in."""
    entries: set[tuple[str, int, int, int]] = set()
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            st = path.lstat()
            entries.add((path.relative_to(root).as_posix(), st.st_mode, st.st_size, st.st_mtime_ns))
    return frozenset(entries)


def copy_pod(name: str, claim: str, image: str, command: list[str], read_only: bool) -> k8s.V1Pod:
    """A one-container pod running ``command`` with ``claim`` mounted at /claim."""
    source = k8s.V1PersistentVolumeClaimVolumeSource(claim_name=claim, read_only=read_only)
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, labels={"app.kubernetes.io/managed-by": "airflow-e2e-harness"}),
        spec=k8s.V1PodSpec(
            restart_policy="Never",
            containers=[k8s.V1Container(
                name="copy", image=image, image_pull_policy="IfNotPresent", command=command,
                volume_mounts=[k8s.V1VolumeMount(name="claim", mount_path="/claim", read_only=read_only)],
            )],
            volumes=[k8s.V1Volume(name="claim", persistent_volume_claim=source)],
        ),
    )


def exec_with_stdin(
    core: k8s.CoreV1Api, namespace: str, name: str, command: list[str], data: bytes,
) -> tuple[bool, str]:
    """Run ``command`` in the pod with ``data`` on its stdin; (it exited 0, what it printed or why not).

    ``stream`` swaps its client's request method while it connects: a client of its own keeps
    calls other threads make on the shared one plain HTTP.
    """
    api = k8s.ApiClient(core.api_client.configuration)
    try:
        ws = stream(
            k8s.CoreV1Api(api).connect_get_namespaced_pod_exec, name, namespace, container="copy",
            command=command, stdin=True, stdout=True, stderr=True, tty=False, _preload_content=False,
        )
        try:
            _send(ws, data)
            ws.run_forever(timeout=COPY_TIMEOUT)
            status = ws.read_channel(ERROR_CHANNEL)  # before read_all(), which drops every channel
            printed = ws.read_all()
        finally:
            ws.close()
    finally:
        api.close()
    ok, why = exit_status(status)
    return ok, "\n".join(part for part in (printed.strip(), why) if part)


def exit_status(status: str) -> tuple[bool, str]:
    """The exec's outcome from its error channel (a Status object; nothing: it never ended)."""
    if not status:
        return False, f"no exit status within {COPY_TIMEOUT:.0f}s"
    try:
        parsed: dict[str, Any] = json.loads(status)
    except ValueError:
        return False, status
    return parsed.get("status") == "Success", str(parsed.get("message") or "")


def _send(ws: Any, data: bytes) -> None:
    for start in range(0, len(data), CHUNK):
        if not ws.is_open():
            return
        try:
            ws.write_stdin(data[start:start + CHUNK])
        except (OSError, WebSocketException):
            return  # the command ended early: its exit status says why
        ws.update(timeout=0)  # what it printed so far, and a close, without waiting


def _wait(core: k8s.CoreV1Api, namespace: str, name: str, phases: tuple[str, ...]) -> str:
    """The pod's phase once it is one of ``phases``; else what it was when the wait ran out."""
    seen = ["Pending"]

    def reached() -> str | None:
        seen.append(core.read_namespaced_pod(name, namespace).status.phase)
        return None if seen[-1] in phases else f"pod {namespace}/{name} is {seen[-1]}"

    try:
        wait_until(reached, what=f"copy pod {namespace}/{name}", timeout=COPY_TIMEOUT)
    except WaitTimeout:
        return f"{seen[-1]} after {COPY_TIMEOUT:.0f}s"
    return seen[-1]


class _TooLarge(Exception):
    pass


class _Bounded(io.BytesIO):
    """A buffer that refuses to grow past ``limit``: large inputs fail before they fill memory."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.over = False

    def write(self, data: Any) -> int:
        if self.over:  # tarfile and gzip still write their trailers as they close
            return len(data)
        if self.tell() + len(data) > self.limit:
            self.over = True
            raise _TooLarge
        return super().write(data)
