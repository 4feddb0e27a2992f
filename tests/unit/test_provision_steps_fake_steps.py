"""Provisioning steps side by side (as pytest-xdist workers on a cold cache): each is built once.

Fake steps (a sleep and a counter) in threads; ``flock`` locks separate opens of a file
against each other, so two threads contend exactly as two processes would."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from airflow_e2e_harness.provision.steps import Step, run_steps
from airflow_e2e_harness.timing import Timer


class SlowStep(Step):
    name = "fake-slow-step"

    def __init__(self, product: Path, runs: list[str]) -> None:
        self.product = product
        self.runs = runs

    def cache_key(self) -> str:
        return "v1"

    def outputs_present(self) -> bool:
        return self.product.exists()

    def execute(self, timer: Timer) -> None:
        self.runs.append(threading.current_thread().name)
        time.sleep(0.5)
        self.product.write_text("built")


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)

    def flush(self) -> None:
        pass


def test_two_sessions_build_a_step_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    runs: list[str] = []
    out = Lines()
    threads = [
        threading.Thread(target=run_steps, args=([SlowStep(tmp_path / "product", runs)], Timer(stream=out)),
                         name=f"session-{n}")
        for n in range(2)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.1)  # the first one holds the lock by now
    for thread in threads:
        thread.join(timeout=10)
    assert runs == ["session-0"]
    text = "".join(out.lines)
    assert "another session is building it; waiting" in text
    assert "built by another session" in text
