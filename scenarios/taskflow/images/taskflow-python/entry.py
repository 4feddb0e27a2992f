#!/usr/bin/env python3
"""The image's entrypoint, in the style of official images' docker-entrypoint scripts: a first
argument that is a program (``bash``, ``python``: what ``@task.docker`` and ``@task.kubernetes``
run) is executed as given. Otherwise ``taskflow-entry WHAT ARG...`` prints what it was asked and
writes ``{"what": WHAT, "args": [ARG...]}`` as the pod's XCom (/airflow/xcom/return.json), so a
test can tell exactly which arguments reached the container."""

import json
import os
import shutil
import sys

if len(sys.argv) > 1 and shutil.which(sys.argv[1]):
    os.execvp(sys.argv[1], sys.argv[1:])  # noqa: S606 - an entrypoint hands over to the given program

what, args = sys.argv[1], sys.argv[2:]
result = {"what": what, "args": args}
print(f"taskflow-entry {what}: {' '.join(args)}", flush=True)
if os.environ.get("TASKFLOW_NO_XCOM") != "1":
    os.makedirs("/airflow/xcom", exist_ok=True)
    with open("/airflow/xcom/return.json", "w") as out:
        json.dump(result, out)
