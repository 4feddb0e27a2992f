"""Expected MovieLens outputs, computed from the seeded dataset alone.

Only the dataset generator is shared with the API image (it *is* the input
data); the selection by day and the ranking are re-derived here from the
scenario's written spec, not from the fetch or rank code under test.
"""

from __future__ import annotations

import csv
import importlib
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
MOVIELENS = SCENARIOS / "movielens"
TASKFLOW = SCENARIOS / "taskflow"
SCHEDULES = SCENARIOS / "schedules"
SEED = 20260105
MIN_RATINGS = 2
DAYS = [date(2026, 1, 5) + timedelta(days=i) for i in range(3)]  # the three daily runs
MOVIELENS_CONN = "http://airflow:airflow@movielens:5000"  # the API's address from inside a task

XCOMS_DAGS = SCENARIOS / "xcoms" / "dags"
PROBE_DS = "2026-01-05"
FAILURE_MARKER = "probe: the input is corrupt, giving up (exit 3)"


def _dataset_module() -> ModuleType:
    src = str(MOVIELENS / "images" / "movielens-api" / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    return importlib.import_module("movielens_api.data")


def day_ratings(day: date, seed: int = SEED) -> list[dict]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    end = start + timedelta(days=1).total_seconds()
    rows = [r.as_dict() for r in _dataset_module().generate(seed)]
    return [r for r in rows if start <= r["timestamp"] < end]


def ranking(ratings: list[dict], min_ratings: int = MIN_RATINGS) -> list[tuple[int, float, int]]:
    """Spec: average rounded to 4 decimals, best first; ties by more ratings, then movieId."""
    per_movie: dict[int, list[float]] = {}
    for r in ratings:
        per_movie.setdefault(r["movieId"], []).append(r["rating"])
    rows = [
        (movie, round(sum(values) / len(values), 4), len(values))
        for movie, values in per_movie.items()
        if len(values) >= min_ratings
    ]
    return sorted(rows, key=lambda row: (-row[1], -row[2], row[0]))


def read_ranking_csv(path: Path) -> list[tuple[int, float, int]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["movieId", "avg_rating", "num_ratings"], reader.fieldnames
        return [(int(r["movieId"]), float(r["avg_rating"]), int(r["num_ratings"])) for r in reader]


def probe_payload(ds: str) -> dict:
    """What the xcom-probe container is documented to produce for a logical date."""
    year, month, day = (int(p) for p in ds.split("-"))
    return {"ds": ds, "parts": [year, month, day], "squares": {str(n): n * n for n in range(day)}}
