"""DockerOperator's XCom modes and failure reporting, on a real daemon."""

from __future__ import annotations

import textwrap

import pytest

from airflow_e2e_harness.docker.containers import SESSION_LABEL
from tests.e2e.expected import FAILURE_MARKER, SCENARIOS, probe_payload
from tests.e2e.expected import PROBE_DS as DS
from tests.e2e.expected import XCOMS_DAGS as DAGS

pytestmark = [pytest.mark.e2e, pytest.mark.docker]



def test_xcom_last_line_all_lines_and_retrieved_pickle(xcoms_docker) -> None:
    result = xcoms_docker.run("docker_xcoms", DS)

    assert result.ok, result.describe()
    assert result.xcoms["last_line"] == "line 3"
    assert result.xcoms["all_lines"] == ["line 1", "line 2", "line 3"]
    assert result.xcoms["pickled"] == probe_payload(DS)


def test_non_zero_exit_fails_the_task_and_keeps_its_output(xcoms_docker) -> None:
    result = xcoms_docker.run("docker_failure", DS)

    assert result.state == "failed"
    assert not result.ok
    assert result.states == {"corrupt_input": "failed"}
    task = result.tasks["corrupt_input"]
    assert FAILURE_MARKER in task.log
    assert result.log_path is not None
    assert FAILURE_MARKER in (result.log_path.parent / "corrupt_input.log").read_text()
    with pytest.raises(AssertionError) as raised:
        result.raise_for_failures()
    assert FAILURE_MARKER in str(raised.value)
    assert "corrupt_input: failed" in str(raised.value)


def test_report_of_a_failing_test_shows_the_container_output(
    xcoms_docker, inner_pytester: pytest.Pytester, tmp_path,
) -> None:
    """A user's test asserting on a failed run: its pytest report must show the container's output."""
    inner_pytester.makepyfile(
        test_user=textwrap.dedent(
            f"""
            import pytest

            @pytest.fixture(scope="session")
            def probe(airflow_e2e):
                images = {str(SCENARIOS / "xcoms" / "images")!r}
                with airflow_e2e.docker(dags={str(DAGS)!r}, images=images) as env:
                    yield env

            def test_users_dag(probe):
                probe.run("docker_failure", {DS!r}).raise_for_failures()
            """
        )
    )
    artifacts = tmp_path / "artifacts"
    outcome = inner_pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--artifacts-dir={artifacts}")

    outcome.assert_outcomes(failed=1)
    text = outcome.stdout.str()
    assert "airflow task docker_failure.corrupt_input (failed)" in text
    assert FAILURE_MARKER in text
    assert f"artifacts (task logs, outputs, bundles): {artifacts}" in text
    logs = list(artifacts.glob("*/runs/docker_failure/*/corrupt_input.log"))
    assert len(logs) == 1 and FAILURE_MARKER in logs[0].read_text()


def test_image_nobody_built_fails_before_any_pull_saying_so(xcoms_docker) -> None:
    result = xcoms_docker.run("docker_unbuilt_image", DS)

    assert result.states == {"unbuilt": "failed"}
    log = result.tasks["unbuilt"].log
    assert "'never-built-anywhere:e2e'" in log and "it was not built" in log, log
    assert "Pulling docker image" not in log


def test_container_whose_start_failed_carries_the_session_label(xcoms_docker) -> None:
    """The session removes what carries its label at the end (test_interrupt checks that part)."""
    client = xcoms_docker.session.docker_client
    image_id = client.images.get("xcom-probe:e2e").id
    before = {c.id for c in client.containers.list(all=True, filters={"ancestor": image_id})}

    result = xcoms_docker.run("docker_bad_start", DS)

    assert result.states == {"no_such_binary": "failed"}
    left = [c for c in client.containers.list(all=True, filters={"ancestor": image_id, "status": "created"})
            if c.id not in before]
    assert len(left) == 1, "the operator leaves the container it could not start in state Created"
    assert left[0].labels.get(SESSION_LABEL) == xcoms_docker.session.id
    assert left[0].labels.get("team") == "data", "the DAG's own labels stay"
    left[0].remove()
