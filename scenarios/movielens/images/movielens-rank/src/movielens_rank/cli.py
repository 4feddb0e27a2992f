"""rank-movies: rank movies by average rating, keeping those rated often enough."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import click


def rank(ratings: list[dict], min_ratings: int) -> list[tuple[int, float, int]]:
    """(movieId, average, count), best first; ties broken by count, then movieId."""
    sums: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    for rating in ratings:
        sums[int(rating["movieId"])] += float(rating["rating"])
        counts[int(rating["movieId"])] += 1
    rows = [(m, round(sums[m] / counts[m], 4), counts[m]) for m in counts if counts[m] >= min_ratings]
    rows.sort(key=lambda row: (-row[1], -row[2], row[0]))
    return rows


@click.command()
@click.option("--input-path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--output-path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--min-ratings", default=2, show_default=True, type=int)
def main(input_path: Path, output_path: Path, min_ratings: int) -> None:
    """Read a ratings JSON list, write movieId,avg_rating,num_ratings ranked best first."""
    rows = rank(json.loads(input_path.read_text()), min_ratings)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["movieId", "avg_rating", "num_ratings"])
        writer.writerows(rows)
    click.echo(f"ranked {len(rows)} movies into {output_path}")
    if rows:
        click.echo(json.dumps({"top_movie": rows[0][0], "ranked": len(rows)}))


if __name__ == "__main__":
    main()
