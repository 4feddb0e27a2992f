"""One way to wait for something: a deadline, an interval, and the reason it is not ready yet.

Every wait of the harness's own (a daemon answering, a registry, a cluster, manifests, a service
container, a copy pod) is a :func:`wait_until` with a check that returns None when ready and
otherwise says why not; the timeout's message carries the last reason. A check raises to fail at
once (a container that exited will not become ready). The loops that mirror a provider's own waits
(k8s_waits) keep the provider's shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from airflow_e2e_harness.errors import HarnessError

POLL = 0.2  # seconds between checks, unless a wait has a reason to poll slower


class WaitTimeout(HarnessError, TimeoutError):
    """Something was not ready in time.

    :param what: what was waited for.
    :param seconds: how long.
    :param reason: why it was not ready at the last check.
    """

    def __init__(self, what: str, seconds: float, reason: str) -> None:
        super().__init__(f"{what}: not ready after {seconds:.0f}s: {reason}")
        self.what, self.seconds, self.reason = what, seconds, reason


def wait_until(
    check: Callable[[], str | None],
    *,
    what: str,
    timeout: float,
    interval: float = POLL,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> float:
    """Call ``check`` until it returns None; returns the seconds it took.

    :raises WaitTimeout: ``timeout`` passed; its message ends with the check's last reason.
    """
    clock, sleep = clock or time.monotonic, sleep or time.sleep  # looked up now: tests may fake them
    start = clock()
    while True:
        reason = check()
        if reason is None:
            return clock() - start
        if clock() - start >= timeout:
            raise WaitTimeout(what, timeout, reason)
        sleep(interval)
