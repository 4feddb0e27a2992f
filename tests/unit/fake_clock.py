"""A clock for unit tests that wait: sleeping only moves it on, and each sleep is recorded.

It stands in for a module's ``time`` (``monotonic``, ``time``, ``sleep``) and, called, for a
``clock`` argument.
"""

from __future__ import annotations


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
