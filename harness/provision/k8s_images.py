"""Local images for everything kubeadm and the harness's pods would pull.

No registry answers on our machines, so every image a kind node runs
(control plane, kube-proxy, etcd, CoreDNS, pause) and the KubernetesPodOperator
XCom sidecar is built here with the Docker SDK from the binaries of
:mod:`harness.provision.gobuild`, tagged exactly as kubeadm names them.
Each image carries a ``harness.cache-key`` label: a warm run only compares it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.docker.registry_access import image_exists
from airflow_e2e_harness.provision.commands import run_logged
from airflow_e2e_harness.provision.gobuild import KUBERNETES_VERSION, REGISTRY_VERSION, binaries
from airflow_e2e_harness.provision.rootfs import debootstrap, import_rootfs
from airflow_e2e_harness.provision.steps import ProvisionError, UnstampedStep, run_steps
from airflow_e2e_harness.timing import Timer

LABEL = "harness.cache-key"
SUITE = "bookworm"
IPTABLES_BASE_PACKAGES = ("iptables", "nftables", "conntrack", "ca-certificates")
IPTABLES_BASE_REPO = "harness/debian-iptables"
XCOM_SIDECAR_VERSION = "1.0"
XCOM_SIDECAR_REPO = "harness/xcom-sidecar"
BUSYBOX_PACKAGE = "busybox-static"


def _file_key(path: Path) -> str:
    """Identity of an input file: small files (the repo's own) by content, so a
    fresh clone hits the cache; large built binaries by size and mtime (a
    rebuild changes both), which is cheaper than hashing hundreds of MB."""
    st = path.stat()
    if st.st_size < 1 << 20:
        return f"{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def image_label(client: docker.DockerClient, tag: str) -> str | None:
    """The cache-key label of a local image, or None when it is absent."""
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    return (image.labels or {}).get(LABEL, "")


def build_image(
    client: docker.DockerClient,
    tag: str,
    dockerfile: str,
    files: dict[str, Path | bytes],
    key: str,
    extra_tags: Iterable[str] = (),
) -> str:
    """Build ``tag`` from a temporary context holding ``files``; returns the image id.

    ``files`` maps context paths to host files (copied, mode kept) or bytes.
    The cache key goes into a label so that the image itself records what it
    was built from.
    """
    try:
        previous = client.images.get(tag)
    except docker.errors.ImageNotFound:
        previous = None
    with tempfile.TemporaryDirectory(prefix="harness-build-", dir=cache_dir()) as tmp:
        ctx = Path(tmp)
        for rel, src in files.items():
            dest = ctx / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(src, bytes):
                dest.write_bytes(src)
            else:
                shutil.copy2(src, dest)
        (ctx / "Dockerfile").write_text(f"{dockerfile.rstrip()}\nLABEL {LABEL}=\"{key}\"\n")
        try:
            image, _ = client.images.build(path=str(ctx), tag=tag, rm=True, forcerm=True, pull=False)
        except docker.errors.BuildError as err:
            log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in err.build_log)
            raise ProvisionError(f"building {tag} failed: {err}\n{log[-3000:]}") from err
    for extra in extra_tags:
        repo, _, version = extra.rpartition(":")
        image.tag(repo, version)
    if previous is not None and previous.id != image.id and LABEL in (previous.labels or {}):
        # The image this one replaces was ours too: do not leave it dangling.
        try:
            client.images.remove(previous.id)
        except docker.errors.APIError:
            pass  # still tagged elsewhere or used by a container: leave it
    return str(image.id)


def remove_other_tags(client: docker.DockerClient, repo: str, keep: str, timer: Timer) -> None:
    """Drop images of our own ``repo`` built from older inputs (they are not cache any more)."""
    for image in client.images.list(name=repo):
        for tag in image.tags:
            if tag.startswith(f"{repo}:") and tag != keep:
                try:
                    client.images.remove(tag)
                    timer.log(f"removed outdated {tag}")
                except docker.errors.APIError as err:  # used by a kept container: leave it
                    timer.log(f"kept outdated {tag} ({err.explanation or err})")


def kubeadm_image_list(version: str = KUBERNETES_VERSION) -> list[str]:
    """The images the built kubeadm will run, exactly as it names them."""
    kubeadm = binaries().kubernetes["kubeadm"]
    out = subprocess.run(
        [str(kubeadm), "config", "images", "list", "--kubernetes-version", version],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )
    if out.returncode != 0:
        raise ProvisionError(f"kubeadm config images list failed:\n{out.stderr}")
    images = [line.strip() for line in out.stdout.splitlines() if line.strip().count(":") == 1]
    if not images:
        raise ProvisionError(f"kubeadm listed no images:\n{out.stdout}\n{out.stderr}")
    return images


class IptablesBase(UnstampedStep):
    """A minimal Debian with iptables, nft and conntrack, the base of kube-proxy (as upstream's)."""

    name = "image-debian-iptables"

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    def cache_key(self) -> str:
        return f"v1:{SUITE}:{','.join(IPTABLES_BASE_PACKAGES)}"

    @property
    def tag(self) -> str:
        return f"{IPTABLES_BASE_REPO}:{SUITE}-{_digest(self.cache_key())}"

    def outputs_present(self) -> bool:
        return image_exists(self.client, self.tag)

    def execute(self, timer: Timer) -> None:
        rootfs = cache_dir() / "rootfs" / "debian-iptables"
        debootstrap(self.name, SUITE, IPTABLES_BASE_PACKAGES, rootfs)
        for sub in ("usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info"):
            shutil.rmtree(rootfs / sub, ignore_errors=True)
        import_rootfs(self.client, rootfs, self.tag, [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ])
        shutil.rmtree(rootfs)
        remove_other_tags(self.client, IPTABLES_BASE_REPO, self.tag, timer)


def _busybox() -> Path:
    """A static busybox from Debian's archive (the sidecar's only file)."""
    dest = cache_dir() / "debs" / "busybox"
    binary = dest / "bin" / "busybox"
    if binary.exists():
        return binary
    dl = cache_dir() / "debs" / "download"
    shutil.rmtree(dl, ignore_errors=True)
    dl.mkdir(parents=True)
    run_logged("apt-busybox", ["apt-get", "download", BUSYBOX_PACKAGE], cwd=dl)
    debs = sorted(dl.glob(f"{BUSYBOX_PACKAGE}_*.deb"))
    if not debs:
        raise ProvisionError(f"apt-get download {BUSYBOX_PACKAGE} produced no .deb in {dl}")
    shutil.rmtree(dest, ignore_errors=True)
    run_logged("apt-busybox", ["dpkg-deb", "-x", str(debs[-1]), str(dest)], append=True)
    shutil.rmtree(dl, ignore_errors=True)
    if not binary.exists():
        raise ProvisionError(f"{BUSYBOX_PACKAGE} has no bin/busybox")
    return binary


@dataclass
class ImageSpec:
    """One image: its tag, Dockerfile and context files."""

    tag: str
    dockerfile: str
    files: dict[str, Path | bytes] = field(default_factory=dict)

    def key(self) -> str:
        parts = [self.tag, self.dockerfile]
        for rel, src in sorted(self.files.items()):
            parts.append(rel + "=" + (_file_key(src) if isinstance(src, Path) else _digest(src.decode())))
        return _digest(*parts)


_SCRATCH_PATH = "ENV PATH=/usr/local/bin:/usr/bin:/bin"

#: kube-proxy runs in the node's network namespace and must use the iptables
#: backend the node uses. The node's entrypoint picks the backend holding more
#: rules; this stand-in for iptables/ip6tables(-save/-restore) applies the same
#: rule on first use, switches the alternatives, then runs the real tool.
IPTABLES_SELECT = """#!/bin/sh
set -eu
exec 9>/tmp/.iptables-select.lock
flock 9  # iptables and ip6tables may be first used at the same time
count() { ("$@" 2>/dev/null || true) | grep -c '^-' || true; }
legacy=$(( $(count iptables-legacy-save) + $(count ip6tables-legacy-save) ))
nft=$(( $(count iptables-nft-save) + $(count ip6tables-nft-save) ))
if [ "$legacy" -gt "$nft" ]; then mode=legacy; else mode=nft; fi
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null
exec 9>&-
exec "$0" "$@"
"""
_SELECT_INSTALL = " && ".join(
    ["chmod 0755 /usr/sbin/iptables-select"]
    + [
        f"update-alternatives --install /usr/sbin/{t} {t} /usr/sbin/iptables-select 1000"
        f" --slave /usr/sbin/{t}-restore {t}-restore /usr/sbin/iptables-select"
        f" --slave /usr/sbin/{t}-save {t}-save /usr/sbin/iptables-select"
        f" && update-alternatives --set {t} /usr/sbin/iptables-select"
        for t in ("iptables", "ip6tables")
    ]
)


def kubernetes_image_specs(iptables_base: str) -> list[ImageSpec]:
    """Specs for every image kubeadm lists, keyed by its exact name."""
    bins = binaries()
    specs: list[ImageSpec] = []
    for ref in kubeadm_image_list():
        name = ref.rsplit("/", 1)[-1].split(":", 1)[0]
        if name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            dockerfile = (
                f"FROM scratch\n{_SCRATCH_PATH}\nCOPY {name} /usr/local/bin/{name}\n"
                f'ENTRYPOINT ["/usr/local/bin/{name}"]\n'
            )
            specs.append(ImageSpec(ref, dockerfile, {name: bins.kubernetes[name]}))
        elif name == "kube-proxy":
            dockerfile = (
                f"FROM {iptables_base}\nCOPY kube-proxy /usr/local/bin/kube-proxy\n"
                "COPY iptables-select /usr/sbin/iptables-select\n"
                f"RUN {_SELECT_INSTALL}\n"
                'ENTRYPOINT ["/usr/local/bin/kube-proxy"]\n'
            )
            specs.append(ImageSpec(ref, dockerfile, {
                name: bins.kubernetes[name], "iptables-select": IPTABLES_SELECT.encode(),
            }))
        elif name == "etcd":
            dockerfile = (
                f"FROM scratch\n{_SCRATCH_PATH}\nCOPY etcd /usr/local/bin/etcd\n"
                'ENTRYPOINT ["/usr/local/bin/etcd"]\n'
            )
            specs.append(ImageSpec(ref, dockerfile, {"etcd": bins.etcd}))
        elif name == "coredns":
            dockerfile = 'FROM scratch\nCOPY coredns /coredns\nEXPOSE 53 53/udp\nENTRYPOINT ["/coredns"]\n'
            specs.append(ImageSpec(ref, dockerfile, {"coredns": bins.coredns}))
        elif name == "pause":
            dockerfile = 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
            specs.append(ImageSpec(ref, dockerfile, {"pause": bins.pause}))
        else:
            raise ProvisionError(f"kubeadm lists an image the harness cannot build: {ref}")
    return specs


def xcom_sidecar_spec() -> ImageSpec:
    """A shell for KubernetesPodOperator's XCom sidecar (sh, cat, sleep, trap, kill).

    Debian's busybox-static has no pgrep: the operator's first kill command
    fails and its /proc fallback stops the sidecar (checked). Its wget
    crashes with -T; without it, it works.
    """
    dockerfile = (
        "FROM scratch\nCOPY busybox /bin/busybox\n"
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
        "ENV PATH=/usr/local/bin:/usr/bin:/bin\n"
        'CMD ["/bin/sh"]\n'
    )
    return ImageSpec(f"{XCOM_SIDECAR_REPO}:{XCOM_SIDECAR_VERSION}", dockerfile, {"busybox": _busybox()})


class BuildImage(UnstampedStep):
    """Build one image from its spec unless the labelled image is already there."""

    def __init__(self, client: docker.DockerClient, spec: ImageSpec) -> None:
        self.client = client
        self.spec = spec
        self.name = "image " + spec.tag

    def cache_key(self) -> str:
        return self.spec.key()

    def outputs_present(self) -> bool:
        return image_label(self.client, self.spec.tag) == self.cache_key()

    def execute(self, timer: Timer) -> None:
        build_image(self.client, self.spec.tag, self.spec.dockerfile, self.spec.files, self.cache_key())


class LazyImages(UnstampedStep):
    """Builds the Kubernetes images; their specs need kubeadm, so they are made late."""

    name = "kubernetes-images"

    def __init__(self, client: docker.DockerClient, iptables_base: IptablesBase) -> None:
        self.client = client
        self.iptables_base = iptables_base
        self._specs: list[ImageSpec] | None = None

    def specs(self) -> list[ImageSpec]:
        if self._specs is None:
            self._specs = kubernetes_image_specs(self.iptables_base.tag)
        return self._specs

    def cache_key(self) -> str:
        return _digest(*(s.key() for s in self.specs()))

    def outputs_present(self) -> bool:
        return all(BuildImage(self.client, s).is_done() for s in self.specs())

    def execute(self, timer: Timer) -> None:
        run_steps([BuildImage(self.client, spec) for spec in self.specs()], timer)


REGISTRY_REPO = "harness/registry"
REGISTRY_CONFIG = """version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
"""


def registry_spec(binary: Path) -> ImageSpec:
    """The distribution registry built here (the stock ``registry:3`` where a registry answers)."""
    dockerfile = (
        "FROM scratch\nCOPY registry /bin/registry\nCOPY config.yml /etc/distribution/config.yml\n"
        'EXPOSE 5000\nENTRYPOINT ["/bin/registry"]\nCMD ["serve", "/etc/distribution/config.yml"]\n'
    )
    files: dict[str, Path | bytes] = {"registry": binary, "config.yml": REGISTRY_CONFIG.encode()}
    return ImageSpec(f"{REGISTRY_REPO}:{REGISTRY_VERSION}", dockerfile, files)


def image_steps(client: docker.DockerClient) -> tuple[IptablesBase, LazyImages, BuildImage]:
    """The kube-proxy base, the Kubernetes images (built on it) and the XCom sidecar."""
    base = IptablesBase(client)
    k8s = LazyImages(client, base)
    sidecar = BuildImage(client, xcom_sidecar_spec())
    sidecar.name = "image xcom-sidecar"
    return base, k8s, sidecar
