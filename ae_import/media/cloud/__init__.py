"""Object-store references (``s3://``, ``gs://``, ``az://``), signed just in time.

A manifest's ``media_url`` may name an object instead of a URL: ``s3://bucket/key``,
``gs://bucket/object`` or ``az://container/blob``. The reference is what the ledger,
the logs and every output keep, and what the fingerprint is taken from; only the
request on the wire carries a signed GET URL, made by ``Signer.sign`` just before each
attempt, valid for ``validity(timeout)`` seconds: the attempt's timeout plus
``MARGIN_S``, capped at ``MAX_VALIDITY_S`` (7 days, the longest an S3 SigV4 or a GCS
V4 URL may live). A retry hours later gets a fresh URL.

Each URL forces the answer's content type from the key's extension (``MEDIA_TYPES``):
S3 and GCS through ``response-content-type``, Azure through ``rsct``, so an object
stored as ``application/octet-stream`` is still fetched as ``audio/*`` or ``video/*``.

Nothing here imports a cloud library at import time: ``ae-import --help`` and runs
without references never load them. The libraries come with the optional extra
(``pip install 'ae-import[cloud]'``): botocore for S3, google-cloud-storage for GCS,
azure-storage-blob and azure-identity for Azure (docs/cloud.md says why).

Pure but for ``Signer``, which reads credentials through each cloud's own chain.

Staging writes objects through a ``Store`` (``store_for(ref)``, by scheme): ``head``,
``put`` (multipart or blocks for large bodies; the content's sha256 kept as the
object's metadata ``sha256``) and ``delete``. Each scheme's store lives in its own
module (``s3_store``, ``gcs_store``, ``azure_store``), each with
``make_store(config, env, network) -> Store``, imported on first use (``network``: the
command's proxy and trust, handed to the SDK client by ``wire``). The calls block (the
SDKs are sync): the stager runs them in threads. They raise ``CloudError``, with
``transient`` True when a later attempt may succeed (a network failure, a 5xx, a
throttle) and False when it will not (no credentials, access denied, no bucket).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol

from ae_import.errors import CloudError
from ae_import.redact import redact_urls_in
from ae_import.text import safe_text

if TYPE_CHECKING:
    from ae_import.net import Network

__all__ = [
    "CLOUD_FIXES",
    "EXTRA_HINT",
    "MARGIN_S",
    "MAX_VALIDITY_S",
    "MEDIA_TYPES",
    "SCHEMES",
    "SHA256_METADATA",
    "AzureConfig",
    "CloudConfig",
    "CloudError",
    "GcsConfig",
    "Reference",
    "S3Config",
    "Signer",
    "StagedObject",
    "Store",
    "check_reference",
    "content_type_for",
    "library_missing",
    "parse_reference",
    "store_for",
    "tls_hint",
    "transient",
    "validity",
]

Scheme = Literal["s3", "gs", "az"]
SCHEMES: tuple[Scheme, ...] = ("s3", "gs", "az")
EXTRA_HINT = "pip install 'ae-import[cloud]'"
# What to do when a scheme has no credentials: doctor's fix, and the signer's last words.
CLOUD_FIXES: Mapping[str, str] = {
    "s3": "set AWS_PROFILE (aws sso login) or AWS keys, cloud.s3.region to the bucket's region",
    "gs": "set GOOGLE_APPLICATION_CREDENTIALS or cloud.gs (docs/cloud.md)",
    "az": "set cloud.az.account and AZURE_STORAGE_KEY, or az login (docs/cloud.md)",
}
# Added to the attempt's timeout: the server may queue the request before it fetches,
# and the store's clock may run a little behind ours.
MARGIN_S = 300
# S3 SigV4 and GCS V4 signed URLs live at most 7 days; Azure SAS has no such cap, but a
# user delegation key does (7 days): one cap for all.
MAX_VALIDITY_S = 7 * 24 * 3600
MAX_KEY_BYTES = 1024

# Extension -> the content type forced on the answer. audio/* or video/* only: the
# server refuses anything else. Containers that may hold audio only (webm, mp4, mkv)
# get their video type, which the server accepts as well.
MEDIA_TYPES: Mapping[str, str] = {
    "aac": "audio/aac",
    "aif": "audio/aiff",
    "aiff": "audio/aiff",
    "amr": "audio/amr",
    "flac": "audio/flac",
    "m4a": "audio/mp4",
    "mka": "audio/x-matroska",
    "mp2": "audio/mpeg",
    "mp3": "audio/mpeg",
    "mpga": "audio/mpeg",
    "oga": "audio/ogg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "wav": "audio/wav",
    "weba": "audio/webm",
    "wma": "audio/x-ms-wma",
    "3gp": "video/3gpp",
    "avi": "video/x-msvideo",
    "m4v": "video/mp4",
    "mkv": "video/x-matroska",
    "mov": "video/quicktime",
    "mp4": "video/mp4",
    "mpeg": "video/mpeg",
    "mpg": "video/mpeg",
    "ts": "video/mp2t",
    "webm": "video/webm",
    "wmv": "video/x-ms-wmv",
}
_LIBRARIES: Mapping[Scheme, tuple[str, ...]] = {
    "s3": ("botocore",),
    "gs": ("google.cloud.storage",),
    "az": ("azure.storage.blob", "azure.identity"),
}
_BUCKET = {
    # S3: 3-63 (legacy us-east-1 buckets may be longer, with capitals or underscores).
    "s3": re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]\Z"),
    "gs": re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]\Z"),
    "az": re.compile(r"(?:[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}|\$root|\$web)\Z"),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# Library errors that say a credential service (STS, SSO, the metadata server, Google's
# or Azure's token endpoints) could not be reached, rather than that credentials are wrong.
_TRANSIENT = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "TransportError",
        "ServiceRequestError",
        "ServiceResponseError",
    }
)


_NETWORK = (ConnectionError, TimeoutError, socket.gaierror)


def transient(exc: BaseException) -> bool:
    """Tell whether ``exc`` (or what it was raised from) is a network failure, not a refusal."""
    return _transient(exc)


def _causes(exc: BaseException) -> list[BaseException]:
    """Return ``exc`` and what it was raised from, outermost first (ten at most)."""
    found: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(found) < 10:
        found.append(seen)
        seen = seen.__cause__ or seen.__context__
    return found


# Said after a store's error when its certificate's issuer is not trusted.
_CA_HINT = (
    "; its TLS certificate is not trusted: pass its CA with --ca-bundle (the cloud SDKs "
    "trust certifi, the system store on Linux and Windows, --ca-bundle and the CA variables)"
)
_UNKNOWN_ISSUER = {2, 19, 20, 21}  # OpenSSL: issuer missing, self-signed in chain, ...


def tls_hint(exc: BaseException) -> str | None:
    """Return what to say of a certificate that did not verify in ``exc``'s causes, or None.

    An unknown issuer is mended by ``--ca-bundle``; a name mismatch or an expired
    certificate is not, and is named as OpenSSL names it. Text from a server's answer
    is never taken for one: only TLS errors (``ssl.SSLError``, the SDKs' wrappers of it).
    """
    for seen in _causes(exc):
        if isinstance(seen, ssl.SSLCertVerificationError):
            if seen.verify_code in _UNKNOWN_ISSUER:
                return _CA_HINT
            return f"; its TLS certificate did not verify: {safe_text(str(seen.verify_message))}"
        tls_error = isinstance(seen, ssl.SSLError) or "SSLError" in type(seen).__name__
        if tls_error and "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return (
                _CA_HINT if "unable to get" in str(seen) else "; its TLS certificate did not verify"
            )
    return None


def _transient(exc: BaseException) -> bool:
    """Tell whether ``exc`` (or what it was raised from) is a network failure, not a refusal."""
    if tls_hint(exc) is not None:
        return False  # a network error to the SDKs, but every attempt fails the same way
    return any(
        isinstance(seen, _NETWORK) or type(seen).__name__ in _TRANSIENT for seen in _causes(exc)
    )


@dataclass(frozen=True)
class S3Config:
    """The ``cloud.s3`` section: which AWS profile, region and endpoint sign ``s3://``."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    addressing_style: str | None = None  # path, virtual or auto


@dataclass(frozen=True)
class GcsConfig:
    """The ``cloud.gs`` section: credentials file, signing account and endpoint for ``gs://``."""

    credentials_file: Path | None = None
    service_account: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class AzureConfig:
    """The ``cloud.az`` section: the storage account and its endpoint for ``az://``."""

    account: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class CloudConfig:
    """The ``cloud:`` section of the config file."""

    s3: S3Config = field(default_factory=S3Config)
    gs: GcsConfig = field(default_factory=GcsConfig)
    az: AzureConfig = field(default_factory=AzureConfig)

    def schemes(self) -> tuple[Scheme, ...]:
        """Return the schemes whose section holds a setting (doctor checks those)."""
        sections = {"s3": self.s3, "gs": self.gs, "az": self.az}
        return tuple(s for s in SCHEMES if any(v is not None for v in vars(sections[s]).values()))


@dataclass(frozen=True)
class Reference:
    """An object in a store: ``scheme://bucket/key`` (for ``az``, the bucket is a container)."""

    scheme: Scheme
    bucket: str
    key: str

    def __str__(self) -> str:
        """Write the reference as it is written in a manifest."""
        return f"{self.scheme}://{self.bucket}/{self.key}"


def parse_reference(text: str) -> Reference | None:
    """Return the reference ``text`` names, or None when it is not ``s3://``, ``gs://``, ``az://``.

    A malformed reference (no bucket, no key, a bad bucket name) raises ValueError
    with a message that says what to fix.
    """
    scheme, sep, rest = text.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        return None
    bucket, slash, key = rest.partition("/")
    kind = "container" if scheme == "az" else "bucket"
    if not bucket:
        raise ValueError(f"has no {kind}; write it as {scheme}://{kind}/key")
    if not _BUCKET[scheme].match(bucket):
        raise ValueError(f"'{safe_text(bucket)[:80]}' is not a valid {scheme} {kind} name")
    if not slash or not key:
        raise ValueError(f"names no object; write it as {scheme}://{bucket}/path/to/file.mp3")
    if key.endswith("/"):
        raise ValueError("ends in '/', a folder, not an object; name the file")
    if any(segment in (".", "..") for segment in key.split("/")):
        # signed as written, then normalised by a client or proxy to another key
        raise ValueError("holds a '.' or '..' segment, which may name another object; remove it")
    if _CONTROL.search(key):
        raise ValueError("holds a tab, line break or other control character; remove it")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise ValueError(f"the object name is over {MAX_KEY_BYTES} bytes")
    return Reference(scheme, bucket, key)


def content_type_for(key: str) -> str | None:
    """Return the audio/* or video/* type of ``key``'s extension, or None if unknown."""
    name = key.rsplit("/", 1)[-1]
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return None
    return MEDIA_TYPES.get(extension.lower())


def library_missing(scheme: str) -> str | None:
    """Return the one line that says a scheme's library is not installed, or None if it is."""
    for module in _LIBRARIES.get(scheme, ()):  # type: ignore[call-overload]
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return f"{scheme}:// references need the cloud extra: {EXTRA_HINT}"
    return None


def check_reference(
    text: str, *, content_type: str | None = None
) -> tuple[Reference | None, list[tuple[str, str]]]:
    """Return the reference in ``text`` (None if it is not one) and its (code, message) problems.

    Codes: ``cloud_reference`` (malformed), ``cloud_media_type`` (an extension without a
    known audio/video type, and no ``content_type`` given), ``cloud_extra`` (the
    library for the scheme is not installed). Pure but for a look at installed modules.
    """
    try:
        reference = parse_reference(text)
    except ValueError as exc:
        return None, [("cloud_reference", str(exc))]
    if reference is None:
        return None, []
    problems: list[tuple[str, str]] = []
    if content_type is None and content_type_for(reference.key) is None:
        known = ", ".join(sorted(MEDIA_TYPES))
        problems.append(
            (
                "cloud_media_type",
                "the file extension names no audio or video type; rename the object or name "
                f"the type in the mapping (known extensions: {known})",
            )
        )
    missing = library_missing(reference.scheme)
    if missing is not None:
        problems.append(("cloud_extra", missing))
    return reference, problems


def validity(timeout_s: float) -> int:
    """Return how long a URL signed for one attempt lives: timeout + MARGIN_S, at most 7 days."""
    return min(MAX_VALIDITY_S, math.ceil(timeout_s) + MARGIN_S)


class _StoreSigner(Protocol):
    """What each store's signer offers (see s3.py, gcs.py, azure.py)."""

    def sign(self, reference: Reference, expires_s: int, content_type: str) -> str:
        """Return a presigned https GET URL for ``reference``."""
        ...

    def describe(self) -> str:
        """Say which credentials sign (never a secret); raise CloudError when there are none."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


class Signer:
    """Signs references for a run: built once from the config and the environment.

    Each store's signer (and its library, and its credentials) is made on first use.
    ``sign`` raises CloudError, whose message never holds a signature or a secret.
    Signing is local and quick (under 0.3 ms) except when credentials are fetched or
    refreshed (SSO, STS, IAM signBlob for keyless GCS credentials, an Azure user
    delegation key): those calls block, so an event loop calls it in a thread
    (``await asyncio.to_thread(signer.sign_body, body, timeout)``).
    """

    def __init__(
        self,
        config: CloudConfig | None = None,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], datetime] = _now,
        network: Network | None = None,
    ) -> None:
        """Keep the settings; nothing is imported or read until a store is first used.

        ``network`` (the command's proxy and trust) reaches the S3 and Azure clients, whose
        requests it then routes (``wire``); GCS signs with no request but a credential's.
        """
        self.config = config or CloudConfig()
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.clock = clock
        self.network = network
        self._stores: dict[str, _StoreSigner] = {}
        self._making = threading.Lock()  # sign_body runs in threads: one store's signer made once

    def _store(self, scheme: str) -> _StoreSigner:
        store = self._stores.get(scheme)
        if store is not None:
            return store
        with self._making:
            return self._stores.get(scheme) or self._make(scheme)

    def _make(self, scheme: str) -> _StoreSigner:
        store: _StoreSigner
        missing = library_missing(scheme)
        if missing is not None:
            raise CloudError(missing)
        if scheme == "s3":
            from .s3 import S3Signer

            store = S3Signer(self.config.s3, self.env, self.network)
        elif scheme == "gs":
            from .gcs import GcsSigner

            store = GcsSigner(self.config.gs, self.env)
        elif scheme == "az":
            from .azure import AzureSigner

            store = AzureSigner(self.config.az, self.env, self.clock, self.network)
        else:
            raise CloudError(f"'{safe_text(scheme)}' is not one of s3, gs, az")
        self._stores[scheme] = store
        return store

    def sign(self, reference: Reference, expires_s: int, content_type: str | None = None) -> str:
        """Return a fresh presigned GET URL for ``reference``, valid ``expires_s`` seconds.

        ``content_type`` (from the mapping) wins over the key's extension; with neither,
        CloudError.
        """
        forced = content_type or content_type_for(reference.key)
        if forced is None:
            raise CloudError(f"{reference}: the file extension names no audio or video type")
        expires = max(1, min(int(expires_s), MAX_VALIDITY_S))
        try:
            return self._store(reference.scheme).sign(reference, expires, forced)
        except CloudError:
            raise
        except Exception as exc:  # the libraries' own errors, with any URL redacted
            error = CloudError(f"{reference}: cannot sign: {_describe(exc)}")
            error.transient = _transient(exc)
            raise error from None

    def sign_body(self, body: bytes, timeout_s: float, content_type: str | None = None) -> bytes:
        """Return ``body`` (a create request, JSON) with its media reference signed.

        A body whose ``media_url`` is not a reference comes back as it is (the same
        object). The attempt's timeout sets the URL's life (``validity``).
        """
        if b"://" not in body:
            return body
        data: Any = json.loads(body)
        url = data.get("media_url") if isinstance(data, dict) else None
        reference = parse_reference(url) if isinstance(url, str) else None
        if reference is None:
            return body
        data["media_url"] = self.sign(reference, validity(timeout_s), content_type)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def describe(self, scheme: str) -> str:
        """Say which credentials would sign ``scheme``; raise CloudError if none are found."""
        try:
            return self._store(scheme).describe()
        except CloudError:
            raise
        except Exception as exc:
            raise CloudError(f"{scheme}: {_describe(exc)}") from None


def _describe(exc: BaseException) -> str:
    """Return an exception's name and text, on one line, URLs and secrets redacted."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return safe_text(redact_urls_in(f"{type(exc).__name__}: {text}"))[:300]


# The object metadata key that holds the content's sha256 (hex) on a staged object.
SHA256_METADATA = "sha256"


@dataclass(frozen=True)
class StagedObject:
    """What ``Store.head`` found: the object's size, its sha256 metadata and content type."""

    size: int
    sha256: str | None
    content_type: str | None


class Store(Protocol):
    """Writes, finds and deletes staged objects in one scheme's store (blocking calls).

    ``ref`` is a reference string such as ``s3://bucket/prefix/<sha256>.mp3``. Errors
    raise CloudError, ``transient`` True when a later attempt may succeed.
    """

    def head(self, ref: str) -> StagedObject | None:
        """Return what is stored at ``ref``, or None when there is no such object."""
        ...

    def put(
        self, ref: str, body: BinaryIO, size: int | None, content_type: str, sha256: str
    ) -> None:
        """Write ``body`` at ``ref`` (multipart/blocks when large), sha256 kept as metadata."""
        ...

    def delete(self, ref: str) -> None:
        """Delete the object at ``ref`` (no error when it is already gone)."""
        ...


_STORE_MODULES: Mapping[str, str] = {
    "s3": "s3_store",
    "gs": "gcs_store",
    "az": "azure_store",
}


def store_for(
    ref: str,
    config: CloudConfig | None = None,
    env: Mapping[str, str] | None = None,
    network: Network | None = None,
) -> Store:
    """Return the store that writes ``ref``'s scheme (s3, gs, az), made from the config.

    With ``network`` (the command's proxy and trust), the store's requests go as it says.

    Raises CloudError when ``ref`` is not a reference, when the scheme's library is
    missing, or when its store is not available in this build.
    """
    try:
        reference = parse_reference(ref)
    except ValueError as exc:
        raise CloudError(f"{safe_text(ref)[:120]}: {exc}") from None
    if reference is None:
        raise CloudError(f"'{safe_text(ref)[:120]}' is not an s3://, gs:// or az:// reference")
    missing = library_missing(reference.scheme)
    if missing is not None:
        raise CloudError(missing)
    name = _STORE_MODULES[reference.scheme]
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise CloudError(f"{reference.scheme}:// staging is not available in this build") from None
    env = os.environ if env is None else env
    store: Store = module.make_store(config or CloudConfig(), env, network)
    return store
