"""``--allow`` patterns: differences the user expects from an upgrade, which then do not fail it.

A pattern is a shell-style glob (``*``, ``?``, ``[...]``) matched against a difference's whole
address (see diff), e.g. ``version_probe.write.xcom``, ``*.rendered.env``,
``etl_daily.files.*.csv``, ``imports.warnings.*``. ``*`` also matches dots: ``etl_daily.*``
allows everything about that DAG's runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_e2e_harness.compare.diff import Difference


class AllowList:
    """The patterns of ``--allow``, in order; :meth:`unused` names those that matched nothing."""

    def __init__(self, patterns: Sequence[str]) -> None:
        """:param patterns: globs over difference addresses."""
        self.patterns = list(patterns)
        self.used: set[str] = set()

    def match(self, address: str) -> str | None:
        """The first pattern that matches ``address``, or None."""
        for pattern in self.patterns:
            if fnmatchcase(address, pattern):
                self.used.add(pattern)
                return pattern
        return None

    def mark(self, difference: Difference) -> Difference:
        """``difference``, with the pattern that allows it (if any)."""
        return dataclasses.replace(difference, allowed_by=self.match(difference.address))

    def unused(self) -> list[str]:
        return [p for p in self.patterns if p not in self.used]
