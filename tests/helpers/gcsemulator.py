"""A real GCS JSON and XML API on loopback: gcp-storage-emulator, in memory, started by the tests.

``gcs_emulator`` (module scope) starts the emulator's server in this process on
127.0.0.1 and an ephemeral port, with the bucket ``BUCKET``, and writes a throwaway
service-account key (its RSA key kept to verify signatures). ``gcs_env`` points
``STORAGE_EMULATOR_HOST`` at it, as a user with an emulator would, so the store writes
there without credentials and the signer signs for it; ``GcsEmulator.config`` is the
``cloud:`` section that signs with the throwaway key.

What the emulator does and does not do: it serves an object at ``/<bucket>/<object>``
for any query string, a V4 signed URL's too, with the object's stored content type;
it checks neither the signature nor the expiry, and ignores ``response-content-type``
(the signer's tests check those on the URL itself, offline, with the key).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ae_import.media.cloud import CloudConfig, GcsConfig

BUCKET = "staged-recordings"
SIGNER_EMAIL = "stager@p.iam.gserviceaccount.com"


@dataclass(frozen=True)
class GcsEmulator:
    """The running emulator: its endpoint, a key file that signs, and that key."""

    endpoint: str
    key_file: Path
    private_key: Any

    def config(self) -> CloudConfig:
        """Return the ``cloud:`` section that signs with the key (for STORAGE_EMULATOR_HOST)."""
        return CloudConfig(gs=GcsConfig(credentials_file=self.key_file))


def write_service_account_key(path: Path, email: str = SIGNER_EMAIL) -> Any:
    """Write a throwaway service-account key file for ``email``; return its RSA private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "1",
        "private_key": pem,
        "client_email": email,
        "client_id": "1",
        # Never asked: the store goes to the emulator without credentials, and signing
        # with a key is local.
        "token_uri": "http://127.0.0.1:9/token",
    }
    path.write_text(json.dumps(info), encoding="utf-8")
    return key


@pytest.fixture(scope="module")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsEmulator]:
    """Start gcp-storage-emulator on 127.0.0.1 with an empty bucket; stop it after."""
    pytest.importorskip("gcp_storage_emulator", reason="gcp-storage-emulator (dev extra) missing")
    pytest.importorskip("google.cloud.storage")
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True, default_bucket=BUCKET)
    server.start()
    try:
        host, port = server._api._httpd.server_address[:2]  # the port the OS chose
        key_file = tmp_path_factory.mktemp("gcs") / "key.json"
        key = write_service_account_key(key_file)
        yield GcsEmulator(f"http://{host}:{port}", key_file, key)
    finally:
        server.stop()


@pytest.fixture
def gcs_env(gcs_emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch) -> GcsEmulator:
    """Point STORAGE_EMULATOR_HOST at the emulator; no credentials of this machine's user."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.endpoint)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    return gcs_emulator
