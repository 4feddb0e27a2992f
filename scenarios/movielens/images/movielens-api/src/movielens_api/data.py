"""Ratings: either a real MovieLens ratings.csv or a deterministic synthetic set.

No dataset can be downloaded on the build machines, so by default the ratings
are generated from a seed; the same seed always yields the same ratings, which
is what lets a test compute the expected outputs on its own.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

EPOCH_START = date(2026, 1, 1)
DAYS = 60
MOVIES = 40
USERS = 200
PER_DAY_MIN, PER_DAY_MAX = 30, 70


@dataclass(frozen=True)
class Rating:
    userId: int  # noqa: N815 - MovieLens column names
    movieId: int  # noqa: N815
    rating: float
    timestamp: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def generate(seed: int) -> list[Rating]:
    """Synthetic ratings for DAYS days from EPOCH_START, sorted by timestamp."""
    rng = random.Random(seed)
    # Each movie has a hidden quality so the ranking is not pure noise.
    quality = {m: rng.uniform(1.5, 4.5) for m in range(1, MOVIES + 1)}
    ratings: list[Rating] = []
    for offset in range(DAYS):
        start = _day_start(EPOCH_START + timedelta(days=offset))
        for _ in range(rng.randint(PER_DAY_MIN, PER_DAY_MAX)):
            movie = rng.randint(1, MOVIES)
            raw = quality[movie] + rng.gauss(0, 0.8)
            stars = min(5.0, max(0.5, round(raw * 2) / 2))
            ratings.append(
                Rating(rng.randint(1, USERS), movie, stars, start + rng.randrange(86400))
            )
    ratings.sort(key=lambda r: (r.timestamp, r.userId, r.movieId))
    return ratings


def load_csv(path: Path) -> list[Rating]:
    """A real MovieLens ratings.csv (userId,movieId,rating,timestamp)."""
    with path.open(newline="") as handle:
        rows = [
            Rating(int(r["userId"]), int(r["movieId"]), float(r["rating"]), int(r["timestamp"]))
            for r in csv.DictReader(handle)
        ]
    rows.sort(key=lambda r: (r.timestamp, r.userId, r.movieId))
    return rows


def between(ratings: list[Rating], start: date, end: date) -> Iterator[Rating]:
    """Ratings with start <= timestamp < end (dates at midnight UTC)."""
    lo, hi = _day_start(start), _day_start(end)
    return (r for r in ratings if lo <= r.timestamp < hi)
