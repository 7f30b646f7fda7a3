"""The ``gs://`` store that staging writes to: HEAD, resumable upload in chunks, DELETE.

google-cloud-storage does the work: a body of up to 8 MiB goes up in one multipart
request; a larger one, or one of unknown size, as a resumable upload in 8 MiB chunks,
so at most one chunk is in memory (the library's default chunk is 100 MiB). The
content type is set on the object and the content's sha256 kept as its metadata
``sha256``, which ``head`` reads back.

Credentials are the signer's (``gcs.find_credentials``: the key file of
``cloud.gs.credentials_file``, else Application Default Credentials), with the
read-write scope; the endpoint is the signer's (``cloud.gs.endpoint_url``, else
``STORAGE_EMULATOR_HOST``, else Google's). With ``STORAGE_EMULATOR_HOST`` set (an
emulator: gcp-storage-emulator, fake-gcs-server) the store writes without credentials,
as Google's own clients do.

Each call is retried by the library for at most ``RETRY_S`` seconds (uploads too: the
key is the content's hash, so writing it twice writes the same thing); what still
fails is a CloudError, ``transient`` for the network, 408, 429 and 5xx.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from . import SHA256_METADATA, CloudConfig, GcsConfig, Reference, StagedObject
from .gcs import emulator_host, find_credentials
from .stores import reference_of, store_error
from .wire import route_session

if TYPE_CHECKING:
    from ae_import.net import Network

__all__ = ["CHUNK_BYTES", "RETRY_S", "GcsStore", "make_store"]

MIB = 1024 * 1024
# A multiple of 256 KiB, as resumable uploads require; also the library's multipart limit.
CHUNK_BYTES = 8 * MIB
RETRY_S = 60.0
TIMEOUT_S = (10.0, 120.0)  # connect, read
_SCOPES = ("https://www.googleapis.com/auth/devstorage.read_write",)


def make_store(
    config: CloudConfig, env: Mapping[str, str], network: Network | None = None
) -> GcsStore:
    """Return the gs store made from ``cloud.gs``, the environment and the command's network."""
    return GcsStore(config.gs, env, network=network)


def _status(exc: BaseException) -> int:
    """Return the HTTP status a google-api-core or resumable-media error carries, else 0."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else 0


class GcsStore:
    """Stages objects in Google Cloud Storage with one storage client, made once."""

    def __init__(
        self,
        config: GcsConfig,
        env: Mapping[str, str],
        retry_s: float = RETRY_S,
        network: Network | None = None,
    ) -> None:
        """Find the credentials and make the client; no network call is made here.

        With ``network``, the client's requests take its proxy and its trust (``wire``).
        """
        import requests
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.auth.transport.requests import AuthorizedSession, Request
        from google.cloud import storage
        from google.cloud.storage.retry import DEFAULT_RETRY

        emulator = emulator_host(env)
        endpoint = config.endpoint_url or emulator
        credentials: Any
        if emulator:
            credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        else:
            credentials, _ = find_credentials(config, env, _SCOPES)
        options = ClientOptions(api_endpoint=endpoint.rstrip("/")) if endpoint else None
        http = None
        if network is not None:
            # Token refreshes go as the network says too, as google-cloud-core's own session
            # would (its refresh_timeout kept).
            tokens = route_session(network, requests.Session())
            session = AuthorizedSession(  # type: ignore[no-untyped-call]
                credentials, refresh_timeout=300, auth_request=Request(session=tokens)
            )
            http = route_session(network, session)
        self.client: Any = storage.Client(
            project="-", credentials=credentials, client_options=options, _http=http
        )
        # with_timeout in recent google-api-core; with_deadline, its older name, before it.
        bounded = getattr(DEFAULT_RETRY, "with_timeout", None) or DEFAULT_RETRY.with_deadline
        self.retry: Any = bounded(retry_s) if retry_s > 0 else None

    def _blob(self, reference: Reference, size: int | None = None) -> Any:
        """Return the library's blob; chunked (resumable) when the body is large or unsized."""
        chunked = size is None or size > CHUNK_BYTES
        bucket = self.client.bucket(reference.bucket)
        return bucket.blob(reference.key, chunk_size=CHUNK_BYTES if chunked else None)

    def head(self, ref: str) -> StagedObject | None:
        """Return the object's size, sha256 metadata and content type; None when absent."""
        reference = reference_of(ref, "gs")
        try:
            bucket = self.client.bucket(reference.bucket)
            blob = bucket.get_blob(reference.key, retry=self.retry, timeout=TIMEOUT_S)
        except Exception as exc:
            raise store_error(reference, "look up the object", exc, status=_status(exc)) from None
        if blob is None:
            return None
        metadata = blob.metadata or {}
        return StagedObject(
            size=int(blob.size or 0),
            sha256=metadata.get(SHA256_METADATA),
            content_type=blob.content_type,
        )

    def put(
        self, ref: str, body: BinaryIO, size: int | None, content_type: str, sha256: str
    ) -> None:
        """Upload ``body`` (resumable, 8 MiB chunks, above 8 MiB) with its type and sha256."""
        reference = reference_of(ref, "gs")
        blob = self._blob(reference, size)
        blob.metadata = {SHA256_METADATA: sha256}
        try:
            blob.upload_from_file(
                body,
                size=size,
                content_type=content_type,
                retry=self.retry,
                timeout=TIMEOUT_S,
            )
        except Exception as exc:
            raise store_error(reference, "upload", exc, status=_status(exc)) from None

    def delete(self, ref: str) -> None:
        """Delete the object (no error when it is already gone)."""
        reference = reference_of(ref, "gs")
        try:
            self._blob(reference).delete(retry=self.retry, timeout=TIMEOUT_S)
        except Exception as exc:
            if _status(exc) == 404:
                return
            raise store_error(reference, "delete", exc, status=_status(exc)) from None
