"""The runc wrapper strips capabilities the host lacks, checked against a fake runc."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_e2e_harness.provision import runtime_wrapper


def bounding_caps() -> set[str]:
    names = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
        "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON",
        "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("CapBnd:"))
    mask = int(line.split()[1], 16)
    return {name for bit, name in enumerate(names) if mask >> bit & 1}


@pytest.fixture
def fake_runc(tmp_path: Path) -> Path:
    """Records its argv and the spec it was handed, instead of running anything."""
    script = tmp_path / "fake-runc"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    script.chmod(0o755)
    return script


def test_create_keeps_only_capabilities_of_the_bounding_set(
    tmp_path: Path, fake_runc: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime_wrapper, "cache_dir", lambda: tmp_path / "cache")
    wrapper = runtime_wrapper.install_wrapper(str(fake_runc))
    every = sorted(bounding_caps() | {"CAP_SYS_RESOURCE", "CAP_CHECKPOINT_RESTORE"})
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    spec = {"process": {"capabilities": {k: list(every) for k in ("bounding", "effective", "permitted")}}}
    (bundle / "config.json").write_text(json.dumps(spec))

    subprocess.run([str(wrapper), "--root", "/x", "create", "--bundle", str(bundle), "ctr1"], check=True)

    caps = json.loads((bundle / "config.json").read_text())["process"]["capabilities"]
    for key in ("bounding", "effective", "permitted"):
        assert set(caps[key]) == set(every) & bounding_caps()
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv == ["--root", "/x", "create", "--bundle", str(bundle), "ctr1"]


def test_exec_filters_the_process_file(
    tmp_path: Path, fake_runc: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime_wrapper, "cache_dir", lambda: tmp_path / "cache")
    wrapper = runtime_wrapper.install_wrapper(str(fake_runc))
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"capabilities": {"effective": ["CAP_SYS_RESOURCE", "CAP_CHOWN"]}}))

    subprocess.run([str(wrapper), "exec", "--process", str(process), "ctr1"], check=True)

    effective = json.loads(process.read_text())["capabilities"]["effective"]
    assert set(effective) == {"CAP_SYS_RESOURCE", "CAP_CHOWN"} & bounding_caps()
