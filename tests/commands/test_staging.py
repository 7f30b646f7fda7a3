"""Staging end to end: a dialer's export and Basic-auth URLs staged into moto, fetched by a sandbox.

The "Done when" of the staging issue: a folder of 50 audio files with a CSV index
naming them by relative path, plus rows whose URLs need Basic auth from a local https
host, run with ``run --stage-to s3://...`` into a sandbox that fetches each media URL
whole (``--fetch-media --media-allow-private --media-digest``). Every row is created,
every fetch got the exact bytes of its source with an audio type, a second run uploads
nothing, ``--stage-cleanup`` leaves the prefix empty, and no credential or signature is
found in the ledger, the log or what the commands print.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.media.cloud import s3_store
from tests.helpers import SANDBOX_TOKEN, Sandboxes
from tests.helpers.cli import HEADER
from tests.helpers.dialer import AUTH_YAML, ENV, count_puts, export, recording, run_args
from tests.helpers.ledgerdb import ledger_row
from tests.helpers.mediaserver import BASIC, PASSWORD, USER, AuthMediaHost
from tests.helpers.proxies import ProxyPy
from tests.helpers.s3server import BUCKET, S3Server, s3, s3_env

# Heavy: real servers (moto, an https media host, a fetching sandbox) end to end.
# Run by scripts/check.py with the slow tests, not by plain pytest.
pytestmark = pytest.mark.slow

__all__ = ["s3", "s3_env"]

pytest.importorskip("s3transfer")

PREFIX = "staged/e2e"
FILES = 50
AUTHED = 5


def staged_keys(s3: S3Server) -> list[str]:
    """Return the keys under the staging prefix."""
    found = s3.client.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "/")
    return [item["Key"] for item in found.get("Contents", [])]


def test_a_dialer_export_and_basic_auth_urls_are_staged_sent_and_cleaned_up(
    s3_env: S3Server,
    auth_media: AuthMediaHost,
    sandboxes: Sandboxes,
    runner: CliRunner,
    ca_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every row created with the exact bytes; a re-run uploads nothing; cleanup empties it."""
    index, sources = export(tmp_path / "export", auth_media)
    config = tmp_path / "c.yaml"
    config.write_text(AUTH_YAML)
    puts = count_puts(monkeypatch, s3_store.S3Store)
    server = sandboxes.start(fetch_media=True, media_allow_private=True, media_digest=True)
    ledger, log = tmp_path / "l.sqlite", tmp_path / "run.log"
    env = ENV
    args = run_args(index, config, server.base_url, f"s3://{BUCKET}/{PREFIX}", ca_file)
    args += ["--log-file", str(log)]
    first = runner.invoke(app, [*args, "--ledger", str(ledger)], env=env)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert (summary["created"], summary["total"]) == (FILES + AUTHED, FILES + AUTHED)
    assert summary["staged"] == {
        "uploaded_files": FILES + AUTHED,
        "uploaded_bytes": sum(len(data) for data in sources.values()),
        "already_staged": 0,
    }
    fetched = httpx.get(server.base_url.removesuffix("/api") + "/_sandbox/media").json()
    assert set(fetched) == set(sources)
    for external_id, data in sources.items():
        got = fetched[external_id]
        assert got["sha256"] == hashlib.sha256(data).hexdigest(), external_id
        assert got["size"] == len(data)
        assert got["content_type"] in ("audio/mpeg", "audio/wav"), got
    assert len(puts) == FILES + AUTHED and len(staged_keys(s3_env)) == FILES + AUTHED
    row = ledger_row(ledger, "dial:3")
    assert row is not None
    digest = hashlib.sha256(sources["dial:3"]).hexdigest()
    assert row["media_url"] == "calls/rec-03.mp3"
    assert (row["staged_ref"], row["staged_sha256"]) == (
        f"s3://{BUCKET}/{PREFIX}/{digest}.mp3",
        digest,
    )

    puts.clear()
    again = runner.invoke(app, [*args, "--ledger", str(ledger)], env=env)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["skipped"] == FILES + AUTHED and puts == []

    fresh = tmp_path / "fresh.sqlite"  # a new ledger: every row is sent (existing) again
    auth_media.forget()
    cleaned = runner.invoke(app, [*args, "--ledger", str(fresh), "--stage-cleanup"], env=env)
    assert cleaned.exit_code == 0, cleaned.output
    assert json.loads(cleaned.stdout)["existing"] == FILES + AUTHED
    assert json.loads(cleaned.stdout)["staged"]["already_staged"] == FILES + AUTHED
    assert puts == []  # every object was found by HEAD: nothing uploaded
    assert staged_keys(s3_env) == []

    shown = [first.output, again.output, cleaned.output]
    shown += [
        runner.invoke(app, [*command, "--ledger", str(ledger)]).output
        for command in (["status"], ["export"], ["export", "--status", "created"])
    ]
    blobs = [p.read_bytes() for p in tmp_path.glob("*.sqlite*")] + [log.read_bytes()]
    blobs += [text.encode() for text in shown]
    needles = (PASSWORD.encode(), BASIC.encode(), b"X-Amz-Signature", b"X-Amz-Credential")
    assert [n for n in needles for blob in blobs if n in blob] == []


def test_a_missing_file_and_a_refused_url_are_row_problems(
    s3_env: S3Server,
    auth_media: AuthMediaHost,
    sandboxes: Sandboxes,
    runner: CliRunner,
    ca_file: Path,
    tmp_path: Path,
) -> None:
    """stage_missing and stage_auth rows are invalid, never sent; the rest are created."""
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "ok.mp3").write_bytes(recording(1))
    url = auth_media.add("/basic/secret.mp3", recording(2))
    index = folder / "index.csv"
    index.write_text(
        HEADER
        + "CALL,Ok,d,ok,ok.mp3\nCALL,Gone,d,gone,gone.mp3\n"
        + f"CALL,Refused,d,refused,{url}\nCALL,Outside,d,outside,../../etc/passwd.mp3\n"
    )
    config = tmp_path / "c.yaml"
    config.write_text("media:\n  auth:\n    - {host: localhost, bearer_env: WRONG}\n")
    server = sandboxes.start(fetch_media=True, media_allow_private=True)
    ledger = tmp_path / "l.sqlite"
    args = ["run", str(index), "--config", str(config), "--base-url", server.base_url]
    args += ["--stage-to", f"s3://{BUCKET}/p2", "--media-allow-private", "--json"]
    args += ["--ca-bundle", str(ca_file), "--ledger", str(ledger)]
    env = {"AE_API_TOKEN": SANDBOX_TOKEN, "WRONG": "not-the-bearer-token"}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1, result.output
    assert (json.loads(result.stdout)["created"], server.store.count()) == (1, 1)
    codes = {e: (ledger_row(ledger, e) or {}).get("error_code") for e in ("gone", "refused")}
    codes["outside"] = (ledger_row(ledger, "outside") or {}).get("error_code")
    assert codes == {"gone": "stage_missing", "refused": "stage_auth", "outside": "stage_missing"}
    written = b"".join(p.read_bytes() for p in tmp_path.glob("l.sqlite*"))
    for secret in (b"not-the-bearer-token", base64.b64encode(b"not-the-bearer-token")):
        assert secret not in written + result.output.encode()


def test_a_local_file_without_stage_to_says_to_pass_it(runner: CliRunner, tmp_path: Path) -> None:
    """Validate names the fix for a local path when no --stage-to is given."""
    (tmp_path / "a.mp3").write_bytes(b"ID3")
    index = tmp_path / "index.csv"
    index.write_text(HEADER + "CALL,A,d,a,a.mp3\n")
    result = runner.invoke(app, ["validate", str(index), "--json"])
    assert result.exit_code == 1
    assert '"stage_no_target"' in result.stdout and "--stage-to s3://" in result.stdout


def test_stage_then_run_uploads_nothing_more(
    s3_env: S3Server,
    auth_media: AuthMediaHost,
    sandboxes: Sandboxes,
    runner: CliRunner,
    ca_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`stage` uploads each file once and sends nothing; `stage` again and `run` upload nothing."""
    index, sources = export(tmp_path / "export", auth_media)
    config = tmp_path / "c.yaml"
    config.write_text(
        "media:\n  auth:\n    - host: localhost\n"
        "      basic: {user_env: TW_SID, password_env: TW_TOKEN}\n"
    )
    puts = count_puts(monkeypatch, s3_store.S3Store)
    env = {"AE_API_TOKEN": SANDBOX_TOKEN, "TW_SID": USER, "TW_TOKEN": PASSWORD}
    ledger = tmp_path / "l.sqlite"
    common = ["--config", str(config), "--stage-to", f"s3://{BUCKET}/pre", "--ledger", str(ledger)]
    common += ["--media-allow-private", "--ca-bundle", str(ca_file)]
    staged = runner.invoke(app, ["stage", str(index), *common, "--json"], env=env)
    assert staged.exit_code == 0, staged.output
    report = json.loads(staged.stdout)
    assert (report["staged"], report["uploaded_files"], report["invalid"]) == (55, 55, 0)
    assert report["uploaded_bytes"] == sum(len(b) for b in sources.values())
    assert len(puts) == 55
    auth_media.forget()
    again = runner.invoke(app, ["stage", str(index), *common, "--json"], env=env)
    assert again.exit_code == 0, again.output
    assert (json.loads(again.stdout)["already_staged"], len(puts)) == (55, 55)
    assert auth_media.asked == []  # the ledger knew every URL's object: nothing fetched
    server = sandboxes.start(fetch_media=True, media_allow_private=True, media_digest=True)
    sent = runner.invoke(app, ["run", str(index), *common, "--base-url", server.base_url], env=env)
    assert sent.exit_code == 0, sent.output
    assert len(puts) == 55 and server.store.count() == 55
    text = runner.invoke(app, ["stage", str(index), *common], env=env)
    assert "55 already staged" in text.output
    fresh = [*common[:4], "--ledger", str(tmp_path / "f.sqlite"), *common[6:]]
    shown = runner.invoke(app, ["run", str(index), *fresh, "--base-url", server.base_url], env=env)
    assert "staged 0 files (0.0 MB), 55 already staged" in shown.output


def test_stage_to_s3_goes_through_the_commands_proxy(
    s3_env: S3Server,
    proxy: ProxyPy,
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`stage --proxy` uploads through the proxy to a store only the proxy can resolve."""
    port = s3_env.endpoint.rsplit(":", 1)[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://test:{port}")  # `test`: only the proxy knows it
    (tmp_path / "a.mp3").write_bytes(recording(1))
    index = tmp_path / "m.csv"
    index.write_text(HEADER + "CALL,Call a,dialer,a,a.mp3\n")
    args = ["stage", str(index), "--stage-to", f"s3://{BUCKET}/proxied", "--proxy", proxy.url]
    staged = runner.invoke(app, [*args, "--ledger", str(tmp_path / "l.sqlite"), "--json"])
    assert staged.exit_code == 0, staged.output
    assert json.loads(staged.stdout)["uploaded_files"] == 1
    assert any(line.startswith(f"PUT test:{port}/{BUCKET}/proxied/") for line in proxy.requests())


def test_validate_check_media_asks_credentialed_hosts_with_their_credentials(
    auth_media: AuthMediaHost,
    runner: CliRunner,
    ca_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Validate --check-media asks as staging would fetch: right credentials pass, wrong fail."""
    (tmp_path / "a.mp3").write_bytes(b"ID3")
    url = auth_media.add("/basic/check.mp3", recording(7))
    index = tmp_path / "index.csv"
    index.write_text(HEADER + f"CALL,A,d,a,a.mp3\nCALL,B,d,b,{url}\n")
    config = tmp_path / "c.yaml"
    config.write_text(
        "media:\n  auth:\n    - host: localhost\n"
        "      basic: {user_env: TW_SID, password_env: TW_TOKEN}\n"
    )
    args = ["validate", str(index), "--config", str(config), "--check-media", "--json"]
    args += ["--stage-to", f"s3://{BUCKET}/v", "--media-allow-private", "--ca-bundle", str(ca_file)]
    monkeypatch.chdir(tmp_path)  # the ledger that caches good checks
    auth_media.forget()
    good = runner.invoke(app, args, env={"TW_SID": USER, "TW_TOKEN": PASSWORD})
    assert good.exit_code == 0, good.output
    assert [a.credentialed for a in auth_media.asked] and all(
        a.credentialed for a in auth_media.asked
    )
    assert [a.method for a in auth_media.asked if a.method == "PUT"] == []
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")  # no cached good check
    bad = runner.invoke(app, args, env={"TW_SID": USER, "TW_TOKEN": "wrong-password-x"})
    assert bad.exit_code == 1
    assert "401" in bad.stdout and PASSWORD not in bad.stdout


def test_check_media_and_a_byte_cap_with_staging(
    s3_env: S3Server, sandboxes: Sandboxes, runner: CliRunner, tmp_path: Path
) -> None:
    """--check-media leaves staged rows to staging; --stage-bps passes every byte through."""
    (tmp_path / "a.mp3").write_bytes(recording(3))
    index = tmp_path / "index.csv"
    index.write_text(HEADER + "CALL,A,d,a,a.mp3\n")
    server = sandboxes.start(fetch_media=True, media_allow_private=True, media_digest=True)
    args = ["run", str(index), "--base-url", server.base_url, "--json", "--check-media"]
    args += ["--stage-to", f"s3://{BUCKET}/capped", "--stage-bps", "1M", "--media-allow-private"]
    args += ["--ledger", str(tmp_path / "l.sqlite")]
    result = runner.invoke(app, args, env={"AE_API_TOKEN": SANDBOX_TOKEN})
    assert result.exit_code == 0, result.output
    fetched = httpx.get(server.base_url.removesuffix("/api") + "/_sandbox/media").json()
    assert fetched["a"]["sha256"] == hashlib.sha256(recording(3)).hexdigest()
