"""``ae-import doctor``: passes against the sandbox; each misconfiguration fails with its fix."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import trustme
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.ledger.lock import RunLock
from ae_import.operations.doctor import Check, run_checks
from ae_import.sandbox import SandboxServer, SandboxSettings
from tests.helpers import SANDBOX_TOKEN, Sandboxes, Writer
from tests.helpers.httpthread import serving
from tests.helpers.s3server import BUCKET, S3Server, s3, s3_env

__all__ = ["s3", "s3_env"]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in tmp_path (the default ledger goes there), with no AE_* settings from outside."""
    monkeypatch.chdir(tmp_path)
    for name in ("AE_API_TOKEN", "AE_IMPORT_BASE_URL", "AE_IMPORT_TOKEN_FILE", "AE_IMPORT_JSON"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def doctor(runner: CliRunner, *args: str, token: str | None = SANDBOX_TOKEN) -> Any:
    """Run ae-import doctor with AE_API_TOKEN set to ``token``."""
    env = {"AE_API_TOKEN": token} if token is not None else {}
    return runner.invoke(app, ["doctor", *args], env=env)


def rows(result: Any) -> dict[str, dict[str, str]]:
    """Return a --json doctor result's checks by name."""
    return {check["name"]: check for check in json.loads(result.stdout)["checks"]}


def test_doctor_passes_against_the_sandbox(runner: CliRunner, sandbox: Any, here: Path) -> None:
    """Every check passes against a running sandbox: exit 0, and the POST created nothing."""
    result = doctor(runner, "--base-url", sandbox.base_url)
    assert result.exit_code == 0, result.stdout
    assert result.stdout.endswith("doctor: every check passed\n")
    result = doctor(runner, "--base-url", sandbox.base_url, "--json")
    checks = rows(result)
    assert {name: c["status"] for name, c in checks.items()} == {
        "config": "ok",
        "settings": "ok",
        "base URL": "ok",
        "token": "ok",
        "proxy": "ok",
        "DNS": "ok",
        "TLS": "skip",
        "route + token": "ok",
        "clock": "ok",
        "ledger": "ok",
    }
    assert checks["route + token"]["detail"].endswith("refused with 422, as it should be")
    assert json.loads(result.stdout)["exit_code"] == 0
    assert sandbox.store.count() == 0
    assert SANDBOX_TOKEN not in result.stdout


def test_wrong_base_url_says_it_should_end_in_api(
    runner: CliRunner, sandbox: Any, here: Path
) -> None:
    """A base URL without /api: the route answers 404; exit 1 with the fix."""
    wrong = sandbox.base_url.removesuffix("/api")
    result = doctor(runner, "--base-url", wrong, "--json")
    assert result.exit_code == 1
    check = rows(result)["route + token"]
    assert check == {
        "name": "route + token",
        "status": "fail",
        "detail": f"no Create engagement route at {wrong}/v2/engagements (404)",
        "fix": "check --base-url; it should end in /api",
    }


def test_wrong_token_names_the_token(runner: CliRunner, sandbox: Any, here: Path) -> None:
    """A token the server refuses: 401, the line names the token, and never shows it."""
    result = doctor(runner, "--base-url", sandbox.base_url, "--json", token="not-the-token-123")
    assert result.exit_code == 1
    check = rows(result)["route + token"]
    assert check["detail"] == f"the token was refused (401) by {sandbox.base_url}/v2/engagements"
    assert check["fix"].startswith("check AE_API_TOKEN or --token-file")
    assert "not-the-token-123" not in result.stdout + result.stderr


def test_token_without_the_scope(runner: CliRunner, sandboxes: Sandboxes, here: Path) -> None:
    """The read-only token: 403 names the engagements:write scope."""
    server = sandboxes.start(readonly_token="read-only-1")
    result = doctor(runner, "--base-url", server.base_url, "--json", token="read-only-1")
    assert rows(result)["route + token"]["detail"] == (
        "the token lacks the engagements:write scope (403)"
    )


@pytest.fixture
def tls_sandbox(tmp_path: Path) -> Iterator[tuple[SandboxServer, Path]]:
    """Yield an https sandbox whose certificate a throwaway CA signed, and that CA's PEM."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    certfile, keyfile, bundle = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.private_key_pem.write_to_path(str(keyfile))
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    ca.cert_pem.write_to_path(str(bundle))
    server = SandboxServer(SandboxSettings(token=SANDBOX_TOKEN), tls=(certfile, keyfile))
    server.start()
    try:
        yield server, bundle
    finally:
        server.stop()


def test_untrusted_certificate_says_ca_bundle(
    runner: CliRunner, tls_sandbox: tuple[SandboxServer, Path], here: Path
) -> None:
    """A certificate from an unknown CA fails TLS with the --ca-bundle fix; the bundle passes."""
    server, bundle = tls_sandbox
    result = doctor(runner, "--base-url", server.base_url, "--json")
    assert result.exit_code == 1
    checks = rows(result)
    assert checks["TLS"] == {
        "name": "TLS",
        "status": "fail",
        "detail": "the certificate of 127.0.0.1 is not trusted "
        "(unable to get local issuer certificate); trusted: system store + certifi",
        "fix": "if a proxy re-signs traffic, pass its CA with --ca-bundle",
    }
    assert checks["route + token"]["status"] == "skip"
    trusted = doctor(runner, "--base-url", server.base_url, "--ca-bundle", str(bundle), "--json")
    assert trusted.exit_code == 0, trusted.stdout
    assert rows(trusted)["TLS"]["detail"] == (
        f"certificate trusted (system store + certifi + --ca-bundle={bundle})"
    )


def test_exact_output_without_a_token_or_a_usable_base_url(runner: CliRunner, here: Path) -> None:
    """No token, a plain-http public base URL: the whole table, exit 1, nothing sent."""
    result = doctor(runner, "--base-url", "http://example.com/api", token=None)
    assert result.exit_code == 1
    assert result.stderr == ""
    bar = "━" * 14 + "╇" + "━" * 8 + "╇" + "━" * 81 + "╇" + "━" * 54

    def line(check: str, result: str, detail: str, fix: str = "", cut: str = "┃") -> str:
        """Return one table line: columns of 13, 6 and 79 characters, then the fix."""
        return f"{check:<13} {cut} {result:<6} {cut} {detail:<79} {cut}" + (
            f" {fix}" if fix else ""
        )

    skipped = "needs a usable base URL"
    assert result.stdout.splitlines() == [
        line("check", "result", "detail", "fix"),
        bar,
        line("config", "ok", "no --config: defaults", cut="│"),
        line("settings", "ok", "every option resolves", cut="│"),
        line(
            "base URL",
            "fail",
            "--base-url: plain http:// is refused for example.com (the token would travel in",
            "give --base-url (or api.base_url) as https://HOST/api",
            cut="│",
        ),
        line("", "", "clear); use https://, or http:// only to a loopback host", cut="│"),
        line(
            "token",
            "fail",
            "no API token: set AE_API_TOKEN, or pass --token-file PATH (a token is never",
            "set AE_API_TOKEN, or --token-file PATH (chmod 600)",
            cut="│",
        ),
        line("", "", "taken on the command line)", cut="│"),
        line("proxy", "ok", "none: direct (no --proxy, run.proxy or *_PROXY variable)", cut="│"),
        line("DNS", "skip", skipped, cut="│"),
        line("TLS", "skip", skipped, cut="│"),
        line("route + token", "skip", skipped, cut="│"),
        line("clock", "skip", skipped, cut="│"),
        line("ledger", "ok", "ae-import-ledger.sqlite will be created; not held by a run", cut="│"),
        "doctor: 2 of 10 checks failed",
    ]


def test_token_file_readable_by_others(
    runner: CliRunner, sandbox: Any, here: Path, write: Writer
) -> None:
    """A token file others can read fails the token check with the chmod to run."""
    path = write("token", SANDBOX_TOKEN)
    path.chmod(0o644)
    result = doctor(
        runner, "--base-url", sandbox.base_url, "--token-file", str(path), "--json", token=None
    )
    assert result.exit_code == 1
    assert rows(result)["token"]["detail"] == (
        f"{path}: the token file can be read by group or others; run: chmod 600 {path}"
    )


def test_clock_skew_past_five_minutes_fails(sandbox: Any, here: Path) -> None:
    """A machine clock 10 minutes ahead of the server's Date fails the clock check."""
    env = {"AE_API_TOKEN": SANDBOX_TOKEN}
    found = run_checks(None, {"base_url": sandbox.base_url}, env, clock=lambda: time.time() + 600)
    clock = next(c for c in found if c.name == "clock")
    assert clock.status == "fail"
    assert clock.detail.endswith("s ahead of the server's clock (more than 300 s)")
    assert clock.fix == "sync this machine's clock (NTP: timedatectl set-ntp true)"
    assert 598 <= int(clock.detail.split(" ", 1)[0]) <= 601


def test_ledger_held_by_another_run_fails(runner: CliRunner, sandbox: Any, here: Path) -> None:
    """A ledger whose lock another run holds: the ledger check fails naming the holder."""
    with RunLock(here / "ae-import-ledger.sqlite"):
        result = doctor(runner, "--base-url", sandbox.base_url, "--json")
    assert result.exit_code == 1
    check = rows(result)["ledger"]
    assert check["detail"].startswith("ae-import-ledger.sqlite: in use by another ae-import run")
    assert check["fix"] == "wait for that run to end"


def test_manifest_references_are_signed_and_fetched(
    runner: CliRunner, sandbox: Any, here: Path, write: Writer, s3_env: S3Server
) -> None:
    """--manifest with s3:// references: credentials found, the first object answers as audio."""
    lines = [f"s3:{i},s3://{BUCKET}/calls/2024/call-1.mp3\n" for i in range(3)]
    manifest = write("m.csv", "external_id,media_url\n" + "".join(lines))
    result = doctor(runner, "--base-url", sandbox.base_url, "--manifest", str(manifest), "--json")
    assert result.exit_code == 0, result.stdout
    checks = rows(result)
    assert checks["manifest"]["detail"] == "3 rows read: 3 s3:// references"
    assert checks["cloud s3"]["detail"] == (
        f"credentials from env (profile default), region us-east-1, endpoint {s3_env.endpoint}; "
        f"s3://{BUCKET}/calls/2024/call-1.mp3 answers with audio or video"
    )
    assert "X-Amz-Signature" not in result.stdout


def test_manifest_reference_to_a_missing_object_fails(
    runner: CliRunner,
    sandbox: Any,
    here: Path,
    write: Writer,
    s3_env: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A missing object fails (403, as S3 answers); no credentials fails with how to get some."""
    manifest = write("m.csv", f"external_id,media_url\na,s3://{BUCKET}/nope.mp3\n")
    args = ("--base-url", sandbox.base_url, "--manifest", str(manifest), "--json")
    check = rows(doctor(runner, *args))["cloud s3"]
    assert (check["status"], check["detail"]) == (
        "fail",
        f"s3://{BUCKET}/nope.mp3: the signed URL answers 403",
    )
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    result = doctor(runner, *args)
    check = rows(result)["cloud s3"]
    assert check["detail"].startswith("s3: no AWS credentials found")
    assert check["fix"].startswith("set AWS_PROFILE")
    assert result.exit_code == 1


def test_check_rows_serialise() -> None:
    """A Check is a plain row for --json."""
    assert Check("clock", "ok", "fine").as_dict() == {
        "name": "clock",
        "status": "ok",
        "detail": "fine",
        "fix": "",
    }


def test_doctor_leaves_no_lock_file_behind(
    runner: CliRunner, sandbox: Any, here: Path, write: Writer
) -> None:
    """Doctor writes nothing: no lock for a ledger to be created, or beside a foreign one."""
    doctor(runner, "--base-url", sandbox.base_url)
    assert sorted(p.name for p in here.iterdir()) == []
    import sqlite3

    foreign = here / "other.sqlite"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE notes (x)")
    db.commit()
    db.close()
    result = doctor(runner, "--base-url", sandbox.base_url, "--ledger", str(foreign), "--json")
    assert rows(result)["ledger"]["status"] == "fail"
    assert sorted(p.name for p in here.iterdir()) == ["other.sqlite"]


class _Accepting(BaseHTTPRequestHandler):
    """Answers any POST with 201 and an engagement: a server that checks nothing."""

    def do_POST(self) -> None:
        """Accept."""
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"id": "eng_1"}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


def test_a_201_to_the_empty_post_warns_that_an_engagement_may_exist(
    runner: CliRunner, here: Path
) -> None:
    """A server that accepts {}: doctor fails the route and says an engagement may be created."""
    with serving(_Accepting) as url:
        check = rows(doctor(runner, "--base-url", url, "--json"))["route + token"]
    assert check["status"] == "fail"
    assert "an engagement may have been created by this check" in check["detail"]
