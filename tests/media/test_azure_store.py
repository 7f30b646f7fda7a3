"""The az:// store staging writes through, against Azurite (npm) on loopback."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ae_import.errors import CloudError
from ae_import.media.cloud import (
    AzureConfig,
    Reference,
    Signer,
    StagedObject,
    store_for,
    validity,
)
from ae_import.media.cloud.azure import AzureSigner
from ae_import.media.cloud.azure_store import BLOCK_BYTES, BLOCK_THREADS, AzureStore
from tests.helpers.azurite import (
    ACCOUNT_KEY,
    CONTAINER,
    Azurite,
    azurite,
    azurite_env,
    no_azure_login,
)
from tests.helpers.stores import CountingReader, check_round_trip, sized_body

__all__ = ["azurite", "azurite_env"]

pytest.importorskip("azure.storage.blob")


def test_azure_put_head_delete_round_trip(azurite_env: Azurite) -> None:
    """A put is found by head with its size, sha256 metadata and type; delete removes it."""
    check_round_trip(store_for(f"az://{CONTAINER}/x.mp3"), f"az://{CONTAINER}")


def test_azure_sas_url_serves_the_staged_bytes_as_audio(azurite_env: Azurite) -> None:
    """A read-only SAS signed just in time fetches the exact bytes as audio/*; a forged one not."""
    body = b"ID3" + bytes(range(256)) * 64
    digest = hashlib.sha256(body).hexdigest()
    key = f"calls/{digest}.mp3"
    ref = f"az://{CONTAINER}/{key}"
    # Stored as octet-stream: the type the fetch sees comes from the SAS (rsct).
    store_for(ref).put(ref, io.BytesIO(body), len(body), "application/octet-stream", digest)
    url = Signer().sign(Reference("az", CONTAINER, key), validity(60))
    assert url.startswith(f"{azurite_env.endpoint}/{CONTAINER}/{key}?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params["sp"] == "r" and params["rsct"] == "audio/mpeg"
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.content == body
    assert answer.headers["content-type"] == "audio/mpeg"
    forged = {**params, "sig": base64.b64encode(bytes(32)).decode()}
    assert forged["sig"] != params["sig"]
    assert httpx.get(url.split("?")[0], params=forged).status_code == 403  # the signature counts


def test_azure_large_body_goes_up_in_blocks_without_reading_it_whole(azurite_env: Azurite) -> None:
    """A body over 8 MiB is staged as blocks: no read is larger than one block."""
    body = sized_body(2 * BLOCK_BYTES + 4321)
    digest = hashlib.sha256(body).hexdigest()
    key = f"big/{digest}.mp4"
    ref = f"az://{CONTAINER}/{key}"
    reader = CountingReader(body)
    store = store_for(ref)
    store.put(ref, reader, len(body), "video/mp4", digest)  # type: ignore[arg-type]
    assert 0 < reader.largest_read <= BLOCK_BYTES
    assert store.head(ref) == StagedObject(len(body), digest, "video/mp4")
    from azure.storage.blob import BlobClient

    blob = BlobClient.from_connection_string(azurite_env.connection_string, CONTAINER, key)
    committed, _ = blob.get_block_list("committed")
    assert len(committed) == 3
    url = Signer().sign(Reference("az", CONTAINER, key), 60)
    assert hashlib.sha256(httpx.get(url).content).hexdigest() == digest


def test_azure_body_of_unknown_size_is_staged(azurite_env: Azurite) -> None:
    """A source without a length is uploaded in blocks all the same."""
    body = sized_body(BLOCK_BYTES + 777)
    digest = hashlib.sha256(body).hexdigest()
    ref = f"az://{CONTAINER}/unsized/{digest}.ogg"
    store = store_for(ref)
    reader = CountingReader(body)
    store.put(ref, reader, None, "audio/ogg", digest)  # type: ignore[arg-type]
    assert reader.largest_read <= BLOCK_BYTES * BLOCK_THREADS
    assert store.head(ref) == StagedObject(len(body), digest, "audio/ogg")


def test_azure_missing_container_is_a_cloud_error_a_retry_would_not_fix(
    azurite_env: Azurite,
) -> None:
    """Writing to a container that does not exist: CloudError, not transient, one line."""
    ref = "az://no-such-container/a/b.mp3"
    with pytest.raises(CloudError) as caught:
        store_for(ref).put(ref, io.BytesIO(b"abc"), 3, "audio/mpeg", "0" * 64)
    assert caught.value.transient is False
    assert caught.value.message.startswith("az://no-such-container/a/b.mp3: cannot upload: ")
    assert caught.value.message.endswith("The specified container does not exist.")
    assert "\n" not in caught.value.message
    assert ACCOUNT_KEY not in caught.value.message


def test_azure_unreachable_store_is_retryable() -> None:
    """A store nobody listens at is a transient CloudError (the stager tries again later)."""
    env = {"AZURE_STORAGE_ACCOUNT": "devstoreaccount1", "AZURE_STORAGE_KEY": ACCOUNT_KEY}
    config = AzureConfig(endpoint_url="http://127.0.0.1:9/devstoreaccount1")
    store = AzureStore(AzureSigner(config, env, lambda: None), retries=0)  # type: ignore[arg-type,return-value]
    with pytest.raises(CloudError) as caught:
        store.head(f"az://{CONTAINER}/a/b.mp3")
    assert caught.value.transient is True


def test_azure_store_without_credentials_says_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """An account but no key or login, outside Azure: the signer's one line, no request sent."""
    made = no_azure_login(monkeypatch)
    ref = f"az://{CONTAINER}/a.mp3"
    config = AzureConfig(account="acct", endpoint_url="https://127.0.0.1:9/acct")
    store = AzureStore(AzureSigner(config, {}, lambda: None), retries=0)  # type: ignore[arg-type,return-value]
    with pytest.raises(CloudError) as caught:
        store.head(ref)
    assert caught.value.message == (
        "az: no Azure credentials for account acct; set cloud.az.account and "
        "AZURE_STORAGE_KEY, or az login (docs/cloud.md)"
    )
    assert made and all(m["exclude_managed_identity_credential"] for m in made)


def test_azure_token_credential_over_http_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A login (no key) with an http endpoint: the library refuses; one CloudError says where."""
    monkeypatch.setattr("ae_import.media.cloud.azure.on_azure", lambda env: False)
    config = AzureConfig(account="acct", endpoint_url="http://127.0.0.1:9/acct")
    with pytest.raises(CloudError, match=r"^az: endpoint http://127\.0\.0\.1:9/acct: Token"):
        AzureStore(AzureSigner(config, {}, lambda: None))  # type: ignore[arg-type,return-value]


def test_without_node_or_azurite_the_tests_say_which(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The skip reason names what is missing and what to run."""
    import tests.helpers.azurite as helper

    monkeypatch.setattr("shutil.which", lambda name: None)
    assert helper.azurite_missing() == (
        "node is not on PATH; the az:// store tests need it to run Azurite"
    )
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(helper, "AZURITE_BLOB", tmp_path / "main.js")
    assert helper.azurite_missing() == (
        "Azurite is not installed; run: npm ci --prefix tests/node (scripts/check.py does)"
    )
