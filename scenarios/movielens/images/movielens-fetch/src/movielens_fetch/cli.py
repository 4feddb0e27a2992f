"""fetch-ratings: page through the API for [start-date, end-date) and write JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click
import requests


def fetch(host: str, user: str, password: str, start: str, end: str, batch: int) -> list[dict]:
    session = requests.Session()
    session.auth = (user, password)
    ratings: list[dict] = []
    offset, total = 0, None
    while total is None or offset < total:
        response = session.get(
            f"{host.rstrip('/')}/ratings",
            params={"start_date": start, "end_date": end, "offset": offset, "limit": batch},
            timeout=30,
        )
        response.raise_for_status()
        page = response.json()
        ratings.extend(page["result"])
        total = page["total"]
        if not page["result"]:
            break
        offset += len(page["result"])
    return ratings


@click.command()
@click.option("--start-date", required=True, help="first day, YYYY-MM-DD (inclusive)")
@click.option("--end-date", required=True, help="last day, YYYY-MM-DD (exclusive)")
@click.option("--output-path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--host", default="http://movielens:5000", show_default=True)
@click.option("--user", envvar="MOVIELENS_USER", required=True)
@click.option("--password", envvar="MOVIELENS_PASSWORD", required=True)
@click.option("--batch-size", default=100, show_default=True)
def main(
    start_date: str, end_date: str, output_path: Path, host: str, user: str, password: str,
    batch_size: int,
) -> None:
    """Fetch ratings for one date range and write them as a JSON list."""
    ratings = fetch(host, user, password, start_date, end_date, batch_size)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_text(json.dumps(ratings))
    click.echo(f"fetched {len(ratings)} ratings for {start_date}..{end_date} into {output_path}")
    # The last line is what DockerOperator pushes as XCom by default.
    click.echo(json.dumps({"ratings": len(ratings), "path": str(output_path)}))


if __name__ == "__main__":
    main()
