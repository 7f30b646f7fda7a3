"""The ``s3://`` store that staging writes to: HEAD, multipart PUT and DELETE.

Uploads go through s3transfer (botocore's own transfer manager, what boto3's
``upload_file`` runs): multipart above 8 MiB, parts sent concurrently, at most
``PARTS_IN_MEMORY`` parts read ahead, so a 2 GB file never sits in memory. One manager serves every
upload of a run. The client is the signer's (``S3Signer``): the same credentials,
region and endpoint sign what staging wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from ae_import.errors import CloudError
from ae_import.redact import redact_urls_in
from ae_import.text import safe_text

from . import (
    SHA256_METADATA,
    CloudConfig,
    Reference,
    StagedObject,
    parse_reference,
    tls_hint,
    transient,
)
from .s3 import S3Signer

if TYPE_CHECKING:
    from ae_import.net import Network

__all__ = ["S3Store", "make_store"]

MIB = 1024 * 1024
# 8 MiB parts (s3transfer's default), 10 threads, at most 4 parts read ahead in memory
# (s3transfer's default, 10, put a 2 GiB upload at 201 MiB of RSS; 4 keeps it under 200 MB).
PART_BYTES = 8 * MIB
THREADS = 10
PARTS_IN_MEMORY = 4
# Answers that a later attempt may not get: throttling, a server's own failure.
_RETRYABLE_CODES = frozenset(
    {
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
    }
)


def make_store(
    config: CloudConfig, env: Mapping[str, str], network: Network | None = None
) -> S3Store:
    """Return the s3 store made from ``cloud.s3``, the environment and the command's network."""
    return S3Store(S3Signer(config.s3, env, network))


def _reference(ref: str) -> Reference:
    """Return the s3 reference ``ref`` names; CloudError when it is not one."""
    try:
        reference = parse_reference(ref)
    except ValueError as exc:
        raise CloudError(f"{safe_text(ref)[:120]}: {exc}") from None
    if reference is None or reference.scheme != "s3":
        raise CloudError(f"'{safe_text(ref)[:120]}' is not an s3:// reference")
    return reference


def _error(reference: Reference, action: str, exc: BaseException) -> CloudError:
    """Return the CloudError for a failed call: one line, no URL or secret, retryable or not."""
    response: Any = getattr(exc, "response", None)
    code = ""
    status = 0
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    text = " ".join(str(exc).split()) or type(exc).__name__
    line = f"{reference}: cannot {action}: {type(exc).__name__}: {text}"
    hint = tls_hint(exc) or ""
    error = CloudError(safe_text(redact_urls_in(line))[: 300 - len(hint)] + hint)
    error.transient = transient(exc) or code in _RETRYABLE_CODES or status >= 500 or status == 429
    return error


class S3Store:
    """Stages objects in S3 (or any S3-compatible store) with one client and transfer manager."""

    def __init__(self, signer: S3Signer) -> None:
        """Keep the signer's client; the transfer manager is made on the first upload."""
        import botocore.exceptions

        self.client: Any = signer.client
        self._no_credentials = botocore.exceptions.NoCredentialsError
        self._manager: Any = None

    def _transfers(self) -> Any:
        if self._manager is None:
            from s3transfer.manager import TransferConfig, TransferManager

            config = TransferConfig(
                multipart_threshold=PART_BYTES,
                multipart_chunksize=PART_BYTES,
                max_request_concurrency=THREADS,
                max_in_memory_upload_chunks=PARTS_IN_MEMORY,
            )
            self._manager = TransferManager(self.client, config)
        return self._manager

    def head(self, ref: str) -> StagedObject | None:
        """Return the object's size, sha256 metadata and content type; None when absent."""
        reference = _reference(ref)
        try:
            answer = self.client.head_object(Bucket=reference.bucket, Key=reference.key)
        except self._no_credentials:
            raise CloudError(f"{reference}: no AWS credentials found") from None
        except Exception as exc:
            response: Any = getattr(exc, "response", None)
            if isinstance(response, dict) and str(response.get("Error", {}).get("Code")) in (
                "404",
                "NoSuchKey",
                "NotFound",
            ):
                return None
            raise _error(reference, "look up the object", exc) from None
        metadata = answer.get("Metadata") or {}
        return StagedObject(
            size=int(answer.get("ContentLength", 0)),
            sha256=metadata.get(SHA256_METADATA),
            content_type=answer.get("ContentType"),
        )

    def put(
        self, ref: str, body: BinaryIO, size: int | None, content_type: str, sha256: str
    ) -> None:
        """Upload ``body`` (multipart above 8 MiB) with its content type and sha256 metadata."""
        reference = _reference(ref)
        extra = {"ContentType": content_type, "Metadata": {SHA256_METADATA: sha256}}
        try:
            future = self._transfers().upload(body, reference.bucket, reference.key, extra)
            future.result()
        except self._no_credentials:
            raise CloudError(f"{reference}: no AWS credentials found") from None
        except Exception as exc:
            raise _error(reference, "upload", exc) from None

    def delete(self, ref: str) -> None:
        """Delete the object (S3 answers 204 whether or not it was there)."""
        reference = _reference(ref)
        try:
            self.client.delete_object(Bucket=reference.bucket, Key=reference.key)
        except self._no_credentials:
            raise CloudError(f"{reference}: no AWS credentials found") from None
        except Exception as exc:
            raise _error(reference, "delete", exc) from None
