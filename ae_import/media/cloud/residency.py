"""Whether this machine runs in Google Cloud or Azure, judged without asking the network.

The SDKs' credential chains end by asking an instance metadata address (169.254.169.254,
metadata.google.internal): on a laptop or a CI machine that probe is traffic to an address
nobody meant to reach, and in Azure's case retries for over a minute before it fails.
ae-import lets a chain probe only where the machine says it is in that cloud: the
environment variables its identity services set, or the firmware's vendor string (DMI),
which is how the SDKs themselves tell. Elsewhere the chain skips the probe and fails in
a second with the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["on_azure", "on_gcp"]

_DMI = Path("/sys/class/dmi/id")
_GCP_ENV = ("GCE_METADATA_HOST", "GCE_METADATA_ROOT", "GCE_METADATA_IP")
_AZURE_ENV = ("IDENTITY_ENDPOINT", "MSI_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")
_AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"  # every Azure VM's chassis tag


def _dmi(name: str, root: Path) -> str:
    try:
        return (root / name).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def on_gcp(env: Mapping[str, str], dmi: Path = _DMI) -> bool:
    """Tell whether the metadata server may be asked: GKE/GCE env, or a Google firmware."""
    if any(env.get(name) for name in _GCP_ENV):
        return True
    return _dmi("product_name", dmi).startswith("Google")


def on_azure(env: Mapping[str, str], dmi: Path = _DMI) -> bool:
    """Tell whether managed identity may be asked: its env vars, or an Azure VM's firmware."""
    if any(env.get(name) for name in _AZURE_ENV):
        return True
    return _dmi("chassis_asset_tag", dmi) == _AZURE_ASSET_TAG
