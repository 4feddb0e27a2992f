"""One home for everything the harness reaches into Airflow, a provider, the kubernetes clients or
pytest-kind for: :mod:`.touches` lists each touch (target, why, tested versions), :mod:`.entry`
checks a target before it is relied on, :mod:`.patch` installs and undoes the patches.

Public extension points come first (cluster policies, connections, operator arguments, the kind
CLI); what is here is what they cannot do.
"""

from airflow_e2e_harness.internals.entry import Internal, InternalMissing, airflow_line, installed_version
from airflow_e2e_harness.internals.patch import Patch, installed_patches, uninstall_all
from airflow_e2e_harness.internals.touches import REGISTRY

__all__ = [
    "REGISTRY",
    "Internal",
    "InternalMissing",
    "Patch",
    "airflow_line",
    "installed_patches",
    "installed_version",
    "uninstall_all",
]
