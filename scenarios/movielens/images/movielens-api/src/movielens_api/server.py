"""HTTP API: GET /ratings?start_date=&end_date=&offset=&limit= behind basic auth.

Shaped like the API of "Data Pipelines with Apache Airflow", chapter 10:
the response carries ``result``, ``offset``, ``limit`` and ``total`` so that
clients page through it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from movielens_api.data import Rating, between, generate, load_csv

MAX_LIMIT = 1000


def make_handler(ratings: list[Rating], user: str, password: str) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/health":
                self._send(200, {"status": "ok", "ratings": len(ratings)})
                return
            if self.headers.get("Authorization") != expected:
                self._send(401, {"error": "unauthorized"}, {"WWW-Authenticate": "Basic"})
                return
            if url.path != "/ratings":
                self._send(404, {"error": f"no such endpoint: {url.path}"})
                return
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                start = date.fromisoformat(query["start_date"])
                end = date.fromisoformat(query["end_date"])
                offset = int(query.get("offset", 0))
                limit = min(int(query.get("limit", 100)), MAX_LIMIT)
            except (KeyError, ValueError) as err:
                self._send(400, {"error": f"bad query: {err}; need start_date, end_date (YYYY-MM-DD)"})
                return
            selected = list(between(ratings, start, end))
            page = [r.as_dict() for r in selected[offset : offset + limit]]
            self._send(200, {"result": page, "offset": offset, "limit": limit, "total": len(selected)})

        def log_message(self, fmt: str, *args: object) -> None:
            sys.stderr.write("api: " + fmt % args + "\n")

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("MOVIELENS_SEED", "42")))
    parser.add_argument("--ratings-csv", type=Path, default=None,
                        help="serve a real MovieLens ratings.csv instead of seeded data")
    parser.add_argument("--user", default=os.environ.get("API_USER", "airflow"))
    parser.add_argument("--password", default=os.environ.get("API_PASSWORD", "airflow"))
    args = parser.parse_args(argv)
    mounted = Path("/ratings/ratings.csv")
    csv_path = args.ratings_csv or (mounted if mounted.exists() else None)
    ratings = load_csv(csv_path) if csv_path else generate(args.seed)
    source = str(csv_path) if csv_path else f"seed {args.seed}"
    server = ThreadingHTTPServer(("0.0.0.0", args.port), make_handler(ratings, args.user, args.password))
    print(f"serving {len(ratings)} ratings ({source}) on :{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
