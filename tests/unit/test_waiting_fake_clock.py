"""The one wait primitive, on a fake clock (no real sleeping)."""

from __future__ import annotations

import pytest

from airflow_e2e_harness.errors import HarnessError
from airflow_e2e_harness.waiting import WaitTimeout, wait_until
from tests.unit.fake_clock import FakeClock


def test_returns_once_ready_and_says_how_long() -> None:
    clock, answers = FakeClock(), iter(["starting", "starting", None])
    took = wait_until(lambda: next(answers), what="thing", timeout=10, interval=0.5,
                      clock=clock, sleep=clock.sleep)
    assert took == 1.0 and clock.sleeps == [0.5, 0.5]


def test_the_timeout_carries_the_last_reason() -> None:
    clock, n = FakeClock(), iter(range(100))
    with pytest.raises(WaitTimeout) as caught:
        wait_until(lambda: f"{next(n)} pods pending", what="Deployment/api", timeout=1, interval=0.4,
                   clock=clock, sleep=clock.sleep)
    err = caught.value
    assert isinstance(err, HarnessError) and isinstance(err, TimeoutError)
    assert str(err) == "Deployment/api: not ready after 1s: 3 pods pending"
    assert (err.what, err.reason) == ("Deployment/api", "3 pods pending")


def test_a_check_that_raises_fails_at_once() -> None:
    def check() -> str | None:
        raise RuntimeError("exited with 1")

    with pytest.raises(RuntimeError, match="exited with 1"):
        wait_until(check, what="x", timeout=10)
