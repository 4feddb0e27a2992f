"""Every ``HARNESS_*`` environment variable, read in one place.

Users set these where a command line is out of reach (tox, CI, an IDE's test
runner). The pytest plugin and the CLI use them as their options' defaults, and
the session hands the values down; no other module reads ``HARNESS_*`` from the
environment (``tests/unit/test_options.py`` checks that).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from airflow_e2e_harness.errors import ConfigurationError

TRUE = {"1", "true", "yes", "on"}
FALSE = {"", "0", "false", "no", "off"}
IMAGE_MODES = ("auto", "stock", "local")
IMAGE_LOADS = ("registry", "kind")


def _var(name: str, meaning: str) -> dict[str, str]:
    return {"variable": name, "meaning": meaning}


@dataclass(frozen=True)
class HarnessOptions:
    """The harness's settings from the environment; a field's metadata names its variable.

    :param cache_dir: root of every cache the harness writes (default: the XDG cache folder).
    :param artifacts_dir: where task logs, outputs and failure bundles go.
    :param keep_daemon: leave a harness-started Docker daemon running.
    :param keep_resources: leave service containers, networks and temp folders.
    :param keep_all: keep daemon, cluster and resources.
    :param stock_waits: keep KubernetesPodOperator's own poll intervals.
    :param keep_retry_delays: wait each task's ``retry_delay`` before a retry.
    :param kind_config: a kind config of the user's.
    :param kind_image: the kind node image: ``local``, ``stock`` or a tag.
    :param kind_bin: a kind binary to use instead of provisioning one.
    :param kubectl_bin: a kubectl binary to use instead of provisioning one.
    :param kubeconfig: an existing cluster's kubeconfig (read only), instead of kind.
    :param kube_context: that kubeconfig's context to use.
    :param image_registry: ``HOST[:PORT][/PREFIX]`` the existing cluster pulls task images from.
    :param base_images: the Python base of task images: ``auto``, ``stock`` or ``local``.
    :param image_load: how images reach kind nodes: ``registry`` (default) or ``kind`` (kind load).
    :param record_dir: where each DAG run writes a record for ``compare`` (set by ``compare``).
    """

    cache_dir: Path | None = field(default=None, metadata=_var("HARNESS_CACHE_DIR", "root of every cache"))
    artifacts_dir: str = field(default="e2e-artifacts", metadata=_var(
        "HARNESS_ARTIFACTS_DIR", "task logs, outputs and failure bundles"))
    keep_daemon: bool = field(default=False, metadata=_var("HARNESS_KEEP_DAEMON", "leave the daemon running"))
    keep_resources: bool = field(default=False, metadata=_var(
        "HARNESS_KEEP_RESOURCES", "leave service containers, networks and temp folders"))
    keep_all: bool = field(default=False, metadata=_var(
        "HARNESS_KEEP_ALL", "keep daemon, cluster and resources"))
    stock_waits: bool = field(default=False, metadata=_var(
        "HARNESS_STOCK_WAITS", "KubernetesPodOperator's own poll intervals"))
    keep_retry_delays: bool = field(default=False, metadata=_var(
        "HARNESS_KEEP_RETRY_DELAYS", "wait each retry_delay"))
    kind_config: str | None = field(default=None, metadata=_var("HARNESS_KIND_CONFIG", "a kind config"))
    kind_image: str | None = field(default=None, metadata=_var(
        "HARNESS_KIND_IMAGE", "node image: local, stock or a tag"))
    kind_bin: str | None = field(default=None, metadata=_var("HARNESS_KIND_BIN", "a kind binary"))
    kubectl_bin: str | None = field(default=None, metadata=_var("HARNESS_KUBECTL_BIN", "a kubectl binary"))
    kubeconfig: str | None = field(default=None, metadata=_var(
        "HARNESS_KUBECONFIG", "an existing cluster's kubeconfig"))
    kube_context: str | None = field(default=None, metadata=_var("HARNESS_KUBE_CONTEXT", "its context"))
    image_registry: str | None = field(default=None, metadata=_var(
        "HARNESS_IMAGE_REGISTRY", "the registry an existing cluster pulls from"))
    base_images: str = field(default="auto", metadata=_var(
        "HARNESS_BASE_IMAGES", "task images' Python base: auto, stock or local"))
    image_load: str = field(default="registry", metadata=_var(
        "HARNESS_IMAGE_LOAD", "how images reach kind nodes: registry or kind"))
    record_dir: str | None = field(default=None, metadata=_var(
        "HARNESS_RECORD_DIR", "compare: where each DAG run's record goes"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HarnessOptions:
        """The options the environment sets (``os.environ`` unless given); bad values fail here,
        naming the variable, before anything starts."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["variable"])
            if raw is None:
                continue
            values[f.name] = _parse(f.metadata["variable"], raw, f.default)
        return cls(**values)  # type: ignore[arg-type]

    @staticmethod
    def variables() -> dict[str, str]:
        """``{variable: meaning}``, in field order (for docs and the tests)."""
        return {f.metadata["variable"]: f.metadata["meaning"] for f in fields(HarnessOptions)}


def _parse(name: str, raw: str, default: object) -> object:
    value = raw.strip()
    if isinstance(default, bool):
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise ConfigurationError(f"{name}={raw!r}: expected 1/true/yes/on or 0/false/no/off")
    if name == "HARNESS_CACHE_DIR":
        return Path(value).expanduser() if value else None
    if name == "HARNESS_BASE_IMAGES":
        return _choice(name, value.lower() or "auto", IMAGE_MODES)
    if name == "HARNESS_IMAGE_LOAD":
        return _choice(name, value.lower() or "registry", IMAGE_LOADS)
    return value or default


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigurationError(f"{name}={value!r}: expected {', '.join(allowed)}")
    return value
