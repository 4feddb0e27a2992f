#!/usr/bin/env python3
"""The fidelity scenario's task image: each mode shows one thing about how a task was run.

- ``marker``: print the marker baked in at build time (which build is this?)
- ``flaky TRY NEEDED``: fail until Airflow's try number reaches NEEDED
- ``oom``: allocate memory until the container's limit stops it
- ``fail PATH CODE``: a few lines of progress, then a missing input and exit CODE
- ``hang``: print a line and sleep, ignoring SIGTERM as a PID 1 without a handler does
"""

import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "marker"
    if mode == "marker":
        print(Path("/etc/fidelity-marker").read_text().strip())
        return 0
    if mode == "flaky":
        attempt, needed = int(argv[2]), int(argv[3])
        print(f"try {attempt}; succeeds from try {needed}")
        return 0 if attempt >= needed else 1
    if mode == "oom":
        hoard = []
        while True:
            hoard.append(b"\x01" * (16 << 20))  # written, so the pages count against the limit
            print(f"holding {len(hoard) * 16} MiB", flush=True)
    if mode == "hang":
        print("working on it", flush=True)
        time.sleep(3600)
        return 0
    if mode == "fail":
        print("step 1: config read")
        print("step 2: connected")
        print(f"cannot open input {argv[2]}", file=sys.stderr)
        return int(argv[3])
    print(f"unknown mode {mode!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
