"""Lifecycle's enter/exit rules, with fake resources that only record calls."""

from __future__ import annotations

import pytest

from airflow_e2e_harness.lifecycle import Lifecycle


class FakeResource(Lifecycle):
    def __init__(self, fail_start: bool = False) -> None:
        self.calls: list[str] = []
        self.fail_start = fail_start

    def start(self) -> None:
        self.calls.append("start")
        if self.fail_start:
            raise RuntimeError("never became ready")

    def stop(self) -> None:
        self.calls.append("stop")


class FakeKeptOnFailure(FakeResource):
    stop_on_failed_start = False


def test_fake_resource_is_started_and_stopped_around_the_block() -> None:
    with FakeResource() as resource:
        assert resource.calls == ["start"]
    assert resource.calls == ["start", "stop"]


def test_fake_resource_is_stopped_when_the_block_raises() -> None:
    resource = FakeResource()
    with pytest.raises(KeyboardInterrupt), resource:
        raise KeyboardInterrupt
    assert resource.calls == ["start", "stop"]


def test_fake_resource_that_fails_to_start_is_stopped_before_the_error_propagates() -> None:
    resource = FakeResource(fail_start=True)
    with pytest.raises(RuntimeError, match="never became ready"), resource:
        pytest.fail("the block must not run")
    assert resource.calls == ["start", "stop"]


def test_fake_resource_may_stay_after_a_failed_start_for_the_bundle() -> None:
    resource = FakeKeptOnFailure(fail_start=True)
    with pytest.raises(RuntimeError), resource:
        pytest.fail("the block must not run")
    assert resource.calls == ["start"]
