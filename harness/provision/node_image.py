"""A kind node image assembled without any registry.

``kind build node-image`` fetches pause, etcd, CoreDNS and others from their
registries, so here its steps are repeated with local parts:

1. a Debian bookworm rootfs from debootstrap (systemd, containerd, runc, CNI
   plugins, iptables, ...), imported as an image;
2. a stage image on top: the Kubernetes binaries in /usr/bin, our entrypoint,
   containerd config, kubelet unit, CNI conflist and /kind files;
3. every image kubeadm runs, imported into containerd's ``k8s.io`` namespace
   inside a privileged container of the stage image, committed as the node.

Every file placed in the image is ours (harness/provision/node/).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

import docker
import docker.errors

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.docker.image_names import full_name
from airflow_e2e_harness.docker.registry_access import image_exists
from airflow_e2e_harness.provision.gobuild import KUBERNETES_VERSION, binaries
from airflow_e2e_harness.provision.k8s_images import (
    LABEL,
    BuildImage,
    ImageSpec,
    _digest,
    image_label,
    remove_other_tags,
)
from airflow_e2e_harness.provision.rootfs import debootstrap, import_rootfs
from airflow_e2e_harness.provision.steps import ProvisionError, UnstampedStep
from airflow_e2e_harness.timing import Timer
from airflow_e2e_harness.waiting import WaitTimeout, wait_until

NODE_DIR = Path(__file__).parent / "node"
SUITE = "bookworm"
NODE_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "containerd", "runc", "containernetworking-plugins",
    "iptables", "conntrack", "ethtool", "socat", "iproute2", "kmod", "procps", "util-linux",
    "mount", "ca-certificates", "libseccomp2", "e2fsprogs",
)
ROOTFS_REPO = "harness/kind-node-rootfs"
STAGE_REPO = "harness/kind-node-stage"
NODE_REPO = "harness/kind-node"

#: Units that make no sense in a container (consoles, periodic apt, hardware).
MASKED_UNITS = (
    "console-getty.service", "getty@tty1.service", "getty.target",
    "systemd-modules-load.service", "systemd-udevd.service", "systemd-remount-fs.service",
    "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "e2scrub_all.timer",
    "fstrim.timer", "systemd-tmpfiles-clean.timer", "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount", "sys-kernel-config.mount",
)

NODE_FILES: dict[str, tuple[str, int]] = {
    # context path: (path in the image, mode)
    "entrypoint": ("/usr/local/bin/entrypoint", 0o755),
    "harness-kubelet-cgroups": ("/usr/local/bin/harness-kubelet-cgroups", 0o755),
    "containerd-config.toml": ("/etc/containerd/config.toml", 0o644),
    "kubelet.service": ("/etc/systemd/system/kubelet.service", 0o644),
    "10-kubeadm.conf": ("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", 0o644),
    "kubelet.slice": ("/etc/systemd/system/kubelet.slice", 0o644),
    "10-harness-ptp.conflist": ("/etc/cni/net.d/10-harness-ptp.conflist", 0o644),
    "default-cni.yaml": ("/kind/manifests/default-cni.yaml", 0o644),
    "default-storage.yaml": ("/kind/manifests/default-storage.yaml", 0o644),
}


class NodeRootfs(UnstampedStep):
    """debootstrap bookworm with what a kind node runs; imported as an image."""

    name = "node-rootfs"

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    def cache_key(self) -> str:
        return f"v1:{SUITE}:{','.join(NODE_PACKAGES)}:{','.join(MASKED_UNITS)}"

    @property
    def tag(self) -> str:
        return f"{ROOTFS_REPO}:{SUITE}-{_digest(self.cache_key())}"

    def outputs_present(self) -> bool:
        return image_exists(self.client, self.tag)

    def execute(self, timer: Timer) -> None:
        rootfs = cache_dir() / "rootfs" / "kind-node"
        debootstrap(self.name, SUITE, NODE_PACKAGES, rootfs)
        self._adjust(rootfs)
        import_rootfs(self.client, rootfs, self.tag)
        shutil.rmtree(rootfs)
        remove_other_tags(self.client, ROOTFS_REPO, self.tag, timer)

    @staticmethod
    def _adjust(root: Path) -> None:
        """Make the tree a container's: no machine id, no consoles, no docs."""
        (root / "etc/machine-id").write_text("")
        (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
        system = root / "etc/systemd/system"
        system.mkdir(parents=True, exist_ok=True)
        for unit in MASKED_UNITS:
            link = system / unit
            if link.exists() or link.is_symlink():
                link.unlink()
            link.symlink_to("/dev/null")
        for sub in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"):
            shutil.rmtree(root / sub, ignore_errors=True)
        # containerd looks for CNI plugins in /opt/cni/bin by default; Debian uses /usr/lib/cni.
        opt = root / "opt/cni"
        opt.mkdir(parents=True, exist_ok=True)
        if not (opt / "bin").exists():
            (opt / "bin").symlink_to("/usr/lib/cni")


def _stage_spec(rootfs_tag: str) -> ImageSpec:
    bins = binaries()
    files: dict[str, Path | bytes] = {name: NODE_DIR / name for name in NODE_FILES}
    for name in ("kubeadm", "kubelet", "kubectl"):
        files[f"bin/{name}"] = bins.kubernetes[name]
    files["version"] = KUBERNETES_VERSION.encode()  # kind parses it as semver: no newline
    lines = [f"FROM {rootfs_tag}"]
    for name, (dest, _mode) in NODE_FILES.items():
        lines.append(f"COPY {name} {dest}")
    lines += [
        "COPY bin/ /usr/bin/",
        "COPY version /kind/version",
        "RUN chmod 0755 /usr/local/bin/entrypoint /usr/local/bin/harness-kubelet-cgroups"
        " && mkdir -p /etc/systemd/system/multi-user.target.wants /etc/kubernetes/manifests"
        " /var/lib/kubelet"
        " && ln -sf /etc/systemd/system/kubelet.service"
        " /etc/systemd/system/multi-user.target.wants/kubelet.service"
        " && ln -sf /lib/systemd/system/containerd.service"
        " /etc/systemd/system/multi-user.target.wants/containerd.service"
        " && update-alternatives --set iptables /usr/sbin/iptables-nft"
        " && update-alternatives --set ip6tables /usr/sbin/ip6tables-nft",
        "ENV container=docker",
        "STOPSIGNAL SIGRTMIN+3",
        'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
    ]
    return ImageSpec(f"{STAGE_REPO}:{KUBERNETES_VERSION}", "\n".join(lines) + "\n", files)


class NodePreload(UnstampedStep):
    """Import every image into the node's containerd (``k8s.io``) and commit the node.

    Runs the stage image privileged with containerd only (not systemd): the
    imported content lands in /var/lib/containerd in the container's own
    layer, and kind's anonymous /var volume copies it into each node.
    Images are not unpacked here (overlay on overlay); containerd unpacks on
    first use.
    """

    name = "node-image"

    def __init__(self, client: docker.DockerClient, stage: BuildImage, images: list[str]) -> None:
        self.client = client
        self.stage = stage
        self.images = images

    @functools.cached_property
    def _key(self) -> str:
        # Made after the images and the stage exist, so fixed for this object's life.
        ids = [f"{tag}={self.client.images.get(tag).id}" for tag in self.images]
        return _digest(self.stage.cache_key(), *sorted(ids))

    def cache_key(self) -> str:
        return self._key

    @property
    def tag(self) -> str:
        return f"{NODE_REPO}:{KUBERNETES_VERSION}-{self.cache_key()}"

    def outputs_present(self) -> bool:
        return image_label(self.client, self.tag) == self.cache_key()

    def execute(self, timer: Timer) -> None:
        key = self.cache_key()
        with tempfile.TemporaryDirectory(prefix="harness-preload-", dir=cache_dir()) as tmp:
            archives = Path(tmp)
            names = []
            for i, tag in enumerate(self.images):
                path = archives / f"{i:02d}.tar"
                with path.open("wb") as out:
                    for chunk in self.client.images.get(tag).save(named=True):
                        out.write(chunk)
                names.append((tag, path.name))
            container = self.client.containers.run(
                self.stage.spec.tag,
                entrypoint=["sleep", "infinity"],
                privileged=True,
                detach=True,
                tmpfs={"/run": "", "/tmp": ""},
                volumes={str(archives): {"bind": "/preload", "mode": "ro"}},
            )
            try:
                self._import(container, names, timer)
                container.stop(timeout=5)
                changes = [
                    'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
                    "CMD []",
                    f'LABEL {LABEL}="{key}"',
                ]
                repo, _, version = self.tag.rpartition(":")
                container.commit(repository=repo, tag=version, changes=changes)
            finally:
                container.remove(force=True)
        remove_other_tags(self.client, NODE_REPO, self.tag, timer)

    def _exec(self, container: docker.models.containers.Container, argv: list[str]) -> str:
        result = container.exec_run(argv)
        output = result.output.decode(errors="replace") if result.output else ""
        if result.exit_code != 0:
            raise ProvisionError(f"node preload: `{' '.join(argv)}` exited {result.exit_code}:\n{output}")
        return output

    def _import(
        self, container: docker.models.containers.Container, names: list[tuple[str, str]], timer: Timer
    ) -> None:
        container.exec_run(
            ["sh", "-c", "containerd --config /etc/containerd/config.toml >/tmp/containerd.log 2>&1"],
            detach=True,
        )
        try:
            wait_until(lambda: None if container.exec_run(["ctr", "version"]).exit_code == 0
                       else "ctr version fails", what="containerd in the node container", timeout=60)
        except WaitTimeout as err:
            log = container.exec_run(["cat", "/tmp/containerd.log"]).output.decode(errors="replace")
            raise ProvisionError(f"{err}:\n{log[-3000:]}") from err
        for _tag, name in names:
            self._exec(container, [
                "ctr", "--namespace=k8s.io", "images", "import", "--no-unpack",
                "--all-platforms", "--digests", f"/preload/{name}",
            ])
        listed = self._exec(container, ["ctr", "--namespace=k8s.io", "images", "ls", "-q"])
        missing = [tag for tag, _ in names if full_name(tag) not in listed.split()]
        if missing:
            raise ProvisionError(f"node preload: not in containerd after import: {missing}\n{listed}")
        timer.log(f"node-image: imported {len(names)} images into containerd (k8s.io)")
        self._exec(container, ["sh", "-c", "kill $(pidof containerd); sleep 1; sync"])


def image_size(client: docker.DockerClient, tag: str) -> int:
    """Size in bytes of a local image (for the bench)."""
    return int(client.images.get(tag).attrs.get("Size", 0))


def node_steps(client: docker.DockerClient) -> tuple[NodeRootfs, BuildImage]:
    """Rootfs and stage steps; the preload step is made once the images exist."""
    rootfs = NodeRootfs(client)
    stage = BuildImage(client, _stage_spec(rootfs.tag))
    stage.name = "node-stage-image"  # the node without its preloaded images
    return rootfs, stage
