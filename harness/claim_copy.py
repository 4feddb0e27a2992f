"""Copy what pods wrote to a PersistentVolumeClaim into a local folder, through the API only.

On an existing cluster there is no host folder behind the volumes (on kind
the harness mounts one into its nodes). After each run the environment
copies its claim out so that a test reads ``env.data_dir`` the same way on
both: a short pod mounts the claim read-only and prints a gzipped tar of it
in base64 as its log; the log is decoded and unpacked. The kubelet rotates
container logs at 10 MiB by default, which bounds what one copy can carry.
"""

from __future__ import annotations

import base64
import binascii
import io
import shutil
import tarfile
import time
import uuid
from pathlib import Path

from kubernetes import client as k8s

from airflow_e2e_harness.pod_log import pod_log

COPY_TIMEOUT = 120.0
COPY_IMAGE = "alpine:3"  # where no image of the harness's own is pushed (stock mode): sh, tar, gzip, base64
SCRIPT = "cd /claim && tar czf - . | base64"


class ClaimCopyError(RuntimeError):
    """The copy pod failed or its output was not a tar archive."""


def copy_claim(core: k8s.CoreV1Api, namespace: str, claim: str, image: str, dest: Path) -> None:
    """Replace ``dest`` with the files of ``claim`` (run with ``image``, which needs sh, tar,
    gzip and base64)."""
    name = f"airflow-e2e-copy-{uuid.uuid4().hex[:8]}"
    source = k8s.V1PersistentVolumeClaimVolumeSource(claim_name=claim, read_only=True)
    pod = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, labels={"app.kubernetes.io/managed-by": "airflow-e2e-harness"}),
        spec=k8s.V1PodSpec(
            restart_policy="Never",
            containers=[k8s.V1Container(
                name="copy", image=image, image_pull_policy="IfNotPresent", command=["sh", "-c", SCRIPT],
                volume_mounts=[k8s.V1VolumeMount(name="claim", mount_path="/claim", read_only=True)],
            )],
            volumes=[k8s.V1Volume(name="claim", persistent_volume_claim=source)],
        ),
    )
    core.create_namespaced_pod(namespace, pod)
    try:
        phase = _wait(core, namespace, name)
        text = pod_log(core, name, namespace)
        if phase != "Succeeded":
            raise ClaimCopyError(f"copying claim {namespace}/{claim}: pod {name} {phase}: {text[-2000:]}")
        try:
            archive = base64.b64decode("".join(text.split()), validate=True)
        except binascii.Error as err:
            raise ClaimCopyError(f"copying claim {namespace}/{claim}: not base64 ({err})") from err
    finally:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")


def _wait(core: k8s.CoreV1Api, namespace: str, name: str) -> str:
    deadline = time.monotonic() + COPY_TIMEOUT
    phase = "Pending"
    while time.monotonic() < deadline:
        phase = core.read_namespaced_pod(name, namespace).status.phase
        if phase in ("Succeeded", "Failed"):
            return phase
        time.sleep(0.25)
    return f"{phase} after {COPY_TIMEOUT:.0f}s"
