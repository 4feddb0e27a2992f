"""The plugin starts Airflow's execution API build once collection says harness tests will run.

Fakes: a stand-in pytest session and E2ESession that only record the call.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fixtures.plugin import SESSION_KEY, pytest_collection_finish


class FakeE2ESession:
    def __init__(self) -> None:
        self.prestarts = 0

    def prestart_airflow(self) -> None:
        self.prestarts += 1


def fake_session(
    *fixturenames: list[str], collect_only: bool = False,
) -> tuple[SimpleNamespace, FakeE2ESession]:
    e2e = FakeE2ESession()
    stash = pytest.Stash()
    stash[SESSION_KEY] = e2e  # type: ignore[assignment]
    items = [SimpleNamespace(fixturenames=names) for names in fixturenames]
    config = SimpleNamespace(stash=stash, option=SimpleNamespace(collectonly=collect_only))
    return SimpleNamespace(config=config, items=items), e2e


def test_harness_tests_selected_start_the_build() -> None:
    session, e2e = fake_session(["tmp_path"], ["airflow_e2e", "movielens_docker"])
    pytest_collection_finish(session)  # type: ignore[arg-type]
    assert e2e.prestarts == 1


def test_no_harness_test_selected_starts_nothing() -> None:
    session, e2e = fake_session(["tmp_path"], ["monkeypatch"])
    pytest_collection_finish(session)  # type: ignore[arg-type]
    assert e2e.prestarts == 0


def test_collect_only_starts_nothing() -> None:
    session, e2e = fake_session(["airflow_e2e"], collect_only=True)
    pytest_collection_finish(session)  # type: ignore[arg-type]
    assert e2e.prestarts == 0
