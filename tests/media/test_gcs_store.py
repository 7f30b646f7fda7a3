"""The gs:// store staging writes through, against gcp-storage-emulator on loopback."""

from __future__ import annotations

import hashlib
import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ae_import.errors import CloudError
from ae_import.media.cloud import (
    CloudConfig,
    GcsConfig,
    Reference,
    Signer,
    StagedObject,
    store_for,
    validity,
)
from ae_import.media.cloud.gcs_store import CHUNK_BYTES, GcsStore
from tests.helpers.gcsemulator import BUCKET, SIGNER_EMAIL, GcsEmulator, gcs_emulator, gcs_env
from tests.helpers.stores import CountingReader, check_round_trip, sized_body

__all__ = ["gcs_emulator", "gcs_env"]

pytest.importorskip("google.cloud.storage")


def test_gcs_put_head_delete_round_trip(gcs_env: GcsEmulator) -> None:
    """A put is found by head with its size, sha256 metadata and type; delete removes it."""
    check_round_trip(store_for(f"gs://{BUCKET}/x.mp3", gcs_env.config()), f"gs://{BUCKET}")


def test_gcs_signed_url_serves_the_staged_bytes_as_audio(gcs_env: GcsEmulator) -> None:
    """A V4 URL signed just in time for a staged object fetches its exact bytes, as audio/*."""
    body = b"RIFF" + bytes(range(256)) * 64
    digest = hashlib.sha256(body).hexdigest()
    ref = f"gs://{BUCKET}/calls/{digest}.wav"
    store_for(ref, gcs_env.config()).put(ref, io.BytesIO(body), len(body), "audio/wav", digest)
    url = Signer(gcs_env.config()).sign(
        Reference("gs", BUCKET, f"calls/{digest}.wav"), validity(60)
    )
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}" == gcs_env.endpoint
    assert params["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert params["X-Goog-Credential"].startswith(f"{SIGNER_EMAIL}/")
    assert params["response-content-type"] == "audio/wav"
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.content == body
    assert answer.headers["content-type"] == "audio/wav"


def test_gcs_large_body_goes_up_in_chunks_without_reading_it_whole(gcs_env: GcsEmulator) -> None:
    """A body over 8 MiB is a resumable upload: no read is larger than one chunk."""
    body = sized_body(2 * CHUNK_BYTES + 12345)
    digest = hashlib.sha256(body).hexdigest()
    ref = f"gs://{BUCKET}/big/{digest}.mp4"
    reader = CountingReader(body)
    store = store_for(ref, gcs_env.config())
    store.put(ref, reader, len(body), "video/mp4", digest)  # type: ignore[arg-type]
    assert 0 < reader.largest_read <= CHUNK_BYTES
    assert reader.reads >= 3
    assert store.head(ref) == StagedObject(len(body), digest, "video/mp4")
    url = Signer(gcs_env.config()).sign(Reference("gs", BUCKET, f"big/{digest}.mp4"), 60)
    assert hashlib.sha256(httpx.get(url).content).hexdigest() == digest


def test_gcs_body_of_unknown_size_is_staged(gcs_env: GcsEmulator) -> None:
    """A source without a length (a chunked download) is uploaded in chunks all the same."""
    body = sized_body(CHUNK_BYTES + 999)
    digest = hashlib.sha256(body).hexdigest()
    ref = f"gs://{BUCKET}/unsized/{digest}.ogg"
    store = store_for(ref, gcs_env.config())
    store.put(ref, CountingReader(body), None, "audio/ogg", digest)  # type: ignore[arg-type]
    assert store.head(ref) == StagedObject(len(body), digest, "audio/ogg")


def test_gcs_missing_bucket_is_a_cloud_error_a_retry_would_not_fix(gcs_env: GcsEmulator) -> None:
    """Writing to a bucket that does not exist: CloudError, not transient, naming the object."""
    ref = "gs://no-such-bucket-here/a/b.mp3"
    with pytest.raises(CloudError) as caught:
        store_for(ref, gcs_env.config()).put(ref, io.BytesIO(b"abc"), 3, "audio/mpeg", "0" * 64)
    assert caught.value.transient is False
    assert caught.value.message.startswith("gs://no-such-bucket-here/a/b.mp3: cannot upload: ")
    assert "\n" not in caught.value.message


def test_gcs_unreachable_store_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store nobody listens at is a transient CloudError (the stager tries again later)."""
    env = {"STORAGE_EMULATOR_HOST": "http://127.0.0.1:9"}
    store = GcsStore(GcsConfig(), env, retry_s=0)
    with pytest.raises(CloudError) as caught:
        store.head(f"gs://{BUCKET}/a/b.mp3")
    assert caught.value.transient is True


def test_gcs_store_without_credentials_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """No emulator and no credentials, outside Google Cloud: the signer's one line, at once."""
    import google.auth
    import google.auth.exceptions

    def default(**kwargs: Any) -> Any:
        raise google.auth.exceptions.DefaultCredentialsError("none")  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth, "default", default)
    monkeypatch.setattr("ae_import.media.cloud.gcs.on_gcp", lambda env: False)
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    with pytest.raises(CloudError, match=r"^gs: no Google credentials found"):
        store_for(f"gs://{BUCKET}/a.mp3", env={})


def test_gcs_store_refuses_another_scheme(gcs_env: GcsEmulator) -> None:
    """The gs store names the problem when handed a reference of another store."""
    store = GcsStore(gcs_env.config().gs, {"STORAGE_EMULATOR_HOST": gcs_env.endpoint})
    with pytest.raises(CloudError, match="not a gs:// reference"):
        store.head("az://calls/a.mp3")


def test_the_signed_url_goes_where_the_store_writes(gcs_emulator: GcsEmulator) -> None:
    """STORAGE_EMULATOR_HOST is the endpoint of both, unless cloud.gs.endpoint_url names one."""
    env = {"STORAGE_EMULATOR_HOST": gcs_emulator.endpoint.removeprefix("http://")}
    reference = Reference("gs", BUCKET, "a.mp3")
    url = Signer(gcs_emulator.config(), env=env).sign(reference, 60)
    assert url.startswith(f"{gcs_emulator.endpoint}/{BUCKET}/a.mp3?")
    named = GcsConfig(credentials_file=gcs_emulator.key_file, endpoint_url="https://gcs.test")
    url = Signer(CloudConfig(gs=named), env=env).sign(reference, 60)
    assert url.startswith(f"https://gcs.test/{BUCKET}/a.mp3?")
    store = GcsStore(named, env)
    assert store.client.api_endpoint == "https://gcs.test"
