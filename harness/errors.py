"""The harness's one error family: ``except HarnessError`` catches everything the harness raises
on purpose, and nothing else.

Each error keeps the builtin base it had (``RuntimeError``, ``LookupError``, ``ValueError``;
``DagRunFailed`` is an ``AssertionError`` so that pytest reports a failed run as a test failure),
so existing ``except`` clauses keep working. Subclasses carry what a caller needs as fields (the
file and line, the logs and where they are, what was tried), not only in their message.
``Interrupted`` (Ctrl-C, SIGTERM) is deliberately not one: it is a ``KeyboardInterrupt``, which
``except Exception`` must never swallow.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Something the harness found and can name: bad input, an unmet precondition, a resource that
    did not come up. The message says what to do."""


class ConfigurationError(HarnessError, ValueError):
    """An argument or setting the harness cannot work with (it names the one to change)."""


class InputNotFound(HarnessError, FileNotFoundError):
    """A file or folder the user named (DAGs, manifests, a build context) does not exist."""
