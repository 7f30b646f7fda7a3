"""The stager against a real S3 API (moto's server) and an https host that asks for credentials."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from ae_import.errors import CloudError
from ae_import.ledger import Ledger
from ae_import.media import HostAuth, MediaAuth, store_for
from ae_import.staging import (
    ByteRate,
    MediaSources,
    StageProblem,
    Stager,
    StageRetry,
)
from tests.helpers.mediaserver import BEARER, PASSWORD, USER, AuthMediaHost
from tests.helpers.s3server import BUCKET, S3Server, s3, s3_env

__all__ = ["s3", "s3_env"]

pytest.importorskip("s3transfer")

TARGET = f"s3://{BUCKET}/staged"
ENV = {"TW_SID": USER, "TW_TOKEN": PASSWORD, "GRAPH": BEARER}
AUDIO = b"ID3" + bytes(range(256)) * 64


def _auth(host: str) -> MediaAuth:
    return MediaAuth(
        (
            HostAuth(host, user_env="TW_SID", password_env="TW_TOKEN"),
            HostAuth("127.0.0.1", bearer_env="GRAPH"),
            HostAuth("*.graph.test", bearer_env="GRAPH"),
        )
    )


@pytest.fixture
def client(test_ca: trustme.CA) -> Iterator[httpx.Client]:
    """Return an httpx client that trusts the test CA."""
    context = ssl.create_default_context()
    test_ca.configure_trust(context)
    with httpx.Client(verify=context, follow_redirects=False, timeout=30) as made:
        yield made


def make(
    s3_env: S3Server,
    auth_media: AuthMediaHost,
    client: httpx.Client,
    *,
    cache: Any = None,
    env: dict[str, str] | None = None,
    stage_all: bool = False,
) -> Stager:
    """Return a stager into the moto bucket, fetching from the auth host."""
    sources = MediaSources(
        _auth(auth_media.host), ENV if env is None else env, target=TARGET, stage_all=stage_all
    )
    return Stager(
        TARGET, store_for(TARGET), sources, cache=cache, client=client, allow_private=True
    )


def stored(s3: S3Server, ref: str) -> tuple[bytes, str, dict[str, str]]:
    """Return an object's bytes, content type and metadata."""
    key = ref.removeprefix(f"s3://{BUCKET}/")
    answer = s3.client.get_object(Bucket=BUCKET, Key=key)
    return answer["Body"].read(), answer["ContentType"], answer["Metadata"]


def test_a_local_file_is_staged_by_its_sha256_once(
    s3_env: S3Server, auth_media: AuthMediaHost, client: httpx.Client, tmp_path: Path
) -> None:
    """The key is the content's sha256; a second stage of the same bytes uploads nothing."""
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "a.MP3").write_bytes(AUDIO)
    (tmp_path / "calls" / "copy.mp3").write_bytes(AUDIO)
    ledger = Ledger(tmp_path / "l.sqlite", "t")
    stager = make(s3_env, auth_media, client, cache=ledger)
    digest = hashlib.sha256(AUDIO).hexdigest()
    staged = asyncio.run(stager.stage("calls/a.MP3", tmp_path))
    assert staged.ref == f"{TARGET}/{digest}.mp3" and staged.uploaded
    assert stored(s3_env, staged.ref) == (AUDIO, "audio/mpeg", {"sha256": digest})
    again = asyncio.run(stager.stage("calls/a.MP3", tmp_path))  # the ledger knows it
    other = asyncio.run(stager.stage(f"file://{tmp_path}/calls/copy.mp3", tmp_path))  # HEAD
    assert (again.ref, again.uploaded, other.ref, other.uploaded) == (
        staged.ref,
        False,
        staged.ref,
        False,
    )
    assert (stager.counts.files, stager.counts.found, stager.counts.bytes) == (1, 2, len(AUDIO))
    copy = ledger.staged_copy(f"file:{(tmp_path / 'calls' / 'a.MP3').resolve()}")
    assert copy is not None and copy.sha256 == digest and copy.ref == staged.ref
    ledger.close()


def test_a_changed_file_is_hashed_and_staged_again(
    s3_env: S3Server, auth_media: AuthMediaHost, client: httpx.Client, tmp_path: Path
) -> None:
    """The ledger's record is trusted only while the file's size and mtime are unchanged."""
    path = tmp_path / "b.wav"
    path.write_bytes(AUDIO)
    ledger = Ledger(tmp_path / "l.sqlite", "t")
    stager = make(s3_env, auth_media, client, cache=ledger)
    first = asyncio.run(stager.stage("b.wav", tmp_path))
    path.write_bytes(AUDIO + b"more")
    second = asyncio.run(stager.stage("b.wav", tmp_path))
    assert second.ref != first.ref and second.uploaded
    assert stored(s3_env, second.ref)[:2] == (AUDIO + b"more", "audio/wav")
    ledger.close()


def test_urls_that_need_basic_or_bearer_auth_are_fetched_with_them(
    s3_env: S3Server, auth_media: AuthMediaHost, client: httpx.Client, tmp_path: Path
) -> None:
    """Basic and bearer credentials come from the env vars media.auth names; bytes arrive whole."""
    basic = auth_media.add("/basic/rec-1", AUDIO + b"1", "audio/mpeg")
    bearer = auth_media.add("/bearer/rec-2.wav", AUDIO + b"2", "application/octet-stream")
    stager = make(s3_env, auth_media, client)
    one = asyncio.run(stager.stage(basic, tmp_path))
    two = asyncio.run(stager.stage(bearer.replace("localhost", "127.0.0.1"), tmp_path))
    assert one.ref.endswith(".mp3") and stored(s3_env, one.ref)[:2] == (AUDIO + b"1", "audio/mpeg")
    assert stored(s3_env, two.ref)[:2] == (AUDIO + b"2", "audio/wav")


def test_bearer_host_by_wildcard(tmp_path: Path) -> None:
    """A *.host entry matches its subdomains, https only."""
    auth = _auth("localhost")
    assert auth.for_url("https://a.graph.test/x") is not None
    assert auth.for_url("http://a.graph.test/x") is None
    assert auth.for_url("https://graph.test.evil/x") is None


@pytest.mark.parametrize(
    ("path", "env", "kind", "code"),
    [
        ("/basic/wrong.mp3", {"TW_SID": USER, "TW_TOKEN": "not-it"}, "audio/mpeg", "stage_auth"),
        ("/basic/none.mp3", ENV, "audio/mpeg", "stage_not_found"),
        ("/basic/page", ENV, "text/html", "stage_not_media"),
        ("/basic/unset.mp3", {}, "audio/mpeg", "stage_auth"),
    ],
)
def test_a_source_that_refuses_is_a_row_problem(
    s3_env: S3Server,
    auth_media: AuthMediaHost,
    client: httpx.Client,
    tmp_path: Path,
    path: str,
    env: dict[str, str],
    kind: str,
    code: str,
) -> None:
    """401/403, 404, a non-media type, an unset variable: a stage_* problem, nothing uploaded."""
    url = auth_media.add(path, AUDIO, kind) if "none" not in path else auth_media.add("/x", b"")
    if "none" in path:
        url = url.replace("/x", path)
    stager = make(s3_env, auth_media, client, env=env)
    with pytest.raises(StageProblem) as caught:
        asyncio.run(stager.stage(url, tmp_path))
    assert caught.value.code == code
    assert PASSWORD not in caught.value.message and stager.counts.files == 0
    assert list(tmp_path.glob("ae-import-stage-*")) == []


def test_a_source_that_fails_for_now_is_retryable(
    s3_env: S3Server, auth_media: AuthMediaHost, client: httpx.Client, tmp_path: Path
) -> None:
    """A 503 from the source is StageRetry: a later run tries again."""
    url = f"https://localhost:{auth_media.port}/fail/x.mp3"
    stager = make(s3_env, auth_media, client, stage_all=True)
    with pytest.raises(StageRetry):
        asyncio.run(stager.stage(url, tmp_path))


def test_a_bucket_that_does_not_exist_is_a_cloud_error(
    auth_media: AuthMediaHost, client: httpx.Client, tmp_path: Path, s3_env: S3Server
) -> None:
    """The store's refusal comes out as CloudError, not a row problem."""
    (tmp_path / "a.mp3").write_bytes(AUDIO)
    target = "s3://no-such-bucket-x/p"
    sources = MediaSources(MediaAuth(), {}, target=target)
    stager = Stager(target, store_for(target), sources, client=client)
    with pytest.raises(CloudError) as caught:
        asyncio.run(stager.stage("a.mp3", tmp_path))
    assert caught.value.transient is False


def test_claim_decides_which_media_is_staged(tmp_path: Path) -> None:
    """Local paths and credentialed hosts are staged; other URLs only with --stage-all."""
    (tmp_path / "ok.mp3").write_bytes(b"x")
    (tmp_path / "notes.txt").write_bytes(b"x")
    auth = _auth("api.twilio.com")
    on = MediaSources(auth, ENV, target=TARGET)
    off = MediaSources(auth, ENV, target=None)
    everything = MediaSources(auth, ENV, target=TARGET, stage_all=True)
    public = "https://cdn.example.com/a.mp3"
    assert on.claim("ok.mp3", tmp_path, ()) == []
    assert on.claim(public, tmp_path, ()) is None
    assert everything.claim(public, tmp_path, ()) == []
    assert on.claim("s3://recordings/a.mp3", tmp_path, ()) is None
    codes = {
        "missing.mp3": on,
        "/etc/passwd": on,
        "notes.txt": on,
        "ok.mp3": off,
        "https://api.twilio.com/r/1.mp3": off,
    }
    found = {
        media: [c for c, _ in (src.claim(media, tmp_path, ()) or [])]
        for media, src in codes.items()
    }
    assert found == {
        "missing.mp3": ["stage_missing"],
        "/etc/passwd": ["stage_missing"],
        "notes.txt": ["stage_not_media"],
        "ok.mp3": ["stage_no_target"],
        "https://api.twilio.com/r/1.mp3": ["stage_no_target"],
    }


def test_byte_rate_spaces_reads_to_the_cap() -> None:
    """A 1 MiB/s cap lets one second ahead, then sleeps as the bytes demand."""
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    rate = ByteRate(1024 * 1024, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        rate.take(512 * 1024)
    assert slept == [pytest.approx(0.5), pytest.approx(0.5)]  # 2 MiB: 1 s ahead, 1 s slept
    rate.take(1024 * 1024)
    assert sum(slept) == pytest.approx(2.0)


def test_cleanup_deletes_after_the_last_row_sent_with_it(
    s3_env: S3Server, auth_media: AuthMediaHost, client: httpx.Client, tmp_path: Path
) -> None:
    """Two rows with the same bytes: the object goes only when both are done."""
    (tmp_path / "a.mp3").write_bytes(AUDIO + b"c")
    stager = make(s3_env, auth_media, client)
    staged = asyncio.run(stager.stage("a.mp3", tmp_path))
    stager.hold(staged.ref)
    stager.hold(staged.ref)
    assert stager.done(staged.ref, delete=True) is False
    assert stager.done(staged.ref, delete=False) is True  # the first row asked for it
    asyncio.run(stager.remove(staged.ref))
    assert store_for(TARGET).head(staged.ref) is None and stager.counts.deleted == 1
