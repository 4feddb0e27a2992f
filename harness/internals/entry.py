"""One registered internal: where it is, why the harness needs it, what it was tested on, and the
check that it is still there, whose error names the installed versions and what to do.

Targets are ``module:qualified.name`` strings, resolved only when asked for: Airflow must not be
imported before the session has set its home.
"""

from __future__ import annotations

import dis
import importlib
import importlib.metadata
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from types import CodeType
from typing import Any, Literal

from airflow_e2e_harness.errors import HarnessError

Kind = Literal["patch", "private-attribute", "moved-import", "internal-import", "subclass"]
Check = Callable[[Any], str]  # the resolved target -> "" when it is as the harness needs, else what is not
AIRFLOW = "apache-airflow"
# Airflow 3 split these out of apache-airflow; on Airflow 2 their code is apache-airflow's own.
SPLIT_FROM_AIRFLOW = ("apache-airflow-core", "apache-airflow-task-sdk")
REGISTRY_FILE = "harness/internals/touches.py"  # airflow_e2e_harness.internals.touches, once installed
_REQUIRED: set[str] = set()  # names of the entries checked already in this process
_REPLACED: list[tuple[Any, Any]] = []  # (replacement, original) of each harness patch in place


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


@cache
def airflow_line() -> str:
    """The installed Airflow's ``major.minor`` ("3.3"), which picks an entry's target; "" without Airflow."""
    match = re.match(r"(\d+)\.(\d+)", installed_version(AIRFLOW) or "")
    return f"{match[1]}.{match[2]}" if match else ""


class InternalMissing(HarnessError, RuntimeError):
    """A registered internal is not (or no longer) what the harness relies on in the installed versions."""

    def __init__(self, internal: Internal, problem: str) -> None:
        self.internal = internal
        self.problem = problem
        self.distribution = internal.distribution_here()
        self.version = installed_version(self.distribution)
        super().__init__(self._message())

    def _message(self) -> str:
        entry = self.internal
        installed = f"{self.distribution} {self.version or '(not installed)'}"
        airflow = installed_version(AIRFLOW)
        if self.distribution != AIRFLOW and airflow:
            installed += f" (apache-airflow {airflow})"
        tested = "; ".join(f"{dist} {versions}" for dist, versions in entry.tested.items())
        return (
            f"airflow-e2e-harness relies on {entry.name} ({entry.kind}, "
            f"{entry.target_here() or entry.target}, used by {entry.used_by}), which is not as it needs it "
            f"in {installed}: {self.problem}. "
            f"It was tested on {tested}. Install a tested version, or adapt the entry {entry.name!r} in "
            f"{REGISTRY_FILE}, and the code that uses it, to this version."
        )


@dataclass(frozen=True, eq=False)
class Internal:
    """One touch of a third-party internal (see :mod:`airflow_e2e_harness.internals.touches`).

    :param name: how the listing and errors name it.
    :param kind: ``patch`` (replaced for a while, then restored: :class:`~.patch.Patch`),
        ``private-attribute`` (read or set on objects), ``moved-import`` (its module differs by
        Airflow line), ``internal-import`` (from a module not documented as public),
        ``subclass`` (a class built on another's internals).
    :param target: ``module:qualified.name`` on the newest tested line.
    :param why: why no public extension point does the job.
    :param distribution: the distribution whose version decides whether the target is there.
    :param tested: distribution -> the versions the harness was tested with.
    :param used_by: the harness code that relies on it.
    :param by_line: Airflow line ("3.1") -> the target there, where it differs; None: the line has
        none, and the code using it does without (one adapter per Airflow line).
    :param check: what must also hold of the resolved target; returns "" or what is wrong.
    :param optional: its distribution may be absent (an optional dependency): nothing to do then.
    """

    name: str
    kind: Kind
    target: str
    why: str
    distribution: str
    tested: Mapping[str, str]
    used_by: str
    by_line: Mapping[str, str | None] = field(default_factory=dict)
    check: Check | None = None
    optional: bool = False

    def distribution_here(self) -> str:
        """The distribution that holds the target on the installed line: on Airflow 2, core's and the
        task SDK's predecessors are apache-airflow itself."""
        if self.distribution in SPLIT_FROM_AIRFLOW and airflow_line().startswith("2."):
            return AIRFLOW
        return self.distribution

    def target_here(self) -> str | None:
        """The target on the installed Airflow line (None: that line has none)."""
        return self.by_line.get(airflow_line(), self.target)

    @property
    def applies(self) -> bool:
        """Whether there is anything to reach for here: a target on this line, its distribution installed."""
        if self.target_here() is None:
            return False
        return not self.optional or installed_version(self.distribution) is not None

    @property
    def module(self) -> str:
        return (self.target_here() or self.target).partition(":")[0]

    @property
    def attribute(self) -> str:
        """The last name of the target (the attribute a patch replaces or a task carries)."""
        return (self.target_here() or self.target).partition(":")[2].rpartition(".")[2]

    def load(self) -> Any:
        """The target, checked; :class:`InternalMissing`, naming the installed versions, when it is not."""
        target = self.target_here()
        if target is None:
            raise InternalMissing(self, f"Airflow {airflow_line()} has no such target; the harness has no "
                                        "adapter for that line here")
        found = resolve(self, target)
        problem = self.check(unpatched(found)) if self.check is not None else ""
        if problem:
            raise InternalMissing(self, problem)
        return found

    def require(self) -> None:
        """:meth:`load` once per process: what code that reads the internal on every task calls."""
        if self.name not in _REQUIRED:
            self.load()
            _REQUIRED.add(self.name)

    def owner(self) -> tuple[Any, str]:
        """The object that holds the target, and the attribute's name on it (what a patch replaces)."""
        self.load()
        module, _, qualname = (self.target_here() or self.target).partition(":")
        parent = qualname.rpartition(".")[0]
        return resolve(self, f"{module}:{parent}"), self.attribute


def unpatched(found: Any) -> Any:
    """What ``found`` replaced when it is a harness patch's replacement: checks judge the original."""
    for replacement, original in reversed(_REPLACED):
        if found is replacement:
            found = original
    return found


def resolve(internal: Internal, target: str) -> Any:
    """Import ``module:qualified.name``; :class:`InternalMissing` saying which part is missing."""
    module_name, _, qualname = target.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise InternalMissing(internal, f"module {module_name} does not import ({err})") from err
    path = module_name
    for part in filter(None, qualname.split(".")):
        try:
            found = getattr(found, part)
        except AttributeError as err:
            raise InternalMissing(internal, f"{path} has no attribute {part!r}") from err
        path = f"{path}.{part}"
    return found


# -- checks: what must hold of a target besides its being there ------------------------------------
def is_cached_property(found: Any) -> str:
    """The target is a ``functools.cached_property``, whose value lives in the instance's ``__dict__``."""
    return "" if isinstance(found, cached_property) else (
        f"it is a {type(found).__name__}, no longer a functools.cached_property")


def names_in(*names: str, reader: str | None = None) -> Check:
    """A check: the code of ``reader`` (``module:qualified.name``; default: the target) still names each
    of ``names`` (attributes, globals, parameters, string constants; nested functions included)."""

    def check(found: Any) -> str:
        function = found
        if reader is not None:
            try:
                function = _import(reader)
            except (ImportError, AttributeError) as err:
                return f"{reader} is not there ({err})"
        code = getattr(inspect.unwrap(function), "__code__", None)
        if code is None:
            return f"{reader or 'the target'} is not a Python function"
        missing = [name for name in names if name not in _code_names(code)]
        return f"{reader or 'its code'} no longer names {', '.join(missing)}" if missing else ""

    return check


def per_line(checks: Mapping[str, Check | None], default: Check | None) -> Check:
    """A check chosen by the installed Airflow line (what a line's own target must hold differs
    where its code differs); None: nothing more to check there."""

    def check(found: Any) -> str:
        chosen = checks.get(airflow_line(), default)
        return chosen(found) if chosen is not None else ""

    return check


def takes(parameter: str, of: str) -> Check:
    """A check: the callable at ``of`` still takes ``parameter``."""

    def check(found: Any) -> str:
        try:
            params = inspect.signature(_import(of)).parameters
        except (ImportError, AttributeError, ValueError, TypeError) as err:
            return f"{of} is not there ({err})"
        return "" if parameter in params else f"{of} no longer takes {parameter!r}"

    return check


def sets_only(*attributes: str) -> Check:
    """A check on an ``__init__``: it sets exactly ``attributes`` on self (a subclass sets them instead)."""

    def check(init: Any) -> str:
        stored = {i.argval for i in dis.get_instructions(inspect.unwrap(init)) if i.opname == "STORE_ATTR"}
        if stored == set(attributes):
            return ""
        return f"it now sets {sorted(stored)}, the harness's subclass sets {sorted(attributes)}"

    return check


def _import(target: str) -> Any:
    module_name, _, qualname = target.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in filter(None, qualname.split(".")):
        found = getattr(found, part)
    return found


def _code_names(code: CodeType) -> set[str]:
    names = set(code.co_names) | set(code.co_varnames)
    for const in code.co_consts:
        if isinstance(const, str):
            names.add(const)
        elif isinstance(const, CodeType):
            names |= _code_names(const)
    return names
