"""``az://container/blob`` references signed with azure-storage-blob: a read-only blob SAS.

The account is ``cloud.az.account``, else ``AZURE_STORAGE_ACCOUNT`` (the Azure CLI's
name), else ``AZURE_STORAGE_ACCOUNT_NAME``, else the connection string's. The SAS is
signed, in this order, with:

1. the account key of ``AZURE_STORAGE_CONNECTION_STRING`` (its ``BlobEndpoint`` too:
   Azurite's connection string works as it is);
2. the account key in ``AZURE_STORAGE_KEY`` or ``AZURE_STORAGE_ACCOUNT_KEY``;
3. a user delegation key, fetched with azure-identity's ``DefaultAzureCredential``
   (environment service principal, workload identity, managed identity, Azure CLI
   login); it is asked for once and again only when it would end before a URL does,
   and it lives at most 7 days. This needs the Storage Blob Delegator role.

The SAS allows read only, over https only when the endpoint is https, and sets
``rsct`` (the answer's content type). The endpoint is ``cloud.az.endpoint_url``, else
the connection string's, else https://ACCOUNT.blob.core.windows.net.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ae_import.errors import CloudError

from . import CLOUD_FIXES, AzureConfig, Reference
from .residency import on_azure
from .wire import azure_settings

if TYPE_CHECKING:
    from ae_import.net import Network

__all__ = ["AzureSigner"]

_KEY_LIFE = timedelta(days=7)
_SCOPE = "https://storage.azure.com/.default"
_NO_ACCOUNT = "az: no storage account; set cloud.az.account in the config or AZURE_STORAGE_ACCOUNT"


class AzureSigner:
    """Makes blob SAS URLs with an account key or a user delegation key."""

    def __init__(
        self,
        config: AzureConfig,
        env: Mapping[str, str],
        clock: Callable[[], datetime],
        network: Network | None = None,
    ) -> None:
        """Find the account, its endpoint and its key; no network call is made here.

        With ``network``, the clients' requests take its proxy and its trust (``wire``).
        """
        self.clock = clock
        self.env = env
        self.network = network
        self.account_key: str | None = None
        self.origin = ""
        account = config.account or env.get("AZURE_STORAGE_ACCOUNT") or None
        account = account or env.get("AZURE_STORAGE_ACCOUNT_NAME") or None
        endpoint = config.endpoint_url
        connection = env.get("AZURE_STORAGE_CONNECTION_STRING", "").strip()
        if connection:
            from azure.storage.blob import BlobServiceClient

            try:
                client = BlobServiceClient.from_connection_string(connection)
            except ValueError:
                raise CloudError(
                    "AZURE_STORAGE_CONNECTION_STRING: not a storage connection string; "
                    "copy it again from the portal (Access keys)"
                ) from None
            credential: Any = client.credential
            account = account or client.account_name
            endpoint = endpoint or client.url
            self.account_key = getattr(credential, "account_key", None)
            self.origin = "AZURE_STORAGE_CONNECTION_STRING"
        if self.account_key is None:
            for name in ("AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY"):
                if env.get(name, "").strip():
                    self.account_key = env[name].strip()
                    self.origin = name
                    break
        if not account:
            raise CloudError(_NO_ACCOUNT)
        self.account: str = account
        self.endpoint = (endpoint or f"https://{account}.blob.core.windows.net").rstrip("/")
        self._delegation: Any = None

    def _delegation_key(self, until: datetime) -> Any:
        """Return a user delegation key valid past ``until``, asking Azure when needed."""
        key = self._delegation
        if key is not None and datetime.fromisoformat(key.signed_expiry) > until:
            return key
        from azure.core.exceptions import ClientAuthenticationError
        from azure.storage.blob import BlobServiceClient

        now = self.clock()
        credential = self.credential()
        try:  # first: a missing credential is known in milliseconds, before any request
            credential.get_token(_SCOPE)
            service = BlobServiceClient(
                self.endpoint,
                credential=credential,
                retry_total=2,
                connection_timeout=10,
                read_timeout=30,
                **azure_settings(self.network, self.endpoint),
            )
            key = service.get_user_delegation_key(now - timedelta(minutes=5), now + _KEY_LIFE)
        except ClientAuthenticationError:
            raise CloudError(self.no_credentials()) from None
        self._delegation = key
        return key

    def credential(self) -> Any:
        """Return Azure's credential chain, asking managed identity only inside Azure.

        Outside Azure (``residency.on_azure``) the managed-identity probe of the instance
        metadata address is skipped, and so are the desktop tools' chains that prompt or
        hang; the Azure CLI and the environment's service principal are tried, each quick.
        """
        import logging

        from azure.identity import DefaultAzureCredential

        # The chain logs a warning per credential it tried: the one line we raise says it.
        logging.getLogger("azure").setLevel(logging.CRITICAL)
        return DefaultAzureCredential(
            exclude_managed_identity_credential=not on_azure(self.env),
            exclude_powershell_credential=True,
            exclude_visual_studio_code_credential=True,
            exclude_interactive_browser_credential=True,
            process_timeout=10,
        )

    def no_credentials(self) -> str:
        """Say that no credential signs for the account, and what to do."""
        return f"az: no Azure credentials for account {self.account}; {CLOUD_FIXES['az']}"

    def sign(self, reference: Reference, expires_s: int, content_type: str) -> str:
        """Return the blob's URL with a read-only SAS that answers with ``content_type``."""
        from azure.storage.blob import generate_blob_sas

        expiry = self.clock() + timedelta(seconds=expires_s)
        signing: dict[str, Any] = {}
        if self.account_key is not None:
            signing["account_key"] = self.account_key
        else:
            signing["user_delegation_key"] = self._delegation_key(expiry)
        sas = generate_blob_sas(
            self.account,
            reference.bucket,
            reference.key,
            permission="r",
            expiry=expiry,
            content_type=content_type,
            protocol="https" if self.endpoint.startswith("https:") else "https,http",
            **signing,
        )
        return f"{self.endpoint}/{reference.bucket}/{quote(reference.key, safe='/~')}?{sas}"

    def describe(self) -> str:
        """Say which account and key sign (never the key)."""
        if self.account_key is not None:
            how = f"the account key in {self.origin}"
        else:
            from azure.core.exceptions import ClientAuthenticationError

            try:
                self.credential().get_token(_SCOPE)
            except ClientAuthenticationError:
                raise CloudError(self.no_credentials()) from None
            how = "a user delegation key (DefaultAzureCredential)"
        return f"account {self.account}, signing with {how}, endpoint {self.endpoint}"
