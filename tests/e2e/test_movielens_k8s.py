"""MovieLens with KubernetesPodOperator in a real kind cluster, checked like the Docker variant."""

from __future__ import annotations

import json

import pytest

from tests.e2e.expected import DAYS, day_ratings, ranking, read_ranking_csv

pytestmark = [pytest.mark.e2e, pytest.mark.kind]



def test_three_daily_runs_as_pods(movielens_k8s) -> None:
    results = [movielens_k8s.run("movielens_k8s", day) for day in DAYS]

    for day, result in zip(DAYS, results, strict=True):
        assert result.ok, result.describe()
        assert result.states == {"fetch_ratings": "success", "rank_movies": "success"}
        ds = day.isoformat()
        expected_ratings = day_ratings(day)
        ratings_file = movielens_k8s.data_dir / "ratings" / f"{ds}.json"
        assert json.loads(ratings_file.read_text()) == expected_ratings
        assert read_ranking_csv(movielens_k8s.data_dir / "rankings" / f"{ds}.csv") == ranking(
            expected_ratings
        )


def test_both_orchestrations_rank_identically(movielens_k8s, movielens_docker) -> None:
    """Byte for byte, the Kubernetes and Docker variants write the same rankings."""
    for day in DAYS:
        ds = day.isoformat()
        docker_csv = movielens_docker.data_dir / "rankings" / f"{ds}.csv"
        if not docker_csv.exists():
            movielens_docker.run("movielens_docker", day).raise_for_failures()
        k8s_csv = movielens_k8s.data_dir / "rankings" / f"{ds}.csv"
        if not k8s_csv.exists():
            movielens_k8s.run("movielens_k8s", day).raise_for_failures()
        assert k8s_csv.read_bytes() == docker_csv.read_bytes()
