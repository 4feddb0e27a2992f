"""Build Airflow's in-process execution API in a background thread while the session sets up.

Most of Airflow's one-time start in a session (about 5 s of 5.5 on a 2-core
machine) is the in-process execution API that ``dag.test()`` runs tasks
through: importing it, building its FastAPI app, and the versioned routes
Cadwyn builds on the first request. Airflow caches it per process
(``supervisor.in_process_api_server``), so building it early, while images are
checked, services start and the cluster comes up (mostly waits on Docker and
Kubernetes), takes it off the critical path. The warm-up DAG run then only
waits for what is left. Nothing here touches the metadata DB.
"""

from __future__ import annotations

import threading
import time

HEALTH_PATH = "/health"  # any request initialises the versioned routes; this one needs no DB


class ExecutionApiPrestart:
    """One background build of the in-process execution API; :meth:`wait` joins it.

    A failure is kept, not raised: the warm-up run that follows builds the API
    again in the foreground and reports the error as a run failure would.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Begin the build; Airflow's home must be set already (Airflow reads it at import)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._build, name="airflow-e2e-prestart", daemon=True)
            self._thread.start()

    def wait(self) -> float:
        """Join the build; returns how long this call waited for it."""
        if self._thread is None:
            return 0.0
        start = time.monotonic()
        self._thread.join()
        return time.monotonic() - start

    def _build(self) -> None:
        start = time.monotonic()
        try:
            import httpx
            from airflow.sdk.execution_time.supervisor import in_process_api_server

            transport = in_process_api_server().transport  # the app, its event loop and lifespan
            httpx.Client(transport=transport, base_url="http://in-process.invalid./").get(HEALTH_PATH)
        except BaseException as err:  # noqa: BLE001 - reported by the warm-up run instead
            self.error = err
        finally:
            self.seconds = time.monotonic() - start
