"""A real Azure Blob API on loopback: Azurite (npm), started by the tests, in memory.

Azurite is installed into ``tests/node`` from its ``package.json`` and lock file
(``npm ci --prefix tests/node``, which ``scripts/check.py`` runs where npm exists).
``azurite`` (module scope) starts its blob service with this machine's ``node`` on
127.0.0.1 and an ephemeral port, in memory, telemetry off, and makes the container
``CONTAINER``; without node, or without Azurite installed, the tests skip and say
which. ``azurite_env`` sets ``AZURE_STORAGE_CONNECTION_STRING`` to it (the well-known
development account), as a user with Azurite would. Azurite checks SAS signatures,
permissions and expiry, and honours ``rsct``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
AZURITE_BLOB = NODE_DIR / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
CONTAINER = "staged-recordings"
ACCOUNT = "devstoreaccount1"
# Azurite's development account key: published by Microsoft, not a secret.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
START_S = 60.0
_LISTENING = re.compile(r"Blob service successfully listens on (http://127\.0\.0\.1:\d+)")


@dataclass(frozen=True)
class Azurite:
    """The running Azurite: its blob endpoint (with the account) and connection string."""

    endpoint: str
    connection_string: str


def azurite_missing() -> str | None:
    """Return why Azurite cannot run here (no node, not installed), or None when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH; the az:// store tests need it to run Azurite"
    if not AZURITE_BLOB.is_file():
        return "Azurite is not installed; run: npm ci --prefix tests/node (scripts/check.py does)"
    return None


def _wait_for_endpoint(process: subprocess.Popen[bytes], log: Path) -> str:
    """Return the address Azurite says it listens on; fail with its log if it does not."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        found = _LISTENING.search(text)
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"Azurite did not start: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Start Azurite's blob service on 127.0.0.1 with an empty container; stop it after."""
    pytest.importorskip("azure.storage.blob")
    missing = azurite_missing()
    if missing is not None:
        pytest.skip(missing)
    from azure.storage.blob import BlobServiceClient

    workdir = tmp_path_factory.mktemp("azurite")
    log = workdir / "azurite.log"
    command = [
        "node",
        str(AZURITE_BLOB),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--inMemoryPersistence",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--silent",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    try:
        endpoint = f"{_wait_for_endpoint(process, log)}/{ACCOUNT}"
        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};"
            f"AccountKey={ACCOUNT_KEY};BlobEndpoint={endpoint};"
        )
        BlobServiceClient.from_connection_string(connection).create_container(CONTAINER)
        yield Azurite(endpoint, connection)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def azurite_env(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Azurite:
    """Set AZURE_STORAGE_CONNECTION_STRING to Azurite; nothing else of this machine's Azure."""
    for name in (
        "AZURE_STORAGE_ACCOUNT",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_ACCOUNT_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    return azurite


def no_azure_login(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Run as outside Azure with no service principal; return the chains' arguments as made."""
    import azure.identity

    made: list[dict[str, Any]] = []
    real = azure.identity.DefaultAzureCredential

    def recording(**kwargs: Any) -> Any:
        made.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", recording)
    monkeypatch.setattr("ae_import.media.cloud.azure.on_azure", lambda env: False)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return made
