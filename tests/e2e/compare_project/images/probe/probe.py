"""The compare test's task image.

version --out DIR --version V  -> DIR/version.txt holds "V\n"; prints V (the XCom)
steady --out DIR               -> DIR/steady.txt holds "3 rows\n"; prints {"rows": 3}
check --out DIR                -> reads DIR/steady.txt; prints {"checked": 3}
interval --out DIR --start S --end E -> DIR/interval.txt holds "S..E\n"; prints S..E
"""

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["version", "steady", "check", "interval"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--version")
    parser.add_argument("--start")
    parser.add_argument("--end")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.step == "version":
        (args.out / "version.txt").write_text(f"{args.version}\n")
        print(args.version)
    elif args.step == "steady":
        (args.out / "steady.txt").write_text("3 rows\n")
        print(json.dumps({"rows": 3}))
    elif args.step == "interval":
        (args.out / "interval.txt").write_text(f"{args.start}..{args.end}\n")
        print(f"{args.start}..{args.end}")
    else:
        rows = int((args.out / "steady.txt").read_text().split()[0])
        print(json.dumps({"checked": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
