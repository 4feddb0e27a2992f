#!/usr/bin/env python3
"""A stand-in for an incremental export job: it is told which data interval to export.

interval-export --start TS --end TS --run-type TYPE --previous TS|none --out DIR

writes DIR/<start>_<end>.txt with one line per argument and prints, as its last
line (the DockerOperator's XCom), what it exported:
"exported <start> to <end> (<run type>), previous: <previous>".
"""

import argparse
import os
import sys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="interval-export")
    for name in ("--start", "--end", "--run-type", "--previous", "--out"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    # "{{ dag_run.run_type }}" renders as "DagRunType.SCHEDULED" (the enum) in Airflow 3.3's task context
    args.run_type = args.run_type.rpartition(".")[2].lower()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.start}_{args.end}.txt")
    with open(path, "w") as out:
        out.write(f"start={args.start}\nend={args.end}\nrun_type={args.run_type}\nprevious={args.previous}\n")
    print(f"wrote {path}")
    print(f"exported {args.start} to {args.end} ({args.run_type}), previous: {args.previous}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
