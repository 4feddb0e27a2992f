"""Installing a registered patch, and undoing it: the only place the harness replaces a third-party
attribute. Every patch in place is listed by :func:`installed_patches`; the session undoes what is
left at its end (:func:`uninstall_all`)."""

from __future__ import annotations

from typing import Any, Self

from airflow_e2e_harness.internals.entry import _REPLACED, Internal

_UNSET: Any = object()
_INSTALLED: list[Patch] = []  # in the order installed


class Patch:
    """Puts ``replacement`` in place of a registered target (kind ``patch``) until :meth:`uninstall`;
    ``with Patch(entry, value):`` does both.

    Installing checks the target first (:class:`~.entry.InternalMissing` names the installed
    versions). The original is read from the owner's own ``__dict__`` when there, so a method goes
    back exactly as the class had it; uninstalling puts it back only while the replacement is still
    in place, so whatever replaced it since (a test's monkeypatch) is left alone. Where the entry
    does not apply (no target on this Airflow line, an optional distribution absent), installing
    does nothing.
    """

    def __init__(self, internal: Internal, replacement: Any = _UNSET) -> None:
        if internal.kind != "patch":
            raise ValueError(f"{internal.name} is registered as {internal.kind}, not as a patch")
        self.internal = internal
        self.replacement = replacement
        self._owner: Any = None
        self._attribute = ""
        self._original: Any = _UNSET
        self._had_own = False

    @property
    def installed(self) -> bool:
        """Whether the replacement is in place now."""
        return self._owner is not None and vars(self._owner).get(self._attribute, _UNSET) is self.replacement

    @property
    def original(self) -> Any:
        """What the patch replaced, or (not installed) what it would replace now."""
        if self.installed:
            return self._original
        owner, attribute = self.internal.owner()
        return vars(owner)[attribute] if attribute in vars(owner) else getattr(owner, attribute)

    def install(self, replacement: Any = _UNSET) -> Self:
        if replacement is not _UNSET:
            self.replacement = replacement
        if self.replacement is _UNSET:
            raise ValueError(f"{self.internal.name}: nothing to install")
        if self.installed:
            raise RuntimeError(f"{self.internal.name}: installed already")
        self.uninstall()  # replaced by someone else since: forget what it had replaced
        if not self.internal.applies:
            return self
        owner, attribute = self.internal.owner()
        own = vars(owner)
        self._had_own = attribute in own
        self._original = own[attribute] if self._had_own else getattr(owner, attribute)
        setattr(owner, attribute, self.replacement)
        self._owner, self._attribute = owner, attribute
        _INSTALLED.append(self)
        _REPLACED.append((self.replacement, self._original))
        return self

    def uninstall(self) -> None:
        if self._owner is None:
            return
        if self.installed:
            if self._had_own:
                setattr(self._owner, self._attribute, self._original)
            else:
                delattr(self._owner, self._attribute)
        if self in _INSTALLED:
            _INSTALLED.remove(self)
        pair = next((p for p in _REPLACED if p[0] is self.replacement and p[1] is self._original), None)
        if pair is not None:
            _REPLACED.remove(pair)
        self._owner, self._original = None, _UNSET

    def __enter__(self) -> Self:
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        return f"Patch({self.internal.name}, installed={self.installed})"


def installed_patches() -> list[Patch]:
    """The patches installed in this process and not undone yet, oldest first."""
    return list(_INSTALLED)


def uninstall_all() -> None:
    """Undo every patch still installed, newest first (the end of a session)."""
    for patch in reversed(installed_patches()):
        patch.uninstall()
