"""Staging end to end into gs:// and az://: a dialer's export and Basic-auth URLs, to a sandbox.

The staging issue's "Done when", with the bucket in gcp-storage-emulator or Azurite
instead of moto: ``run --stage-to gs://...`` (``az://...``) into a sandbox that fetches
each media URL whole (``--fetch-media --media-allow-private --media-digest``). Every row
is created, every fetch got the exact bytes of its source with an audio type, a second
run uploads nothing, ``--stage-cleanup`` leaves the prefix empty, and no credential,
key or signature is found in the ledger, the log or what the commands print.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.media.cloud import azure_store, gcs_store
from tests.helpers import Sandboxes
from tests.helpers.azurite import ACCOUNT_KEY, CONTAINER, Azurite, azurite, azurite_env
from tests.helpers.dialer import AUTH_YAML, ENV, count_puts, export, run_args
from tests.helpers.gcsemulator import BUCKET, GcsEmulator, gcs_emulator, gcs_env
from tests.helpers.ledgerdb import ledger_row
from tests.helpers.mediaserver import BASIC, PASSWORD, AuthMediaHost

# Heavy: real emulators (gcp-storage-emulator, Azurite) and a fetching sandbox end to end.
# Run by scripts/check.py with the slow tests, not by plain pytest.
pytestmark = pytest.mark.slow

__all__ = ["azurite", "azurite_env", "gcs_emulator", "gcs_env"]

FILES = 12
AUTHED = 3
PREFIX = "staged/e2e"


@dataclass(frozen=True)
class Target:
    """A staging target: its --stage-to, the config that signs there, what to list and count."""

    stage_to: str
    cloud_yaml: str
    listing: Callable[[], list[str]]
    store: type[Any]
    secrets: tuple[bytes, ...]


def _gs(emulator: GcsEmulator) -> Target:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(
        project="-",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": emulator.endpoint},
    )

    def listing() -> list[str]:
        return [blob.name for blob in client.list_blobs(BUCKET, prefix=PREFIX + "/")]

    key = json.loads(emulator.key_file.read_text())["private_key"]
    secret_line = key.splitlines()[5].encode()  # a line of the key's body
    return Target(
        f"gs://{BUCKET}/{PREFIX}",
        f"cloud:\n  gs: {{credentials_file: {emulator.key_file}}}\n",
        listing,
        gcs_store.GcsStore,
        (b"X-Goog-Signature", b"X-Goog-Credential", secret_line),
    )


def _az(emulator: Azurite) -> Target:
    from azure.storage.blob import ContainerClient

    container = ContainerClient.from_connection_string(emulator.connection_string, CONTAINER)

    def listing() -> list[str]:
        return [blob.name for blob in container.list_blobs(name_starts_with=PREFIX + "/")]

    return Target(
        f"az://{CONTAINER}/{PREFIX}",
        "",
        listing,
        azure_store.AzureStore,
        (ACCOUNT_KEY.encode(), b"sig=", b"&sv=20"),
    )


@pytest.fixture(params=["gs", "az"])
def target(request: pytest.FixtureRequest) -> Target:
    """Return a staging target in the GCS emulator or in Azurite (skipped where it cannot run)."""
    if request.param == "gs":
        return _gs(request.getfixturevalue("gcs_env"))
    return _az(request.getfixturevalue("azurite_env"))


def test_a_dialer_export_is_staged_into_gs_and_az_sent_and_cleaned_up(
    target: Target,
    auth_media: AuthMediaHost,
    sandboxes: Sandboxes,
    runner: CliRunner,
    ca_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each row created with its exact bytes as audio; a re-run uploads nothing; cleanup empties."""
    index, sources = export(tmp_path / "export", auth_media, files=FILES, authed=AUTHED)
    config = tmp_path / "c.yaml"
    config.write_text(target.cloud_yaml + AUTH_YAML)
    puts = count_puts(monkeypatch, target.store)
    server = sandboxes.start(fetch_media=True, media_allow_private=True, media_digest=True)
    ledger, log = tmp_path / "l.sqlite", tmp_path / "run.log"
    env = ENV
    args = run_args(index, config, server.base_url, target.stage_to, ca_file)
    args += ["--log-file", str(log)]
    total = FILES + AUTHED
    first = runner.invoke(app, [*args, "--ledger", str(ledger)], env=env)
    assert first.exit_code == 0, first.output
    assert (json.loads(first.stdout)["created"], len(puts)) == (total, total)
    fetched = httpx.get(server.base_url.removesuffix("/api") + "/_sandbox/media").json()
    assert set(fetched) == set(sources)
    for external_id, data in sources.items():
        got = fetched[external_id]
        assert got["sha256"] == hashlib.sha256(data).hexdigest(), external_id
        assert got["content_type"] in ("audio/mpeg", "audio/wav"), got
    assert len(target.listing()) == total
    digest = hashlib.sha256(sources["dial:3"]).hexdigest()
    row = ledger_row(ledger, "dial:3")
    assert row is not None and row["staged_ref"] == f"{target.stage_to}/{digest}.mp3"

    puts.clear()
    again = runner.invoke(app, [*args, "--ledger", str(ledger)], env=env)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["skipped"] == total and puts == []

    auth_media.forget()
    fresh = tmp_path / "fresh.sqlite"  # a new ledger: every row is sent (existing) again
    cleaned = runner.invoke(app, [*args, "--ledger", str(fresh), "--stage-cleanup"], env=env)
    assert cleaned.exit_code == 0, cleaned.output
    assert json.loads(cleaned.stdout)["existing"] == total
    assert puts == []  # every object was found by HEAD: nothing uploaded
    assert target.listing() == []

    shown = [first.output, again.output, cleaned.output]
    shown += [runner.invoke(app, ["status", "--ledger", str(ledger)]).output]
    shown += [runner.invoke(app, ["export", "--ledger", str(ledger)]).output]
    blobs = [p.read_bytes() for p in tmp_path.glob("*.sqlite*")] + [log.read_bytes()]
    blobs += [text.encode() for text in shown]
    needles = (PASSWORD.encode(), BASIC.encode(), *target.secrets)
    assert [n for n in needles for blob in blobs if n in blob] == []
