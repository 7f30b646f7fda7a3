"""``gs://`` references signed with google-cloud-storage: V4 signed URLs.

Credentials: ``cloud.gs.credentials_file`` (a service-account key file), else Google's
Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``, the gcloud ADC
file, workload identity, the metadata server). A service-account key signs locally;
credentials without a key (a user login, workload or instance identity) sign through
the IAM signBlob API as ``cloud.gs.service_account`` (or the credentials' own
account), which needs the Service Account Token Creator role on it, and costs one
call to Google per URL. The endpoint is ``cloud.gs.endpoint_url``, else
``STORAGE_EMULATOR_HOST`` (an emulator, which Google's own clients sign for too), else
https://storage.googleapis.com. The URL's ``response-content-type`` is signed with it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from ae_import.errors import CloudError

from . import GcsConfig, Reference
from .residency import on_gcp

__all__ = ["GcsSigner", "emulator_host", "find_credentials"]

_SCOPES = ("https://www.googleapis.com/auth/devstorage.read_only",)
_NO_CREDENTIALS = (
    "gs: no Google credentials found; set GOOGLE_APPLICATION_CREDENTIALS or "
    "cloud.gs.credentials_file to a service-account key, or run: "
    "gcloud auth application-default login"
)


@contextlib.contextmanager
def _metadata_probe(*, allowed: bool) -> Iterator[None]:
    """Let google-auth ask the metadata server only inside Google Cloud (NO_GCE_CHECK)."""
    if allowed or os.environ.get("NO_GCE_CHECK"):
        yield
        return
    os.environ["NO_GCE_CHECK"] = "True"
    try:
        yield
    finally:
        os.environ.pop("NO_GCE_CHECK", None)


def emulator_host(env: Mapping[str, str]) -> str | None:
    """Return the URL of ``STORAGE_EMULATOR_HOST`` (an emulator, as Google's clients read it)."""
    host = env.get("STORAGE_EMULATOR_HOST", "").strip()
    if not host:
        return None
    return host if "://" in host else f"http://{host}"


def find_credentials(
    config: GcsConfig, env: Mapping[str, str], scopes: tuple[str, ...]
) -> tuple[Any, str]:
    """Return Google credentials for ``scopes`` and where they came from; CloudError if none.

    ``cloud.gs.credentials_file`` (a service-account key), else Application Default
    Credentials, which may ask the metadata server only inside Google Cloud.
    """
    import google.auth
    import google.auth.exceptions
    from google.oauth2.service_account import Credentials

    if config.credentials_file is not None:
        try:
            found: Any = Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                str(config.credentials_file), scopes=scopes
            )
        except (OSError, ValueError, google.auth.exceptions.GoogleAuthError) as exc:
            raise CloudError(
                f"cloud.gs.credentials_file: cannot read a service-account key from "
                f"{config.credentials_file}: {type(exc).__name__}"
            ) from None
        return found, "cloud.gs.credentials_file"
    try:
        with _metadata_probe(allowed=on_gcp(env)):
            found, _ = google.auth.default(scopes=scopes)
    except google.auth.exceptions.DefaultCredentialsError:
        raise CloudError(_NO_CREDENTIALS) from None
    origin = (
        "GOOGLE_APPLICATION_CREDENTIALS"
        if env.get("GOOGLE_APPLICATION_CREDENTIALS")
        else "application default credentials"
    )
    return found, origin


class GcsSigner:
    """Signs GCS V4 GET URLs with one storage client, made once (no network call)."""

    def __init__(self, config: GcsConfig, env: Mapping[str, str]) -> None:
        """Find the credentials (locally, or at the metadata server) and make the client."""
        from google.cloud import storage

        self.config = config
        self.credentials, self.origin = find_credentials(config, env, _SCOPES)
        self.client: Any = storage.Client(project="-", credentials=self.credentials)
        self.endpoint = (
            config.endpoint_url or emulator_host(env) or "https://storage.googleapis.com"
        ).rstrip("/")
        self.local = hasattr(self.credentials, "sign_bytes") and hasattr(
            self.credentials, "signer_email"
        )

    def _account(self) -> str:
        account = self.config.service_account or getattr(
            self.credentials, "service_account_email", None
        )
        if not isinstance(account, str) or "@" not in account:
            raise CloudError(
                "gs: these credentials hold no key to sign with; set cloud.gs.service_account "
                "to a service account they may sign as (roles/iam.serviceAccountTokenCreator), "
                "or use a service-account key file"
            )
        return account

    def sign(self, reference: Reference, expires_s: int, content_type: str) -> str:
        """Return a V4 signed GET URL that answers with ``content_type``."""
        extra: dict[str, Any] = {}
        if not self.local or self.config.service_account:
            import google.auth.transport.requests

            extra["service_account_email"] = self._account()
            if not self.credentials.valid:
                self.credentials.refresh(google.auth.transport.requests.Request())
            extra["access_token"] = self.credentials.token
        blob = self.client.bucket(reference.bucket).blob(reference.key)
        url: str = blob.generate_signed_url(
            version="v4",
            expiration=timedelta(seconds=expires_s),
            method="GET",
            response_type=content_type,
            api_access_endpoint=self.endpoint,
            **extra,
        )
        return url

    def describe(self) -> str:
        """Say which credentials sign, and how."""
        if self.local and not self.config.service_account:
            how = f"a service-account key ({self.credentials.signer_email})"
        else:
            how = f"IAM signBlob as {self._account()}"
        return f"credentials from {self.origin}, signing with {how}, endpoint {self.endpoint}"
