"""How the cloud SDKs' own connections follow the command's network: its proxy and its trust.

botocore, google-cloud-storage (requests) and azure-core (requests) open their own
connections and take a proxy URL and a CA file, not a transport or an SSL context. Given
the command's ``net.Network``, each store's client gets the proxy that network picks for
the service's endpoint (``--proxy``, the proxy variables, ``NO_PROXY``; none at all with
``--no-proxy``) and a PEM file of what its TLS context trusts (``Trust.bundle_file``:
certifi, the system bundle on Linux, ``--ca-bundle`` and the CA variables). Without a
network (the Python API's stores, tests), the SDKs keep reading their own settings.

The proxy URL carries the proxy's credentials: it is handed to the SDK and never shown.
"""

from __future__ import annotations

from typing import Any

from ae_import.net import Network

__all__ = ["azure_settings", "botocore_settings", "route_session"]


def _proxies(network: Network, endpoint: str) -> dict[str, str]:
    """Return the SDKs' proxies mapping for ``endpoint``: empty for a direct connection."""
    proxy = network.sdk_proxy(endpoint)
    return {} if proxy is None else {"http": proxy, "https": proxy}


def botocore_settings(
    network: Network | None, endpoint: str, aws_ca: str | None = None
) -> tuple[dict[str, Any], str | None]:
    """Return (``botocore.config.Config`` keywords, ``verify``) for a client of ``endpoint``.

    An empty ``proxies`` is botocore's "direct" (None would make it read the variables).
    ``aws_ca``, the CA file botocore would read itself (``AWS_CA_BUNDLE``, ``ca_bundle`` in
    the AWS config), is added to the trust, as every CA source is. A verify of None leaves
    botocore its own (no file could be written).
    """
    if network is None:
        return {}, None
    verify = network.trust.bundle_file(*([aws_ca] if aws_ca else []))
    return {"proxies": _proxies(network, endpoint)}, verify


def route_session(network: Network | None, endpoint: str, session: Any) -> Any:
    """Make a requests session (google-auth's) go as ``network`` says; return it."""
    if network is not None:
        session.trust_env = False  # the variables were read once, into the network
        session.proxies = _proxies(network, endpoint)
        session.verify = network.trust.bundle_file() or True
    return session


def azure_settings(network: Network | None, endpoint: str) -> dict[str, Any]:
    """Return the keywords that make an azure-storage client go as ``network`` says."""
    if network is None:
        return {}
    settings: dict[str, Any] = {
        "proxies": _proxies(network, endpoint),
        "use_env_settings": False,  # the variables were read once, into the network
    }
    verify = network.trust.bundle_file()
    if verify is not None:
        settings["connection_verify"] = verify
    return settings
