"""Pod networking across the nodes of a multi-node cluster on the harness's own node image.

Stock kind nodes run kindnetd, which gives each node's pods addresses from the
node's podCIDR and routes every other node's podCIDR to that node. The node
image the harness builds where no registry answers has no kindnetd: a static
ptp conflist (``10.244.0.0/24``) networks its pods, which is enough for one
node. With more, every node would hand out the same addresses and no node
could reach another's pods (DNS fails first, CoreDNS being on one node). This
does kindnetd's part once the nodes have joined, through ``docker exec``:
each node's conflist gets its own podCIDR, each node routes the others'
podCIDRs to their addresses on kind's network, and pods that started before
(with an address from the shared range) are deleted for their controllers to
recreate. Idempotent: a kept cluster whose nodes restarted gets its routes back.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from typing import Any

import docker.models.containers
from kubernetes import client as k8s

from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.waiting import WaitTimeout, wait_until

CONFLIST = "/etc/cni/net.d/10-harness-ptp.conflist"
CIDR_TIMEOUT = 60.0


class PodNetworkError(HarnessError, RuntimeError):
    """A node got no podCIDR, or a node could not be configured."""


def connect_pod_networks(core: k8s.CoreV1Api, containers: list[docker.models.containers.Container]) -> str:
    """Per-node pod subnets and routes between the nodes; returns what was done, for the log."""
    nodes = _nodes_with_cidrs(core)
    by_name = {c.name: c for c in containers}
    missing = sorted(set(nodes) - set(by_name))
    if missing:
        raise PodNetworkError(f"no node container for {missing}")
    for name, (cidr, _) in nodes.items():
        container = by_name[name]
        _write_conflist(container, cidr)
        for other, (other_cidr, address) in nodes.items():
            if other != name:
                _exec(container, ["ip", "route", "replace", other_cidr, "via", address])
    moved = _restart_misplaced_pods(core, {name: cidr for name, (cidr, _) in nodes.items()})
    subnets = ", ".join(f"{name} {cidr}" for name, (cidr, _) in sorted(nodes.items()))
    return f"pod network: {subnets}; routed between nodes" + (f"; restarted {moved}" if moved else "")


def _nodes_with_cidrs(core: k8s.CoreV1Api) -> dict[str, tuple[str, str]]:
    """``{node: (podCIDR, InternalIP)}`` once the controller manager has given every node one."""
    found: dict[str, tuple[str, str]] = {}

    def every_node_has_one() -> str | None:
        found.clear()
        try:
            items = core.list_node().items
        except Exception:  # noqa: BLE001 - a restarted node's API server: retry until the deadline
            return "the API server is not answering yet"
        waiting = []
        for node in items:
            address = next((a.address for a in node.status.addresses or [] if a.type == "InternalIP"), None)
            if node.spec.pod_cidr and address:
                found[node.metadata.name] = (node.spec.pod_cidr, address)
            else:
                waiting.append(node.metadata.name)
        return None if found and not waiting else f"nodes without a podCIDR: {waiting or 'no nodes'}"

    try:
        wait_until(every_node_has_one, what="pod network", timeout=CIDR_TIMEOUT, interval=0.5)
    except WaitTimeout as err:
        raise PodNetworkError(str(err)) from err
    return dict(found)


def _write_conflist(container: docker.models.containers.Container, cidr: str) -> None:
    conflist: dict[str, Any] = json.loads(_exec(container, ["cat", CONFLIST]))
    for plugin in conflist["plugins"]:
        ipam = plugin.get("ipam")
        if ipam and ipam.get("type") == "host-local":
            ipam["ranges"] = [[{"subnet": cidr}]]
    text = base64.b64encode(json.dumps(conflist, indent=2).encode()).decode()
    script = f"echo {text} | base64 -d > {CONFLIST}.tmp && mv {CONFLIST}.tmp {CONFLIST}"
    _exec(container, ["sh", "-c", script])


def _restart_misplaced_pods(core: k8s.CoreV1Api, cidrs: dict[str, str]) -> list[str]:
    """Delete pods whose address lies outside their node's podCIDR (started on the shared range)."""
    moved = []
    for pod in core.list_pod_for_all_namespaces().items:
        node, ip = pod.spec.node_name, pod.status.pod_ip
        if pod.spec.host_network or not node or not ip or node not in cidrs:
            continue
        if ipaddress.ip_address(ip) not in ipaddress.ip_network(cidrs[node]):
            core.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0)
            moved.append(f"{pod.metadata.namespace}/{pod.metadata.name}")
    return moved


def _exec(container: docker.models.containers.Container, command: list[str]) -> str:
    result = container.exec_run(command)
    output = result.output.decode(errors="replace")
    if result.exit_code != 0:
        raise PodNetworkError(f"{container.name}: {' '.join(command)}: {output}")
    return output
