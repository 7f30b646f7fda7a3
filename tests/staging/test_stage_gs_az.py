"""The stager into gs:// and az:// (gcp-storage-emulator and Azurite on loopback), end to end.

A local recording is staged as ``<prefix>/<sha256>.<ext>``, a second stage finds it
(HEAD) and uploads nothing, the URL signed just in time serves its exact bytes as
audio, and cleanup deletes it after the last row sent with it.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ae_import.media import MediaAuth, store_for
from ae_import.media.cloud import CloudConfig, Signer, parse_reference, validity
from ae_import.staging import ByteRate, MediaSources, Stager
from tests.helpers.azurite import CONTAINER, azurite, azurite_env
from tests.helpers.gcsemulator import BUCKET, GcsEmulator, gcs_emulator, gcs_env
from tests.helpers.stores import sized_body

# Heavy: real emulators (gcp-storage-emulator, Azurite).
# Run by scripts/check.py with the slow tests, not by plain pytest.
pytestmark = pytest.mark.slow

__all__ = ["azurite", "azurite_env", "gcs_emulator", "gcs_env"]

AUDIO = b"ID3" + bytes(range(256)) * 64


@dataclass(frozen=True)
class Target:
    """Where a test stages (``--stage-to``) and the ``cloud:`` section that signs there."""

    prefix: str
    config: CloudConfig


@pytest.fixture(params=["gs", "az"])
def target(request: pytest.FixtureRequest) -> Target:
    """Return a staging target in the GCS emulator or in Azurite (skipped where it cannot run)."""
    if request.param == "gs":
        emulator: GcsEmulator = request.getfixturevalue("gcs_env")
        return Target(f"gs://{BUCKET}/staged", emulator.config())
    request.getfixturevalue("azurite_env")
    return Target(f"az://{CONTAINER}/staged", CloudConfig())


def make(target: Target, rate: int = 0) -> Stager:
    """Return a stager of local files into ``target`` (no media host needs credentials)."""
    sources = MediaSources(MediaAuth(()), {}, target=target.prefix)
    store = store_for(target.prefix, target.config)
    return Stager(target.prefix, store, sources, rate=ByteRate(rate), allow_private=True)


def fetch(target: Target, ref: str) -> httpx.Response:
    """GET the URL signed just in time for ``ref``, as the server would."""
    reference = parse_reference(ref)
    assert reference is not None
    return httpx.get(Signer(target.config).sign(reference, validity(60)))


def test_a_local_file_is_staged_once_and_served_as_audio(target: Target, tmp_path: Path) -> None:
    """Staged by its sha256, found again by HEAD, fetched byte for byte as audio/mpeg."""
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "a.MP3").write_bytes(AUDIO)
    (tmp_path / "calls" / "copy.mp3").write_bytes(AUDIO)
    stager = make(target)
    digest = hashlib.sha256(AUDIO).hexdigest()
    staged = asyncio.run(stager.stage("calls/a.MP3", tmp_path))
    assert staged.ref == f"{target.prefix}/{digest}.mp3" and staged.uploaded
    again = asyncio.run(stager.stage("calls/copy.mp3", tmp_path))
    assert (again.ref, again.uploaded) == (staged.ref, False)
    assert (stager.counts.files, stager.counts.found, stager.counts.bytes) == (1, 1, len(AUDIO))
    answer = fetch(target, staged.ref)
    assert answer.status_code == 200
    assert answer.content == AUDIO
    assert answer.headers["content-type"] == "audio/mpeg"
    stager.close()


def test_a_large_file_is_staged_in_parts_at_the_capped_rate(target: Target, tmp_path: Path) -> None:
    """A 17 MiB video goes up in parts through the pacing reader; the bytes come back whole."""
    body = sized_body(17 * 1024 * 1024 + 3)
    (tmp_path / "meeting.mp4").write_bytes(body)
    stager = make(target, rate=1 << 40)  # a cap far above the loopback's speed: paced, not slowed
    staged = asyncio.run(stager.stage("meeting.mp4", tmp_path))
    assert staged.uploaded and stager.counts.bytes == len(body)
    found = store_for(target.prefix, target.config).head(staged.ref)
    assert found is not None
    assert (found.size, found.sha256, found.content_type) == (
        len(body),
        hashlib.sha256(body).hexdigest(),
        "video/mp4",
    )
    assert (
        hashlib.sha256(fetch(target, staged.ref).content).digest() == hashlib.sha256(body).digest()
    )
    stager.close()


def test_cleanup_deletes_after_the_last_row_sent_with_it(target: Target, tmp_path: Path) -> None:
    """Two rows with the same bytes: the object goes only when both are done."""
    (tmp_path / "b.wav").write_bytes(AUDIO + b"cleanup")
    stager = make(target)
    staged = asyncio.run(stager.stage("b.wav", tmp_path))
    store = store_for(target.prefix, target.config)
    stager.hold(staged.ref)
    stager.hold(staged.ref)
    assert stager.done(staged.ref, delete=True) is False
    assert store.head(staged.ref) is not None
    assert stager.done(staged.ref, delete=True) is True
    asyncio.run(stager.remove(staged.ref))
    assert store.head(staged.ref) is None and stager.counts.deleted == 1
    assert fetch(target, staged.ref).status_code == 404
    stager.close()
