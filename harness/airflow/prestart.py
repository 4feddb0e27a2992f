"""Build Airflow's in-process execution API in a background thread while the session sets up.

Most of Airflow's one-time start in a session (about 5 s of 5.5 on a 2-core
machine) is the in-process execution API that ``dag.test()`` runs tasks
through: importing it, building its FastAPI app, and the versioned routes
Cadwyn builds on the first request. Airflow caches it per process
(``supervisor.in_process_api_server``), so building it early, while images are
checked, services start and the cluster comes up (mostly waits on Docker and
Kubernetes), takes it off the critical path. The warm-up DAG run then only
waits for what is left. Nothing here touches the metadata DB.

Airflow 3.1 and 3.2 build that API anew for every task (3.3 keeps one per
process); :func:`keep_one_execution_api` gives them 3.3's behaviour, until the
session ends (:func:`restore_execution_api`).

Airflow 2.11 has no execution API (tasks write to the metadata DB themselves): there is nothing
to build early, and both calls do nothing.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import Future, wait

from airflow_e2e_harness.background import in_background
from airflow_e2e_harness.internals import Patch
from airflow_e2e_harness.internals.touches import IN_PROCESS_API_SERVER

HEALTH_PATH = "/health"  # any request initialises the versioned routes; this one needs no DB


def keep_one_execution_api() -> bool:
    """Build the in-process execution API once per process, as Airflow 3.3 does.

    Airflow 3.1 and 3.2's ``in_process_api_server()`` builds a new FastAPI app
    for every task ``dag.test()`` runs: about 3 s per task on 3.2, measured,
    where 3.3 (``functools.lru_cache(maxsize=1)`` on the same function) pays it
    once. Returns whether the function had to be wrapped.
    """
    if _ONE_API.installed or not IN_PROCESS_API_SERVER.applies:  # Airflow 2.11: no such API
        return False
    build = _ONE_API.original
    if hasattr(build, "cache_info"):  # 3.3+: cached already
        return False
    _ONE_API.install(functools.lru_cache(maxsize=1)(build))
    return True


def restore_execution_api() -> None:
    """Put Airflow's own ``in_process_api_server`` back (and drop the API it cached)."""
    _ONE_API.uninstall()


_ONE_API = Patch(IN_PROCESS_API_SERVER)


class ExecutionApiPrestart:
    """One background build of the in-process execution API; :meth:`wait` joins it.

    The build runs in a daemon thread (:func:`~airflow_e2e_harness.background.in_background`: a
    hung build must not hold the interpreter's exit). A failure is kept, not raised:
    the warm-up run that follows builds the API again in the foreground and reports the error as
    a run failure would.
    """

    def __init__(self) -> None:
        self._future: Future[None] | None = None
        self.seconds = 0.0

    @property
    def started(self) -> bool:
        return self._future is not None

    @property
    def error(self) -> BaseException | None:
        """What the build raised, once it has ended."""
        if self._future is None or not self._future.done():
            return None
        return self._future.exception()

    def start(self) -> None:
        """Begin the build; Airflow's home must be set already (Airflow reads it at import).
        Nothing to build on Airflow 2.11."""
        if self._future is None and IN_PROCESS_API_SERVER.applies:
            keep_one_execution_api()  # else the build is thrown away on Airflow 3.1 and 3.2
            self._future = in_background(self._build, name="airflow-e2e-prestart")

    def wait(self) -> float:
        """Join the build; returns how long this call waited for it."""
        if self._future is None:
            return 0.0
        start = time.monotonic()
        wait([self._future])
        return time.monotonic() - start

    def _build(self) -> None:
        start = time.monotonic()
        try:
            import httpx

            transport = IN_PROCESS_API_SERVER.load()().transport  # the app, its event loop and lifespan
            httpx.Client(transport=transport, base_url="http://in-process.invalid./").get(HEALTH_PATH)
        finally:  # a failure stays in the future: the warm-up run reports it
            self.seconds = time.monotonic() - start
