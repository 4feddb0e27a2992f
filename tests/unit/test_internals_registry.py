"""The registry of third-party internals: every entry is there on the installed versions, a missing
one fails with a message naming the entry, the version and what to do, patches put back exactly
what they replaced, and no harness module reaches into an internal module without an entry."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

from airflow_e2e_harness.internals import (
    REGISTRY,
    Internal,
    InternalMissing,
    Patch,
    installed_patches,
    installed_version,
    touches,
    uninstall_all,
)
from airflow_e2e_harness.internals import entry as entry_module
from airflow_e2e_harness.internals import patch as patch_module
from airflow_e2e_harness.internals.entry import names_in
from tests.airflow_lines import needs_airflow_3

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"patch", "private-attribute", "moved-import", "internal-import", "subclass"}
# Modules whose contents no project documents as public API: importing from them needs an entry.
INTERNAL_MODULES = (
    "airflow.models", "airflow.settings", "airflow.dag_processing", "airflow.serialization",
    "airflow.utils.db", "airflow.sdk.execution_time", "airflow.sdk.definitions", "airflow.sdk.bases",
    "airflow.providers.cncf.kubernetes.utils", "kubernetes.config.kube_config",
    "kubernetes_asyncio.config.kube_config", "kubernetes.stream.ws_client", "pytest_kind",
)


def fake_entry(target: str, **overrides: Any) -> Internal:
    fields: dict[str, Any] = {
        "name": "fake entry", "kind": "patch", "target": target, "why": "a test",
        "distribution": "apache-airflow-task-sdk", "tested": {"apache-airflow-task-sdk": "0.0.1"},
        "used_by": "tests",
    }
    return Internal(**(fields | overrides))


class Base:
    def greet(self) -> str:
        return "base"


class Child(Base):
    def wave(self) -> str:
        return "child"


# -- the registry, on the installed versions ---------------------------------------------------------
@pytest.mark.parametrize("internal", REGISTRY, ids=lambda internal: internal.name)
def test_every_registered_internal_is_there_on_the_installed_versions(internal: Internal) -> None:
    if not internal.applies:
        pytest.skip(f"{internal.distribution} is not installed, or Airflow {entry_module.airflow_line()} "
                    "has no target for it")
    internal.load()
    if internal.kind == "patch":
        owner, attribute = internal.owner()
        assert hasattr(owner, attribute)


def test_every_entry_says_what_it_is_why_and_what_it_was_tested_on() -> None:
    names = [internal.name for internal in REGISTRY]
    assert len(names) == len(set(names)), "entry names are unique"
    for internal in REGISTRY:
        assert internal.kind in KINDS, internal.name
        assert ":" in internal.target and internal.why and internal.used_by, internal.name
        assert internal.distribution in internal.tested, f"{internal.name}: tested on which version?"
        assert all(line.count(".") == 1 for line in internal.by_line), internal.name


def test_every_entry_in_the_touches_file_is_in_the_registry() -> None:
    defined = {id(value) for value in vars(touches).values() if isinstance(value, Internal)}
    assert defined == {id(internal) for internal in REGISTRY}


def test_no_harness_module_imports_an_internal_module_without_an_entry() -> None:
    targets = {t for internal in REGISTRY for t in (internal.target, *internal.by_line.values()) if t}
    unregistered = []
    for path in [*ROOT.glob("harness/**/*.py"), *ROOT.glob("fixtures/*.py")]:
        if "internals" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            for imported in _imports(node):
                if _internal(imported) and not _registered(imported, targets):
                    unregistered.append(f"{path.relative_to(ROOT)}:{node.lineno}: {imported}")
    assert not unregistered, "add an entry to harness/internals/touches.py and use it:\n" + "\n".join(
        unregistered)


def _imports(node: ast.AST) -> list[str]:
    """``module:name`` for ``from module import name``; ``module:`` for ``import module``."""
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [f"{node.module}:{alias.name}" for alias in node.names]
    if isinstance(node, ast.Import):
        return [f"{alias.name}:" for alias in node.names]
    return []


def _internal(imported: str) -> bool:
    module, _, name = imported.partition(":")
    return imported.startswith(INTERNAL_MODULES) or f"{module}.{name}".startswith(INTERNAL_MODULES)


def _registered(imported: str, targets: set[str]) -> bool:
    module, _, name = imported.partition(":")
    as_module = f"{module}.{name}" if name else module  # from airflow import settings
    return any(
        target == imported or target.startswith(f"{imported}.") or target.startswith(f"{as_module}:")
        for target in targets
    )


# -- a target that is not there ----------------------------------------------------------------------
def test_a_missing_target_names_the_entry_the_installed_version_and_the_file_to_adapt() -> None:
    internal = fake_entry("airflow.models.dagrun:no_such_function")  # a module of Airflow 2.11 and 3.x
    with pytest.raises(InternalMissing) as raised:
        internal.load()
    err = raised.value
    assert err.internal is internal
    # The task SDK's distribution; on Airflow 2.11, which has none, apache-airflow itself.
    assert err.distribution == internal.distribution_here()
    assert err.distribution == ("apache-airflow" if entry_module.airflow_line() == "2.11"
                                else "apache-airflow-task-sdk")
    assert err.version == installed_version(err.distribution) is not None
    assert "has no attribute 'no_such_function'" in err.problem
    message = str(err)
    assert f"{err.distribution} {err.version}" in message
    assert "tested on apache-airflow-task-sdk 0.0.1" in message
    assert "harness/internals/touches.py" in message and "'fake entry'" in message


def test_a_missing_module_and_a_failed_check_say_which() -> None:
    with pytest.raises(InternalMissing, match=r"module airflow\.no_such_module does not import"):
        fake_entry("airflow.no_such_module:thing").load()
    check = names_in("no_such_name", reader="airflow.utils.db:initdb")  # there on Airflow 2.11 and 3.x
    with pytest.raises(InternalMissing, match="initdb no longer names no_such_name"):
        fake_entry("airflow.utils.db:initdb", check=check).load()


def test_a_patch_whose_target_is_missing_changes_nothing() -> None:
    patch = Patch(fake_entry(f"{__name__}:Child.no_such_method"), lambda self: "new")
    with pytest.raises(InternalMissing):
        patch.install()
    assert not patch.installed and not hasattr(Child, "no_such_method") and not installed_patches()


def test_only_patch_entries_make_patches() -> None:
    with pytest.raises(ValueError, match="not as a patch"):
        Patch(touches.DAG_BAG)


# -- patches put back what they replaced -------------------------------------------------------------
@pytest.mark.parametrize("internal", [i for i in REGISTRY if i.kind == "patch"], ids=lambda i: i.name)
def test_installing_and_uninstalling_a_registered_patch_restores_the_original(internal: Internal) -> None:
    if not internal.applies:
        pytest.skip(f"{internal.name} does not apply here")
    owner, attribute = internal.owner()
    before = vars(owner)[attribute]
    replacement = object()
    with Patch(internal, replacement) as patch:
        assert getattr(owner, attribute) is replacement and patch.installed
        assert patch.original is before
        assert installed_patches() == [patch]
    assert vars(owner)[attribute] is before
    assert not installed_patches()


def test_an_inherited_attribute_is_removed_again_not_copied_onto_the_subclass() -> None:
    with Patch(fake_entry(f"{__name__}:Child.greet"), lambda self: "patched"):
        assert Child().greet() == "patched" and Base().greet() == "base"
    assert "greet" not in vars(Child) and Child().greet() == "base"


def test_what_replaced_a_patch_since_is_left_alone() -> None:
    def later(self: Child) -> str:
        return "later"

    own = vars(Child)["wave"]
    patch = Patch(fake_entry(f"{__name__}:Child.wave"), lambda self: "patched").install()
    Child.wave = later  # type: ignore[method-assign]  # a test's monkeypatch, say
    try:
        assert not patch.installed
        patch.uninstall()
        assert vars(Child)["wave"] is later and not installed_patches()
    finally:
        Child.wave = own  # type: ignore[method-assign]


def test_uninstall_all_undoes_every_patch_still_installed_newest_first() -> None:
    own = vars(Child)["wave"]
    first = Patch(fake_entry(f"{__name__}:Child.wave"), lambda self: "first").install()
    second = Patch(fake_entry(f"{__name__}:Child.wave"), lambda self: "second").install()
    assert installed_patches() == [first, second] and Child().wave() == "second"
    uninstall_all()
    assert vars(Child)["wave"] is own and not installed_patches()


@needs_airflow_3("the in-process execution API")
def test_the_execution_api_cache_goes_back_at_session_end(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.execution_time import supervisor

    from airflow_e2e_harness.airflow.prestart import keep_one_execution_api
    from airflow_e2e_harness.session import E2ESession

    assert "uninstall_all()" in inspect.getsource(E2ESession.stop)

    def build() -> object:  # Airflow 3.1 and 3.2: not cached
        return object()

    monkeypatch.setattr(supervisor, "in_process_api_server", build)
    assert keep_one_execution_api() is True
    assert supervisor.in_process_api_server is not build
    uninstall_all()  # what E2ESession.stop does (this test sees only its own patches)
    assert supervisor.in_process_api_server is build


# -- one adapter per Airflow line --------------------------------------------------------------------
def test_a_moved_import_is_looked_up_where_the_installed_line_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entry_module, "airflow_line", lambda: "3.1")
    assert touches.DAG_BAG.target_here() == "airflow.models.dagbag:DagBag"
    assert not touches.COERCE_TO_CORE_TIMETABLE.applies
    monkeypatch.setattr(entry_module, "airflow_line", lambda: "3.3")
    assert touches.DAG_BAG.target_here() == "airflow.dag_processing.dagbag:DagBag"
    monkeypatch.setattr(entry_module, "airflow_line", lambda: "2.11")
    assert touches.DAG_BAG.target_here() == "airflow.models.dagbag:DagBag"
    assert touches.RUN_TASK_IN_PROCESS.target_here() == "airflow.models.dag:_run_task"
    assert not any(entry.applies for entry in (
        touches.IN_PROCESS_API_SERVER, touches.XCOM_RESULT, touches.COERCE_TO_CORE_TIMETABLE))
    assert touches.TASK_INSTANCE.distribution_here() == "apache-airflow"  # no apache-airflow-core on 2.11


def test_a_patch_for_a_line_without_the_target_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entry_module, "airflow_line", lambda: "2.11")
    internal = fake_entry(f"{__name__}:Child.wave", by_line={"2.11": None})
    with Patch(internal, lambda self: "patched") as patch:
        assert not patch.installed and Child().wave() == "child"
    with pytest.raises(InternalMissing, match=r"Airflow 2\.11 has no such target"):
        internal.load()


@pytest.fixture(autouse=True)
def _own_patches_only(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Each test sees only the patches it installs (the plugin's session holds its own meanwhile),
    and must leave none behind."""
    monkeypatch.setattr(patch_module, "_INSTALLED", [])
    yield
    left = installed_patches()
    uninstall_all()
    assert not left, f"a test left patches installed: {left}"
