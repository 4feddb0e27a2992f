"""With no daemon reachable and starting one disabled, the error says what was tried."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_e2e_harness.docker.daemon import DaemonUnavailable, DockerDaemon


def test_unreachable_daemons_give_an_actionable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = f"unix://{tmp_path}/no-such.sock"
    monkeypatch.setenv("DOCKER_HOST", fake)
    daemon = DockerDaemon(allow_start=False, state_dir=tmp_path / "state")
    with pytest.raises(DaemonUnavailable) as err:
        daemon.start()
    message = str(err.value)
    assert fake in message
    assert str(tmp_path / "state" / "docker.sock") in message
    assert "What to do" in message
