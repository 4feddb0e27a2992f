"""Build kind, the Kubernetes binaries, etcd, CoreDNS and pause from source.

No container registry is reachable on our machines, but the Go module proxy
is: every binary a kind node needs can be built here.  Each step is cached by
version under ``cache_dir()/go``; GOPATH and GOCACHE stay at Go's defaults
(~/go, ~/.cache/go-build) so a rebuild after a cache wipe is still mostly warm.
The Kubernetes build dominates (tens of minutes cold on 2 cores), so
:func:`start_kubernetes_build` can run it in a background thread while the
rootfs is being debootstrapped.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from airflow_e2e_harness.config import cache_dir
from airflow_e2e_harness.provision.commands import run_logged
from airflow_e2e_harness.provision.steps import ProvisionError, Step
from airflow_e2e_harness.timing import Timer

KIND_VERSION = "v0.27.0"
KUBERNETES_VERSION = "v1.32.2"
ETCD_VERSION = "v3.5.16"
COREDNS_VERSION = "v1.11.3"
PAUSE_VERSION = "3.10"
REGISTRY_VERSION = "v3.1.2"  # github.com/distribution/distribution: the registry kind's docs run

#: Staging modules that k8s.io/kubernetes resolves with ``./staging`` replaces;
#: as a dependency each must be replaced with its published v0.X.Y module.
STAGING_MODULES: tuple[str, ...] = (
    "api", "apiextensions-apiserver", "apimachinery", "apiserver", "cli-runtime",
    "client-go", "cloud-provider", "cluster-bootstrap", "code-generator",
    "component-base", "component-helpers", "controller-manager", "cri-api",
    "cri-client", "csi-translation-lib", "dynamic-resource-allocation",
    "endpointslice", "externaljwt", "kms", "kube-aggregator",
    "kube-controller-manager", "kube-proxy", "kube-scheduler", "kubectl",
    "kubelet", "metrics", "mount-utils", "pod-security-admission",
    "sample-apiserver", "sample-cli-plugin", "sample-controller",
)

#: Kubernetes commands the node and the control-plane images need.
KUBERNETES_COMMANDS: tuple[str, ...] = (
    "kubeadm", "kubelet", "kubectl", "kube-apiserver",
    "kube-controller-manager", "kube-scheduler", "kube-proxy",
)

_BUILD_DATE = "2025-02-12T21:19:46Z"  # the release's publication time on the proxy


def go_binary() -> str:
    """The Go toolchain: PATH first, then the preinstalled /usr/local/go."""
    found = shutil.which("go")
    if found:
        return found
    if Path("/usr/local/go/bin/go").exists():
        return "/usr/local/go/bin/go"
    raise ProvisionError("no Go toolchain found (PATH or /usr/local/go/bin/go)")


def go_dir() -> Path:
    path = cache_dir() / "go"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _go_env(static: bool = True) -> dict[str, str]:
    env = {"GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}
    if static:
        env["CGO_ENABLED"] = "0"
    return env


@functools.cache
def _toolchain_key() -> str:
    """Part of every Go step's cache key; asked on each is-done check, run once."""
    out = subprocess.run([go_binary(), "version"], capture_output=True, text=True)
    return out.stdout.strip()


def _all_present(paths: Sequence[Path]) -> bool:
    return all(p.is_file() and os.access(p, os.X_OK) for p in paths)


class GoStep(Step):
    """A Go build whose output is a set of binaries in a versioned directory."""

    version: str = ""

    @property
    def out_dir(self) -> Path:
        return go_dir() / "bin" / f"{self.name}-{self.version}"

    def binaries(self) -> list[Path]:
        raise NotImplementedError

    def cache_key(self) -> str:
        return json.dumps([self.version, _toolchain_key(), self._recipe()])

    def _recipe(self) -> str:
        return ""

    def outputs_present(self) -> bool:
        return _all_present(self.binaries())


class KindBuild(GoStep):
    """``go install sigs.k8s.io/kind@VERSION`` into a versioned GOBIN."""

    name = "go-kind"
    version = KIND_VERSION

    def binaries(self) -> list[Path]:
        return [self.out_dir / "kind"]

    def execute(self, timer: Timer) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        env = _go_env() | {"GOBIN": str(self.out_dir)}
        run_logged(self.name, [go_binary(), "install", f"sigs.k8s.io/kind@{self.version}"], env=env)


def _kubernetes_gomod(version: str) -> str:
    staging = "v0." + version.lstrip("v").split(".", 1)[1]
    lines = [
        "module harness.local/k8sbuild",
        "",
        "go 1.23.0",
        "",
        f"require k8s.io/kubernetes {version}",
        "",
        "replace (",
    ]
    lines += [f"\tk8s.io/{m} => k8s.io/{m} {staging}" for m in STAGING_MODULES]
    lines += [")", ""]
    return "\n".join(lines)


def _kubernetes_tools_go() -> str:
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{c}"' for c in KUBERNETES_COMMANDS)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"


def _version_ldflags(version: str) -> str:
    """Version stamps kubeadm parses as semver; stripped, as upstream release builds.

    Go 1.26 links v1.32 (and etcd, CoreDNS) without ``-checklinkname=0``
    (checked); add it here if a newer toolchain rejects an old linkname.
    """
    major, minor = version.lstrip("v").split(".")[:2]
    values = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "gitCommit": "0000000000000000000000000000000000000000",
        "buildDate": _BUILD_DATE,
    }
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.{k}={v}" for k, v in values.items()]
    return " ".join(["-s", "-w", *flags])


class KubernetesBuild(GoStep):
    """kubeadm, kubelet, kubectl and the control plane from k8s.io/kubernetes.

    One ``go build -o DIR`` for all seven so shared packages compile once; a
    wrapper module replaces the staging modules, which is what makes
    k8s.io/kubernetes buildable as a dependency.
    """

    name = "go-kubernetes"
    version = KUBERNETES_VERSION

    def binaries(self) -> list[Path]:
        return [self.out_dir / c for c in KUBERNETES_COMMANDS]

    def _recipe(self) -> str:
        return _kubernetes_gomod(self.version) + _version_ldflags(self.version)

    def execute(self, timer: Timer) -> None:
        src = go_dir() / "src" / f"kubernetes-{self.version}"
        src.mkdir(parents=True, exist_ok=True)
        (src / "go.mod").write_text(_kubernetes_gomod(self.version))
        (src / "tools.go").write_text(_kubernetes_tools_go())
        env = _go_env()
        run_logged(self.name, [go_binary(), "mod", "tidy"], env=env, cwd=src)
        tmp_out = self.out_dir.with_name(self.out_dir.name + ".tmp")
        shutil.rmtree(tmp_out, ignore_errors=True)
        tmp_out.mkdir(parents=True)
        argv = [
            go_binary(), "build", "-trimpath", "-tags", "selinux,notest",
            "-ldflags", _version_ldflags(self.version), "-o", str(tmp_out),
            *[f"k8s.io/kubernetes/cmd/{c}" for c in KUBERNETES_COMMANDS],
        ]
        run_logged(self.name, argv, env=env, cwd=src, append=True)
        shutil.rmtree(self.out_dir, ignore_errors=True)
        tmp_out.rename(self.out_dir)


class _ModuleBuild(GoStep):
    """A static build of one main package from a module at a fixed version."""

    module: str = ""
    package: str = ""
    binary: str = ""
    ldflags: str = "-s -w"

    def binaries(self) -> list[Path]:
        return [self.out_dir / self.binary]

    def _recipe(self) -> str:
        return f"{self.module} {self.package} {self.ldflags}"

    def execute(self, timer: Timer) -> None:
        src = go_dir() / "src" / f"{self.name}-{self.version}"
        src.mkdir(parents=True, exist_ok=True)
        (src / "go.mod").write_text(
            f"module harness.local/{self.name}\n\ngo 1.22\n\nrequire {self.module} {self.version}\n"
        )
        (src / "tools.go").write_text(
            f'//go:build tools\n\npackage tools\n\nimport _ "{self.package}"\n'
        )
        env = _go_env()
        run_logged(self.name, [go_binary(), "mod", "tidy"], env=env, cwd=src)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            go_binary(), "build", "-trimpath", "-ldflags", self.ldflags,
            "-o", str(self.out_dir / self.binary), self.package,
        ]
        run_logged(self.name, argv, env=env, cwd=src, append=True)


class EtcdBuild(_ModuleBuild):
    """etcd server (static): Debian's etcd is dynamically linked."""

    name = "go-etcd"
    version = ETCD_VERSION
    module = "go.etcd.io/etcd/server/v3"
    package = "go.etcd.io/etcd/server/v3"
    binary = "etcd"


class CorednsBuild(_ModuleBuild):
    """CoreDNS (static); kubeadm's Deployment expects /coredns as entrypoint."""

    name = "go-coredns"
    version = COREDNS_VERSION
    module = "github.com/coredns/coredns"
    package = "github.com/coredns/coredns"
    binary = "coredns"


class RegistryBuild(_ModuleBuild):
    """The distribution registry (static), for loading task images into kind nodes layer by layer."""

    name = "go-registry"
    version = REGISTRY_VERSION
    module = "github.com/distribution/distribution/v3"
    package = "github.com/distribution/distribution/v3/cmd/registry"
    binary = "registry"


PAUSE_SOURCE = Path(__file__).parent / "node" / "pause.c"


class PauseBuild(Step):
    """The pause container's program: our own tiny static C file."""

    name = "gcc-pause"
    version = PAUSE_VERSION

    @property
    def out_dir(self) -> Path:
        return go_dir() / "bin" / f"pause-{self.version}"

    def binaries(self) -> list[Path]:
        return [self.out_dir / "pause"]

    def cache_key(self) -> str:
        return self.version + PAUSE_SOURCE.read_text()

    def outputs_present(self) -> bool:
        return _all_present(self.binaries())

    def execute(self, timer: Timer) -> None:
        gcc = shutil.which("gcc")
        if not gcc:
            run_logged("apt-gcc", ["apt-get", "install", "-y", "--no-install-recommends", "gcc", "libc6-dev"],
                       env={"DEBIAN_FRONTEND": "noninteractive"})
            gcc = "gcc"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        run_logged(self.name, [gcc, "-Os", "-Wall", "-static", "-s", "-o",
                               str(self.out_dir / "pause"), str(PAUSE_SOURCE)])


@dataclass
class GoBinaries:
    """Where every built binary lives."""

    kind: Path
    kubernetes: dict[str, Path]
    etcd: Path
    coredns: Path
    pause: Path


def binaries() -> GoBinaries:
    """Paths of the products of :func:`go_steps` (whether built yet or not)."""
    k8s = KubernetesBuild()
    return GoBinaries(
        kind=KindBuild().binaries()[0],
        kubernetes={p.name: p for p in k8s.binaries()},
        etcd=EtcdBuild().binaries()[0],
        coredns=CorednsBuild().binaries()[0],
        pause=PauseBuild().binaries()[0],
    )


def go_steps(include_kind: bool = True) -> list[Step]:
    """The small Go/C builds, cheapest first (Kubernetes is started separately)."""
    steps: list[Step] = [PauseBuild(), EtcdBuild(), CorednsBuild()]
    if include_kind:
        steps.insert(0, KindBuild())
    return steps


class BackgroundBuild:
    """Runs steps in a thread so a long build overlaps other provisioning."""

    def __init__(self, steps: Sequence[Step], timer: Timer) -> None:
        from airflow_e2e_harness.provision.steps import run_steps

        self._error: BaseException | None = None

        def target() -> None:
            try:
                run_steps(steps, timer)
            except BaseException as exc:  # noqa: BLE001 - re-raised in join()
                self._error = exc

        self._thread = threading.Thread(target=target, name="harness-go-build", daemon=True)
        self._thread.start()

    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self) -> None:
        """Wait for the build; re-raise its failure in the caller's thread."""
        self._thread.join()
        if self._error is not None:
            raise self._error


def start_kubernetes_build(timer: Timer) -> BackgroundBuild:
    """Start the dominant build (Kubernetes) as early as possible."""
    return BackgroundBuild([KubernetesBuild()], timer)
