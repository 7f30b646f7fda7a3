"""A real S3 API on loopback: moto's server mode, started by the tests, holding recordings.

``s3`` (module scope) starts ``moto.server.ThreadedMotoServer`` on 127.0.0.1 and an
ephemeral port; ``s3_env`` points the AWS variables at it (fake credentials, the
endpoint in ``AWS_ENDPOINT_URL``), so the importer's signer finds it as a user's
setup would. Objects are stored as ``application/octet-stream``, as in many buckets.
moto serves the object for a signed GET and honours ``response-content-type``; it
does not check signatures or expiry (the tests check those on the URL itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

BUCKET = "recordings"
AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4
OBJECTS = ("calls/2024/call-1.mp3", "calls/2024/call 2.M4A", "calls/2024/notes.bin")
FAKE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@dataclass(frozen=True)
class S3Server:
    """The running moto server: its endpoint URL and a botocore client to it."""

    endpoint: str
    client: Any


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    """Start moto's S3 on 127.0.0.1 with a bucket of octet-stream recordings; stop it after."""
    import botocore.session
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        session = botocore.session.get_session()
        client = session.create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id=FAKE_KEY_ID,
            aws_secret_access_key=FAKE_SECRET,
        )
        client.create_bucket(Bucket=BUCKET)
        for key in OBJECTS:
            client.put_object(
                Bucket=BUCKET, Key=key, Body=AUDIO, ContentType="application/octet-stream"
            )
        yield S3Server(endpoint, client)
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> S3Server:
    """Point the standard AWS variables at the moto server, with fake credentials only."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    # No shared files of this machine's user: only what the test sets.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return s3
