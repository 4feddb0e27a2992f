"""A pod's log as text."""

from __future__ import annotations

from kubernetes import client as k8s


def pod_log(
    core: k8s.CoreV1Api, name: str, namespace: str, container: str | None = None, tail: int | None = None,
    *, previous: bool = False,
) -> str:
    """Read the raw bytes: this client version hands a preloaded log back as a
    ``b'...'`` repr, with every newline escaped. ``tail``: only the last lines;
    ``previous``: the container's run before its last restart."""
    kwargs: dict[str, object] = {"container": container} if container else {}
    if tail is not None:
        kwargs["tail_lines"] = tail
    kwargs["previous"] = previous
    response = core.read_namespaced_pod_log(name, namespace, _preload_content=False, **kwargs)
    return response.data.decode("utf-8", errors="replace")
