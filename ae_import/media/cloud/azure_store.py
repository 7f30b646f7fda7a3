"""The ``az://`` store that staging writes to: HEAD, upload in blocks, DELETE.

azure-storage-blob does the work: a body of up to 8 MiB goes up in one Put Blob; a
larger one, or one of unknown size, as 8 MiB blocks (``BLOCK_THREADS`` of them in
flight, so at most that many blocks are in memory) committed by one Put Block List.
The content type is set on the blob and the content's sha256 kept as its metadata
``sha256``, which ``head`` reads back.

The account, endpoint and key are the signer's (``AzureSigner``: the connection
string, ``AZURE_STORAGE_KEY``, or azure-identity's chain), so what staging wrote is
what the SAS is signed for. Azurite's connection string works as it is.

Each call is retried by the library (``RETRIES`` times, with backoff); what still
fails is a CloudError, ``transient`` for the network, 408, 429 and 5xx.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from ae_import.errors import CloudError

from . import SHA256_METADATA, CloudConfig, Reference, StagedObject
from .azure import AzureSigner
from .stores import reference_of, store_error
from .wire import azure_settings

if TYPE_CHECKING:
    from ae_import.net import Network

__all__ = ["BLOCK_BYTES", "BLOCK_THREADS", "RETRIES", "AzureStore", "make_store"]

MIB = 1024 * 1024
BLOCK_BYTES = 8 * MIB
BLOCK_THREADS = 4
RETRIES = 3


def _now() -> datetime:
    return datetime.now(UTC)


def make_store(
    config: CloudConfig, env: Mapping[str, str], network: Network | None = None
) -> AzureStore:
    """Return the az store made from ``cloud.az``, the environment and the command's network."""
    return AzureStore(AzureSigner(config.az, env, _now, network))


def _status(exc: BaseException) -> int:
    """Return the HTTP status an azure-core error carries, else 0."""
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else 0


class AzureStore:
    """Stages blobs in Azure Blob Storage with one service client, made once."""

    def __init__(self, signer: AzureSigner, retries: int = RETRIES) -> None:
        """Make the client from the signer's account, endpoint and key; no network call."""
        from azure.storage.blob import BlobServiceClient

        self.signer = signer
        credential: Any
        if signer.account_key is not None:
            credential = {"account_name": signer.account, "account_key": signer.account_key}
        else:
            credential = signer.credential()
        try:
            self.service: Any = BlobServiceClient(
                signer.endpoint,
                credential=credential,
                max_block_size=BLOCK_BYTES,
                max_single_put_size=BLOCK_BYTES,
                retry_total=retries,
                connection_timeout=10,
                read_timeout=120,
                **azure_settings(signer.network, signer.endpoint),
            )
        except ValueError as exc:  # an http endpoint with a token credential, a bad URL
            raise CloudError(f"az: endpoint {signer.endpoint}: {exc}") from None

    def _blob(self, reference: Reference) -> Any:
        return self.service.get_blob_client(reference.bucket, reference.key)

    def _error(self, reference: Reference, action: str, exc: BaseException) -> CloudError:
        """Return the CloudError for a failed call; a credential that failed says the fix."""
        from azure.core.exceptions import ClientAuthenticationError

        if isinstance(exc, ClientAuthenticationError) and _status(exc) == 0:
            return CloudError(self.signer.no_credentials())
        return store_error(reference, action, exc, status=_status(exc))

    def head(self, ref: str) -> StagedObject | None:
        """Return the blob's size, sha256 metadata and content type; None when absent."""
        from azure.core.exceptions import ResourceNotFoundError

        reference = reference_of(ref, "az")
        try:
            properties = self._blob(reference).get_blob_properties()
        except ResourceNotFoundError:
            return None
        except Exception as exc:
            raise self._error(reference, "look up the blob", exc) from None
        metadata = properties.metadata or {}
        return StagedObject(
            size=int(properties.size or 0),
            sha256=metadata.get(SHA256_METADATA),
            content_type=properties.content_settings.content_type,
        )

    def put(
        self, ref: str, body: BinaryIO, size: int | None, content_type: str, sha256: str
    ) -> None:
        """Upload ``body`` (8 MiB blocks above 8 MiB) with its content type and sha256."""
        from azure.storage.blob import ContentSettings

        reference = reference_of(ref, "az")
        try:
            self._blob(reference).upload_blob(
                body,
                length=size,
                overwrite=True,
                metadata={SHA256_METADATA: sha256},
                content_settings=ContentSettings(content_type=content_type),
                max_concurrency=BLOCK_THREADS,
            )
        except Exception as exc:
            raise self._error(reference, "upload", exc) from None

    def delete(self, ref: str) -> None:
        """Delete the blob (no error when it is already gone)."""
        from azure.core.exceptions import ResourceNotFoundError

        reference = reference_of(ref, "az")
        try:
            self._blob(reference).delete_blob()
        except ResourceNotFoundError:
            return
        except Exception as exc:
            raise self._error(reference, "delete", exc) from None
