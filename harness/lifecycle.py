"""The context-manager protocol shared by every object that owns one resource."""

from __future__ import annotations

from typing import ClassVar, Self


class Lifecycle:
    """``with`` starts the resource (and waits until it is ready) and stops it.

    ``__exit__`` never runs when ``__enter__`` raises, so a resource that fails
    to become ready is stopped right there, unless it sets
    ``stop_on_failed_start = False`` to stay for the failure bundle to inspect.
    ``stop`` must therefore cope with a half-started resource and honour the
    owner's keep option itself.
    """

    stop_on_failed_start: ClassVar[bool] = True

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            if self.stop_on_failed_start:
                self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
