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

from ae_import.errors import CloudError
from ae_import.net import Network

__all__ = ["azure_settings", "botocore_settings", "route_session"]


def _proxies(network: Network, endpoint: str) -> dict[str, str]:
    """Return the SDKs' proxies mapping for ``endpoint``: empty for a direct connection."""
    proxy = network.sdk_proxy(endpoint)
    return {} if proxy is None else {"http": proxy, "https": proxy}


def _verify(network: Network, *more: str) -> str | None:
    """Return the CA file for the SDKs; None (their own trust) only when nothing was added.

    A file that cannot be written (no writable temporary folder) with ``--ca-bundle`` or a
    CA variable given would drop what the user asked to trust: that stops here instead.
    """
    made = network.trust.bundle_file(*more)
    if made is None and (network.trust.extra or more):
        raise CloudError(
            "cannot write the CA file the cloud SDKs read (with --ca-bundle or a CA variable "
            "set): no writable temporary folder; set TMPDIR to one"
        )
    return made


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
    verify = _verify(network, *([aws_ca] if aws_ca else []))
    return {"proxies": _proxies(network, endpoint)}, verify


def route_session(network: Network | None, session: Any) -> Any:
    """Make a requests session (google-auth's) go as ``network`` says; return it.

    The proxy is decided for each request's URL: a token session reaches the metadata
    server, the STS of workload identity or oauth2.googleapis.com, which NO_PROXY may tell
    apart.
    """
    if network is None:
        return session
    session.trust_env = False  # the variables were read once, into the network
    session.verify = _verify(network) or True
    send = session.request

    def request(method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("proxies", _proxies(network, str(url)))
        return send(method, url, *args, **kwargs)

    session.request = request
    return session


def azure_settings(network: Network | None, endpoint: str) -> dict[str, Any]:
    """Return the keywords that make an azure-storage client go as ``network`` says."""
    if network is None:
        return {}
    settings: dict[str, Any] = {
        "proxies": _proxies(network, endpoint),
        "use_env_settings": False,  # the variables were read once, into the network
    }
    verify = _verify(network)
    if verify is not None:
        settings["connection_verify"] = verify
    return settings
