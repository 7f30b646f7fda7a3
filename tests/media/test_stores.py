"""The stores staging writes through (``Store``): the S3 one against moto's server on loopback."""

from __future__ import annotations

import hashlib
import io

import pytest

from ae_import.errors import CloudError
from ae_import.media.cloud import StagedObject, store_for
from tests.helpers.s3server import BUCKET, S3Server, s3, s3_env

__all__ = ["s3", "s3_env"]

pytest.importorskip("botocore")
pytest.importorskip("s3transfer")


def test_s3_put_head_delete_round_trip(s3_env: S3Server) -> None:
    """A put is found by head with its size, sha256 metadata and type; delete removes it."""
    body = bytes(range(256)) * 40
    digest = hashlib.sha256(body).hexdigest()
    ref = f"s3://{BUCKET}/staged/{digest}.mp3"
    store = store_for(ref)
    assert store.head(ref) is None
    store.put(ref, io.BytesIO(body), len(body), "audio/mpeg", digest)
    assert store.head(ref) == StagedObject(len(body), digest, "audio/mpeg")
    got = s3_env.client.get_object(Bucket=BUCKET, Key=f"staged/{digest}.mp3")["Body"].read()
    assert got == body
    store.delete(ref)
    assert store.head(ref) is None
    store.delete(ref)  # already gone: no error


def test_s3_put_multipart_for_a_large_body(s3_env: S3Server) -> None:
    """A body over the part size goes up in parts and comes back byte for byte."""
    body = hashlib.sha256(b"x").digest() * (20 * 1024 * 1024 // 32 + 7)
    digest = hashlib.sha256(body).hexdigest()
    ref = f"s3://{BUCKET}/big/{digest}.mp4"
    store = store_for(ref)
    store.put(ref, io.BytesIO(body), len(body), "video/mp4", digest)
    answer = s3_env.client.get_object(Bucket=BUCKET, Key=f"big/{digest}.mp4")
    assert answer["Body"].read() == body
    assert "-" in answer["ETag"]  # a multipart ETag: md5-of-md5s and the part count
    found = store.head(ref)
    assert found is not None and found.sha256 == digest and found.size == len(body)


def test_s3_put_to_a_missing_bucket_is_a_cloud_error_not_retryable(s3_env: S3Server) -> None:
    """A bucket that does not exist is a CloudError that a retry would not fix."""
    ref = "s3://no-such-bucket-here/a/b.mp3"
    store = store_for(ref)
    with pytest.raises(CloudError) as caught:
        store.put(ref, io.BytesIO(b"abc"), 3, "audio/mpeg", "0" * 64)
    assert caught.value.transient is False
    assert "NoSuchBucket" in caught.value.message


def test_s3_unreachable_endpoint_is_retryable(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that cannot be reached is a retryable CloudError."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    ref = f"s3://{BUCKET}/a/b.mp3"
    with pytest.raises(CloudError) as caught:
        store_for(ref).head(ref)
    assert caught.value.transient is True


def test_store_for_refuses_what_is_not_a_reference() -> None:
    """store_for names the problem when the text is not a store reference."""
    with pytest.raises(CloudError, match="not an s3://"):
        store_for("https://example.com/a.mp3")
