"""MovieLens with DockerOperator: three daily runs on a real daemon, outputs checked exactly."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tests.e2e.expected import DAYS, MOVIELENS_CONN, day_ratings, ranking, read_ranking_csv

pytestmark = [pytest.mark.e2e, pytest.mark.docker]



def test_three_daily_runs_fetch_and_rank_each_day(movielens_docker) -> None:
    results = [movielens_docker.run("movielens_docker", day) for day in DAYS]

    for day, result in zip(DAYS, results, strict=True):
        assert result.ok, result.describe()
        assert result.states == {"fetch_ratings": "success", "rank_movies": "success"}

        ds = day.isoformat()
        expected_ratings = day_ratings(day)
        assert expected_ratings, "the seeded dataset must have ratings on every test day"
        ratings_file = movielens_docker.data_dir / "ratings" / f"{ds}.json"
        assert json.loads(ratings_file.read_text()) == expected_ratings

        ranked = read_ranking_csv(movielens_docker.data_dir / "rankings" / f"{ds}.csv")
        assert ranked == ranking(expected_ratings)
        averages = [avg for _, avg, _ in ranked]
        assert averages == sorted(averages, reverse=True)

        # What the templates became for this logical date, as Airflow stored them (the UI's view).
        next_day = (day + timedelta(days=1)).isoformat()
        fetch = result.tasks["fetch_ratings"].rendered
        assert fetch["command"] == [
            "fetch-ratings", "--start-date", ds, "--end-date", next_day,
            "--output-path", f"/data/ratings/{ds}.json", "--host", "http://movielens:5000",
        ]
        secret = urlsplit(MOVIELENS_CONN).password
        assert fetch["environment"]["MOVIELENS_PASSWORD"] != secret, "the connection's password is masked"
        assert result.tasks["rank_movies"].rendered["command"][2:5:2] == [
            f"/data/ratings/{ds}.json", f"/data/rankings/{ds}.csv",
        ]

        # Default XCom: the container's last output line, handed downstream as a str
        # even though it is a JSON document.
        xcom = result.xcoms["fetch_ratings"]
        assert isinstance(xcom, str), repr(xcom)
        assert json.loads(xcom) == {"ratings": len(expected_ratings), "path": f"/data/ratings/{ds}.json"}

    # Each day's files differ: the runs really were templated per logical date.
    files = sorted(p.name for p in (movielens_docker.data_dir / "ratings").iterdir())
    assert files == [f"{d.isoformat()}.json" for d in DAYS]
