"""A service that refuses to start without its configuration, as many do: it says what is missing
and exits 1, so that its Deployment crash-loops."""

import os
import sys

print("api: reading configuration", flush=True)
if not os.environ.get("API_KEY"):
    print("config missing: API_KEY", flush=True)
    sys.exit(1)
print("api: serving", flush=True)
