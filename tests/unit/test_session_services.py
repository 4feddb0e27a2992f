"""Environments depend on the declared session interface only, and the session provides all of it.

Read from the source (no session is started): the members environment.py reaches
through ``self.session`` (or its local aliases ``s`` and ``session``) must be
declared in SessionServices, and E2ESession must define every declared member.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from airflow_e2e_harness import environment, session
from airflow_e2e_harness.session import E2ESession
from airflow_e2e_harness.session_services import SessionServices

ALIASES = {"s", "session"}


def declared() -> set[str]:
    members = set(SessionServices.__annotations__)
    members |= {name for name, value in vars(SessionServices).items()
                if not name.startswith("_") and (callable(value) or isinstance(value, property))}
    return members


def used_by_environments() -> set[str]:
    tree = ast.parse(Path(inspect.getfile(environment)).read_text())
    used = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        via_self = (isinstance(owner, ast.Attribute) and owner.attr == "session"
                    and isinstance(owner.value, ast.Name) and owner.value.id == "self")
        if via_self or (isinstance(owner, ast.Name) and owner.id in ALIASES):
            used.add(node.attr)
    return used


def assigned_in_session_init() -> set[str]:
    tree = ast.parse(Path(inspect.getfile(session)).read_text())
    init = next(node for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef) and node.name == "__init__"
                and any(isinstance(p, ast.ClassDef) and p.name == "E2ESession" and node in p.body
                        for p in ast.walk(tree)))
    return {target.attr for node in ast.walk(init) if isinstance(node, (ast.Assign, ast.AnnAssign))
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
            and target.value.id == "self"}


def test_environments_use_only_what_the_interface_declares() -> None:
    used = used_by_environments()
    assert used, "the scan found no use of the session at all: it is broken"
    assert used - declared() == set()


def test_the_session_provides_every_declared_member() -> None:
    provided = {name for name in declared() if hasattr(E2ESession, name)} | assigned_in_session_init()
    assert declared() - provided == set()


def test_the_interface_stays_small() -> None:
    assert len(declared()) <= 25
