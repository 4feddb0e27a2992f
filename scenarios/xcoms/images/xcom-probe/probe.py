#!/usr/bin/env python3
"""A container that produces outputs in each way the operators turn into XComs.

probe lines N          print "line 1" .. "line N" (DockerOperator: last line / xcom_all)
probe pickle PATH DS   pickle a dict derived from DS into PATH (retrieve_output)
probe json DS          write /airflow/xcom/return.json (KubernetesPodOperator's sidecar)
probe fail CODE        print a marker, then exit with CODE
probe wait             a stand-in service: print "waiting", then run until SIGTERM
"""

import json
import os
import pickle
import signal
import sys
import time


def payload(ds: str) -> dict:
    # String keys: XCom values travel as JSON, where int keys would become strings.
    year, month, day = (int(part) for part in ds.split("-"))
    return {"ds": ds, "parts": [year, month, day], "squares": {str(n): n * n for n in range(day)}}


def main(argv: list[str]) -> int:
    mode, *args = argv or ["help"]
    if mode == "lines":
        for i in range(1, int(args[0]) + 1):
            print(f"line {i}", flush=True)
        return 0
    if mode == "pickle":
        path, ds = args
        with open(path, "wb") as handle:
            pickle.dump(payload(ds), handle)
        print(f"pickled payload for {ds} into {path}")
        return 0
    if mode == "json":
        (ds,) = args
        os.makedirs("/airflow/xcom", exist_ok=True)
        with open("/airflow/xcom/return.json", "w") as handle:
            json.dump(payload(ds), handle)
        print(f"wrote XCom for {ds}")
        return 0
    if mode == "fail":
        print(f"probe: the input is corrupt, giving up (exit {args[0]})", file=sys.stderr, flush=True)
        return int(args[0])
    if mode == "wait":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print("waiting", flush=True)
        while True:
            time.sleep(1)
    print(__doc__, file=sys.stderr)
    return 2


sys.exit(main(sys.argv[1:]))
