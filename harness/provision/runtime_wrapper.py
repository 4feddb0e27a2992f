"""A runc wrapper that drops capabilities the host cannot grant.

Docker 20.10 asks runc for every capability the kernel knows when a container
is privileged, including ones missing from this VM's bounding set, and runc
then fails with "unable to apply caps" (moby#42906). kind nodes are privileged
containers, so the harness registers this wrapper as the daemon's default
runtime: it removes the missing capabilities from the OCI spec and execs runc.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from airflow_e2e_harness.config import cache_dir

RUNTIME_NAME = "harness-runc"

# Runs as its own script under the host's python3, once per container start and
# exec; kept dependency-free on purpose.
_WRAPPER = r'''#!/usr/bin/env python3
"""runc wrapper installed by the Airflow e2e harness (see harness/provision/runtime_wrapper.py)."""
import json, os, sys

REAL_RUNC = __REAL_RUNC__
CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
        "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
        "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
        "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE"]


def allowed():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapBnd:"):
                mask = int(line.split()[1], 16)
                return {c for i, c in enumerate(CAPS) if mask >> i & 1}
    return set(CAPS)


def filter_caps(caps, ok):
    for key in ("bounding", "effective", "inheritable", "permitted", "ambient"):
        if isinstance(caps.get(key), list):
            caps[key] = [c for c in caps[key] if c in ok or c not in CAPS]


def patch(path, process_only):
    try:
        with open(path) as f:
            spec = json.load(f)
    except (OSError, ValueError):
        return
    process = spec if process_only else spec.get("process", {})
    caps = process.get("capabilities")
    if not caps:
        return
    filter_caps(caps, allowed())
    with open(path, "w") as f:
        json.dump(spec, f)


def option(args, name):
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def main():
    args = sys.argv[1:]
    if "create" in args or "run" in args:
        bundle = option(args, "--bundle") or option(args, "-b") or os.getcwd()
        patch(os.path.join(bundle, "config.json"), process_only=False)
    elif "exec" in args:
        process = option(args, "--process") or option(args, "-p")
        if process:
            patch(process, process_only=True)
    os.execv(REAL_RUNC, [REAL_RUNC] + args)


main()
'''


def find_runc() -> str | None:
    for candidate in ("runc", "docker-runc"):
        path = shutil.which(candidate)
        if path:
            return path
    return None


def install_wrapper(real_runc: str) -> Path:
    """Write the wrapper next to the harness's cache; return its path."""
    text = _WRAPPER.replace("__REAL_RUNC__", repr(real_runc))
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = cache_dir() / "bin" / f"runc-capfilter-{digest}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o755)
        tmp.replace(path)
    return path


def bounding_set_is_partial() -> bool:
    """True on hosts (like these VMs) whose bounding set lacks some capability."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapBnd:"):
                    mask = int(line.split()[1], 16)
                    return mask & ((1 << 41) - 1) != (1 << 41) - 1
    except OSError:
        pass
    return False
