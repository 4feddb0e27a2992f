"""A team's task image: `extract` writes one CSV per day, `load` counts it.

extract --ds 2026-01-05 --rows 42 --out /data  -> /data/2026-01-05.csv (header + rows),
then prints {"rows": N} as its last line and, when /airflow/xcom exists (the
KubernetesPodOperator XCom sidecar's folder), writes it to return.json too.
"""

import argparse
import csv
import json
import sys
from pathlib import Path


def extract(ds: str, rows: int, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    with (out / f"{ds}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["day", "n"])
        writer.writerows([ds, n] for n in range(rows))
    return {"rows": rows}


def load(ds: str, out: Path) -> dict:
    lines = (out / f"{ds}.csv").read_text().splitlines()
    return {"loaded": len(lines) - 1}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["extract", "load"])
    parser.add_argument("--ds", required=True)
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("/data"))
    args = parser.parse_args()
    result = extract(args.ds, args.rows, args.out) if args.step == "extract" else load(args.ds, args.out)
    xcom_dir = Path("/airflow/xcom")
    if xcom_dir.is_dir():
        (xcom_dir / "return.json").write_text(json.dumps(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
