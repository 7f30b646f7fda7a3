"""Media references end to end: moto holds the recordings, ``run`` signs, the sandbox fetches.

moto's S3 runs on loopback (tests/s3server.py) with every object stored as
application/octet-stream; the sandbox (``--fetch-media --media-allow-private``) fetches
each signed URL as the server would. Time is virtual where a run spans hours: the
engine's clock and sleep, and botocore's signing clock, read one counter.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.config import load_config
from ae_import.errors import CloudError
from ae_import.media import probe as media
from ae_import.media.probe import Probe
from ae_import.operations.run import run_import
from ae_import.options import RunSettings
from ae_import.sending.client import EngagementClient
from ae_import.sending.summary import no_progress
from tests.helpers import ROOT, SANDBOX_TOKEN, Sandboxes
from tests.helpers.cli import HEADER
from tests.helpers.ledgerdb import ledger_row
from tests.helpers.rawserver import Peer, raw_server
from tests.helpers.s3server import AUDIO, BUCKET, S3Server, s3, s3_env

__all__ = ["s3", "s3_env"]

pytest.importorskip("botocore")

START = dt.datetime(2026, 3, 2, 9, 0, 0)  # botocore's clock is naive UTC


def query(url: str) -> dict[str, str]:
    """Return a URL's query parameters, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def references(path: Path, keys: list[str]) -> Path:
    """Write a manifest of s3:// references to ``keys``."""
    rows = "".join(f"CALL,Call {i},crm,e2e:{i},s3://{BUCKET}/{key}\n" for i, key in enumerate(keys))
    path.write_text(HEADER + rows)
    return path


def row_of(ledger: Path, external_id: str) -> dict[str, Any]:
    """Return the ledger's row for ``external_id`` (it must be there)."""
    found = ledger_row(ledger, external_id)
    assert found is not None
    return found


def secrets_in(paths: list[Path], texts: list[str], signatures: set[str]) -> list[str]:
    """Return what of a signed URL appears in these files and texts (nothing, if all is well)."""
    blobs = [p.read_bytes().decode("latin-1") for p in paths if p.exists()] + texts
    needles = {"X-Amz-Signature", "X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE", *signatures}
    return sorted(n for n in needles for blob in blobs if n in blob)


def test_fifty_references_run_for_hours_each_attempt_freshly_signed(
    s3_env: S3Server,
    sandboxes: Sandboxes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    runner: CliRunner,
) -> None:
    """50 octet-stream objects as s3:// rows at --rate 30/h (98 virtual minutes, 6.5 URL lives).

    Every row is created; every fetch by the sandbox saw audio/mpeg; each URL was signed
    within minutes of its fetch and still valid; no signature reaches the ledger, the log
    or what status and export print; a second run skips every row (re-signing is no change).
    """
    import botocore.auth

    keys = [f"e2e/rec-{i:02d}.mp3" for i in range(50)]
    for key in keys:
        s3_env.client.put_object(
            Bucket=BUCKET, Key=key, Body=AUDIO, ContentType="application/octet-stream"
        )
    now = [0.0]

    async def sleep(seconds: float) -> None:
        wake = now[0] + seconds
        await asyncio.sleep(0)
        now[0] = max(now[0], wake)

    monkeypatch.setattr(
        botocore.auth,
        "get_current_datetime",
        lambda *a, **k: START + dt.timedelta(seconds=now[0]),
    )
    fetched: list[tuple[float, str, Probe]] = []
    probe = media.Prober.probe

    async def recording(self: media.Prober, url: str) -> Probe:
        found = await probe(self, url)
        fetched.append((now[0], url, found))
        return found

    monkeypatch.setattr(media.Prober, "probe", recording)
    server = sandboxes.start(fetch_media=True, media_allow_private=True)
    manifest = references(tmp_path / "refs.csv", keys)
    ledger, log = tmp_path / "l.sqlite", tmp_path / "run.log"
    settings = RunSettings(
        base_url=server.base_url,
        rate=30 / 3600,
        concurrency=1,  # on a virtual clock, other workers' waits would age a URL in flight
        ledger=ledger,
        log_file=log,
        log_format="json",
    )
    env = {**os.environ, "AE_API_TOKEN": SANDBOX_TOKEN}
    config = load_config(None)

    def run() -> Any:
        return run_import(
            str(manifest),
            None,
            config,
            settings,
            env,
            no_progress,
            clock=lambda: now[0],
            sleep=sleep,
        )

    result = run()
    assert (result.exit_code, result.summary.created, result.summary.total) == (0, 50, 50)
    assert server.store.count() == 50
    assert len(fetched) == 50
    assert {(p.kind, p.content_type) for _, _, p in fetched} == {("media", "audio/mpeg")}
    signed_at = []
    for at, url, _ in fetched:
        params = query(url)
        signed = dt.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        age = (START + dt.timedelta(seconds=at) - signed).total_seconds()
        assert 0 <= age < 60, age  # signed at the attempt it was fetched for
        assert params["X-Amz-Expires"] == "900"  # --timeout 600 + 5 min margin
        assert params["response-content-type"] == "audio/mpeg"
        signed_at.append(signed)
    assert (max(signed_at) - min(signed_at)).total_seconds() >= 5 * 900
    assert len(set(signed_at)) == 50
    again = run()
    assert (again.summary.skipped, again.summary.changed, len(fetched)) == (50, 0, 50)
    row = row_of(ledger, "e2e:7")
    assert row["media_url"] == f"s3://{BUCKET}/e2e/rec-07.mp3"
    shown = [
        runner.invoke(app, [*command, "--ledger", str(ledger)]).output
        for command in (
            ["status"],
            ["export"],
            ["export", "--status", "created", "--format", "jsonl"],
        )
    ]
    signatures = {query(url)["X-Amz-Signature"] for _, url, _ in fetched}
    files = [ledger, ledger.with_name("l.sqlite-wal"), log]
    assert secrets_in(files, shown, signatures) == []


def test_run_check_media_refuses_missing_and_empty_objects_before_sending(
    s3_env: S3Server, sandboxes: Sandboxes, tmp_path: Path, runner: CliRunner
) -> None:
    """Run --check-media: a missing key (403) and an empty object are invalid, never posted."""
    s3_env.client.put_object(Bucket=BUCKET, Key="calls/empty.mp3", Body=b"")
    server = sandboxes.start(fetch_media=True, media_allow_private=True)
    keys = ["calls/2024/call-1.mp3", "calls/none.mp3", "calls/empty.mp3"]
    manifest = references(tmp_path / "refs.csv", keys)
    ledger = tmp_path / "l.sqlite"
    args = ["run", str(manifest), "--base-url", server.base_url, "--ledger", str(ledger)]
    args += ["--check-media", "--media-allow-private", "--json"]
    result = runner.invoke(app, args, env={"AE_API_TOKEN": SANDBOX_TOKEN})
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert (summary["created"], summary["invalid"], summary["total"]) == (1, 2, 3)
    stats = httpx.get(server.base_url.removesuffix("/api") + "/_sandbox/stats").json()
    assert server.store.count() == 1
    assert stats["responses"] == {"201": 1}  # the API saw the good row only
    missing, empty = row_of(ledger, "e2e:1"), row_of(ledger, "e2e:2")
    assert (missing["status"], missing["error_code"]) == ("invalid", "media_http_403")
    assert missing["error_detail"] == (
        "media_url: 127.0.0.1 answered HTTP 403: access denied (private, expired or wrongly signed)"
    )
    assert (empty["status"], empty["error_code"]) == ("invalid", "media_empty")
    exported = runner.invoke(app, ["export", "--ledger", str(ledger), "--as-manifest"])
    assert exported.exit_code == 0, exported.output
    lines = exported.stdout.splitlines()
    assert lines[0] == HEADER.strip() + ",ae_import_error"
    assert [line.split(",")[3] for line in lines[1:]] == ["e2e:1", "e2e:2"]
    assert "media_http_403" in lines[1] and "media_empty" in lines[2]
    assert secrets_in([ledger], [result.output, exported.output], set()) == []


def test_no_credentials_stops_the_run_with_one_line(
    s3_env: S3Server,
    sandboxes: Sandboxes,
    tmp_path: Path,
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No AWS credentials: exit 2, one line naming the fix, the row left retryable, nothing sent."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    server = sandboxes.start()
    manifest = references(tmp_path / "refs.csv", ["calls/2024/call-1.mp3"])
    ledger = tmp_path / "l.sqlite"
    args = ["run", str(manifest), "--base-url", server.base_url, "--ledger", str(ledger)]
    result = runner.invoke(app, args, env={"AE_API_TOKEN": SANDBOX_TOKEN})
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "ae-import: s3: no AWS credentials found; set AWS_PROFILE or cloud.s3.profile, run aws "
        "sso login, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )
    assert row_of(ledger, "e2e:0")["status"] == "retryable"
    assert server.store.count() == 0


class FlakySigner:
    """A signer whose credential service is down once, then signs (a stand-in for STS)."""

    def __init__(self) -> None:
        """Count calls."""
        self.calls = 0

    def sign_body(self, body: bytes, timeout_s: float, content_type: str | None = None) -> bytes:
        """Fail the first time (transient), then put a URL in place of the reference."""
        self.calls += 1
        if self.calls == 1:
            error = CloudError("s3://b/a.mp3: cannot sign: EndpointConnectionError: sts")
            error.transient = True
            raise error
        return body.replace(b"s3://b/a.mp3", b"https://b.example.com/a.mp3?X-Amz-Signature=S")


def test_client_signs_references_only_and_retries_a_transient_signing_failure() -> None:
    """A reference body is signed per attempt (a transient failure is a retry); others never."""
    sent: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(201, json={"id": "eng_1"})

    signer = FlakySigner()

    async def go() -> list[str]:
        client = EngagementClient(
            "http://api.example.com/api",
            "t",
            transport=httpx.MockTransport(handler),
            signer=signer,  # type: ignore[arg-type]
        )
        try:
            kinds: list[str] = []
            for body in (b'{"media_url":"s3://b/a.mp3"}', b'{"media_url":"https://c/a.mp3"}'):
                kinds.append((await client.create(body)).kind)
            kinds.append((await client.create(b'{"media_url":"s3://b/a.mp3"}')).kind)
            return kinds
        finally:
            await client.aclose()

    assert asyncio.run(go()) == ["retry", "created", "created"]
    assert signer.calls == 2
    assert sent == [
        b'{"media_url":"https://c/a.mp3"}',
        b'{"media_url":"https://b.example.com/a.mp3?X-Amz-Signature=S"}',
    ]


def test_validate_check_media_caches_a_reference_for_the_next_validate(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second validate --check-media asks the store nothing: the ledger remembers the check."""

    async def store(peer: Peer) -> None:
        head = peer.request.startswith(b"HEAD")
        status = "403 Forbidden" if head else "206 Partial Content"
        extra = "" if head else "content-type: audio/mpeg\r\ncontent-range: bytes 0-0/4096\r\n"
        answer = f"HTTP/1.1 {status}\r\n{extra}content-length: {0 if head else 1}\r\n"
        await peer.send((answer + "connection: close\r\n\r\n").encode() + (b"" if head else b"I"))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    references(tmp_path / "m.csv", ["calls/a.mp3", "calls/b.wav"])
    args = ["validate", "m.csv", "--check-media", "--media-allow-private"]

    async def go() -> list[tuple[Any, int]]:
        found = []
        async with raw_server(store) as server:
            monkeypatch.setenv("AWS_ENDPOINT_URL", server.base_url.removesuffix("/api"))
            for _ in range(2):
                result = await asyncio.to_thread(runner.invoke, app, args)
                found.append((result, len(server.peers)))
        return found

    (first, asked), (second, again) = asyncio.run(go())
    assert (first.exit_code, first.stdout) == (0, "2 rows: 2 valid, 0 invalid, 0 problems\n")
    assert asked == 4  # HEAD refused, then a 1-byte GET, for each object
    assert (second.exit_code, second.stdout) == (0, first.stdout)
    assert again == asked
    assert secrets_in([tmp_path / "ae-import-ledger.sqlite"], [], set()) == []


def test_the_sandbox_refuses_an_unsigned_reference(sandbox: Any) -> None:
    """The server fetches https only: a body still holding s3:// is 422 url_scheme."""
    body = {
        "type": "CALL",
        "title": "t",
        "source_system": "s",
        "external_id": "x:1",
        "media_url": "s3://recordings/a.mp3",
        "run_workflows": False,
    }
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    answer = httpx.post(sandbox.base_url + "/v2/engagements", json=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {
            "field": "media_url",
            "code": "url_scheme",
            "message": "must use https, not s3; the server refuses it",
        }
    ]


def test_without_the_extra_a_reference_row_is_one_problem_naming_it(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No botocore: validate reports the s3:// row with one problem naming the extra; exit 1."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if "botocore" in name else real(name)
    )
    manifest = references(tmp_path / "refs.csv", ["calls/a.mp3"])
    result = runner.invoke(app, ["validate", str(manifest), "--json"])
    assert result.exit_code == 1
    assert [
        (p["field"], p["code"], p["message"]) for p in json.loads(result.stdout)["problems"]
    ] == [
        (
            "media_url",
            "cloud_extra",
            "s3:// references need the cloud extra: pip install 'ae-import[cloud]'",
        )
    ]


NO_NETWORK = """
import socket, sys
real_connect = socket.socket.connect
def connect(self, address):
    if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
        raise OSError(f"network used: {address[0]}")
    return real_connect(self, address)
socket.socket.connect = connect
def getaddrinfo(*args, **kwargs):
    raise OSError(f"DNS used: {args[0]}")
socket.getaddrinfo = getaddrinfo
from ae_import.commands import app
code = app(sys.argv[1:], standalone_mode=False)
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"botocore", "google", "azure"})
print("cloud libraries:", loaded, file=sys.stderr)
sys.exit(code)
"""


def test_readme_first_command_needs_no_cloud_credentials_or_network(tmp_path: Path) -> None:
    """The README's run into --sandbox: no cloud variable, no DNS, no connection off loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_", "AZURE_"))}
    env.update(HOME=str(tmp_path), AE_API_TOKEN="")
    samples = ROOT / "samples"
    args = [
        "run",
        str(samples / "salesforce-calls.csv"),
        "--config",
        str(samples / "salesforce.yaml"),
    ]
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, *args, "--sandbox", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 5
    assert "cloud libraries: []" in done.stderr
