"""A service container that exits, or cannot start, fails its readiness wait at once with its exit
code and last lines, against a fake Docker client (no daemon)."""

from __future__ import annotations

import io
from typing import Any

import docker.errors
import pytest

from airflow_e2e_harness import waiting
from airflow_e2e_harness.docker.containers import LOG_LINES, ContainerNotReady, ServiceContainer
from airflow_e2e_harness.timing import Timer


class FakeContainer:
    """Runs for ``runs_for`` reloads, then exits with ``exit_code``; its output is ``lines``."""

    def __init__(self, lines: list[str], *, runs_for: int = 0, exit_code: int = 1,
                 start_error: str | None = None) -> None:
        self.lines = lines
        self.runs_for = runs_for
        self.exit_code = exit_code
        self.start_error = start_error
        self.status = "created"
        self.attrs: dict[str, Any] = {"State": {}}
        self.reloads = 0
        self.removed = False

    def start(self) -> None:
        if self.start_error:
            raise docker.errors.APIError("500 Server Error", explanation=self.start_error)
        self.status = "running"

    def reload(self) -> None:
        self.reloads += 1
        if self.status == "running" and self.reloads > self.runs_for:
            self.status = "exited"
            self.attrs["State"] = {"ExitCode": self.exit_code, "OOMKilled": False, "Error": ""}

    def logs(self, tail: int | None = None) -> bytes:
        lines = self.lines[-tail:] if tail else self.lines
        return "".join(f"{line}\n" for line in lines).encode()

    def exec_run(self, _cmd: list[str]) -> tuple[int, bytes]:
        if self.status != "running":
            raise docker.errors.APIError("409 Conflict: container is not running")
        return 1, b""

    def remove(self, force: bool = False) -> None:
        self.removed = True


class FakeDocker:
    def __init__(self, container: FakeContainer) -> None:
        self.container = container
        self.containers = self

    def get(self, _name: str) -> FakeContainer:
        raise docker.errors.NotFound("no such container")

    def create(self, *_args: object, **_kwargs: object) -> FakeContainer:
        return self.container


@pytest.fixture(autouse=True)
def no_sleeping(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    sleeps: list[float] = []
    monkeypatch.setattr(waiting.time, "sleep", sleeps.append)
    return sleeps


def service(container: FakeContainer, **kwargs: Any) -> ServiceContainer:
    return ServiceContainer(FakeDocker(container), "api:e2e", name="api-1", session="s",  # type: ignore[arg-type]
                            timer=Timer(stream=io.StringIO()), **kwargs)


def test_a_service_that_exits_fails_at_once_with_code_and_last_lines(no_sleeping: list[float]) -> None:
    output = [*(f"line {i}" for i in range(40)), "config missing: API_KEY"]
    fake = FakeContainer(output, runs_for=2, exit_code=3)

    with pytest.raises(ContainerNotReady) as failure, service(fake, ready_log=r"serving", timeout=60):
        pass

    err = failure.value
    assert len(no_sleeping) == 2  # two polls while it ran, not the 60 s timeout
    assert (err.name, err.image, err.exit_code) == ("api-1", "api:e2e", 3)
    assert err.logs.splitlines() == output[-LOG_LINES:]
    assert str(err).startswith("service api-1 (api:e2e) exited with code 3 before it was ready.\n")
    assert str(err).endswith("config missing: API_KEY")
    assert fake.removed  # stopped on the failed start: nothing is left running


def test_a_readiness_command_racing_the_exit_reports_the_exit(no_sleeping: list[float]) -> None:
    fake = FakeContainer(["bye"], runs_for=1, exit_code=1)
    fake.reload = lambda: None  # type: ignore[method-assign]  # reloaded as running ...
    fake.status = "running"

    def exits_meanwhile(_cmd: list[str]) -> tuple[int, bytes]:
        fake.status, fake.attrs["State"] = "exited", {"ExitCode": 1}  # ... gone by the exec
        return FakeContainer.exec_run(fake, _cmd)

    fake.exec_run = exits_meanwhile  # type: ignore[method-assign]
    waiting = service(fake, ready_exec=["true"])
    waiting.container = fake  # type: ignore[assignment]

    with pytest.raises(ContainerNotReady) as failure:
        waiting.wait_ready()

    assert failure.value.exit_code == 1  # not docker's 409 from exec_run


def test_a_command_that_cannot_start_says_why() -> None:
    why = 'exec: "serve": executable file not found in $PATH'
    fake = FakeContainer([], start_error=why)

    with pytest.raises(ContainerNotReady) as failure:
        service(fake).start()

    assert str(failure.value) == f"service api-1 (api:e2e) could not be started: {why}.\nIt wrote no output."
    assert failure.value.exit_code is None


def test_a_service_that_never_gets_ready_times_out_with_its_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    now = iter(range(0, 1000, 10))
    monkeypatch.setattr(waiting.time, "monotonic", lambda: float(next(now)))
    fake = FakeContainer(["warming up"], runs_for=10**6)

    with pytest.raises(ContainerNotReady, match=r"was not ready within 30s\.\nIts last 20 lines of output:\n"
                                                 r"warming up$"):
        service(fake, ready_log="serving", timeout=30).start()
