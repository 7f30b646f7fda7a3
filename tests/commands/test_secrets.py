"""Secrets: a recognisable token and presigned signatures never reach any output or file.

Every command runs with AE_IMPORT_DEBUG=1, against a good server, a server that
refuses the token, a closed port and a proxy that resets connections; and through a
real HTTP proxy that asks for a password (given right, wrong, and in a variable). Then every
byte written (stdout, stderr, log files, the ledger with its WAL, the exports, the
lock file) is searched for the token and the signature.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote

import pytest
import trustme

from ae_import.sandbox import SandboxServer, SandboxSettings
from ae_import.sandbox.faults import FaultPlan, FaultProxy
from tests.helpers import Sandboxes
from tests.helpers.httpthread import serving
from tests.helpers.mediaserver import BEARER as MEDIA_BEARER
from tests.helpers.mediaserver import PASSWORD as MEDIA_PASSWORD
from tests.helpers.mediaserver import SECRETS as MEDIA_SECRETS
from tests.helpers.mediaserver import USER as MEDIA_USER
from tests.helpers.mediaserver import AuthMediaHost
from tests.helpers.proxies import ProxyPy, issue
from tests.helpers.s3server import BUCKET as S3_BUCKET
from tests.helpers.s3server import S3Server, s3, s3_env
from tests.helpers.secrets import (
    NEEDLES,
    PROXY_PASSWORD,
    SIGNATURE,
    TOKEN,
    URL,
    Collector,
    closed_port,
    leaks,
    manifest,
)

# Heavy: the secrets sweep: every command, child processes, real servers.
# Run by scripts/check.py with the slow tests, not by plain pytest.
pytestmark = pytest.mark.slow

__all__ = ["s3", "s3_env"]


def test_no_command_leaks_the_token_or_a_signature(
    sandboxes: Sandboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate, run (every output mode), status and export: zero hits anywhere."""
    monkeypatch.chdir(tmp_path)
    good = sandboxes.start(token=TOKEN)
    path = str(manifest(tmp_path / "m.csv"))
    run = Collector(tmp_path)
    for args in (["--json", "--show-requests", "10"], ["--show-requests", "10"]):
        run("validate", path, *args)
    base = ["run", path, "--base-url", good.base_url]
    run(*base, "--dry-run")
    run(*base, "--log-file", "text.log", "--max-rows", "2")
    run(*base, "--log-file", "json.log", "--log-format", "json", "--json")
    run(*base, "--retry-failed", "--log-file", "text.log")
    for args in ([], ["--json"]):
        run("status", *args)
    for args in (
        [],
        ["--format", "jsonl"],
        ["--as-manifest"],
        ["--as-manifest", "--format", "jsonl"],
        ["--as-manifest", "-o", "fix.csv"],
        ["-o", "rows.csv"],
    ):
        run("export", *args)
    assert good.store.count() == 6
    assert (tmp_path / "fix.csv").exists() and (tmp_path / "text.log").exists()
    assert leaks(run, tmp_path) == []


def test_failures_of_the_http_layer_leak_nothing(
    sandboxes: Sandboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused token, a closed port and connection resets: messages and logs stay clean."""
    monkeypatch.chdir(tmp_path)
    path = str(manifest(tmp_path / "m.csv"))
    run = Collector(tmp_path)
    other = sandboxes.start(token="the-right-token")
    refused = run(
        "run", path, "--base-url", other.base_url, "--ledger", "a.sqlite", "--log-file", "a.log"
    )
    assert refused.exit_code == 3
    dead = f"http://127.0.0.1:{closed_port()}/api"
    closed = run(
        "run",
        path,
        "--base-url",
        dead,
        "--ledger",
        "b.sqlite",
        "--log-file",
        "b.log",
        "--max-attempts",
        "1",
        "--json",
    )
    assert closed.exit_code == 1
    good = sandboxes.start(token=TOKEN)
    port = int(good.base_url.rsplit(":", 1)[1].split("/")[0])
    plan = FaultPlan(rates={"reset-before": 0.3, "truncated": 0.3, "non-json": 0.3}, seed=4)
    with FaultProxy(("127.0.0.1", port), plan) as proxy:
        run(
            "run",
            path,
            "--base-url",
            proxy.base_url,
            "--ledger",
            "c.sqlite",
            "--log-file",
            "c.log",
            "--log-format",
            "json",
            "--max-attempts",
            "1",
        )
        assert sum(proxy.injected.values()) > 0
    for ledger in ("a.sqlite", "b.sqlite", "c.sqlite"):
        run("status", "--ledger", ledger)
        run("export", "--ledger", ledger, "--as-manifest")
    assert "network" in (tmp_path / "b.log").read_text()
    assert leaks(run, tmp_path) == []


def test_entry_point_in_a_child_process_leaks_nothing(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """The real entry point, with debug on and a run that fails mid-way: clean stderr."""
    good = sandboxes.start(token=TOKEN)
    path = str(manifest(tmp_path / "m.csv"))
    env = {**os.environ, "AE_API_TOKEN": TOKEN, "AE_IMPORT_DEBUG": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "ae_import", "run", path, "--base-url", good.base_url],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1
    for needle in NEEDLES:
        assert needle not in done.stdout + done.stderr
        for file in tmp_path.glob("ae-import-ledger.sqlite*"):
            assert needle not in file.read_bytes()


# How a server echoes a presigned URL back: without a scheme, and JSON-escaped in its text.
SCHEMELESS = URL.format(id=0).removeprefix("https://")
ESCAPED = URL.format(id=1).replace("/", "\\/")


class _Refuse422(BaseHTTPRequestHandler):
    """Answers every POST with a 422 whose detail and errors echo the presigned URLs."""

    def do_POST(self) -> None:
        """Read the request; answer 422 with the URLs in detail and errors[].message."""
        self.rfile.read(int(self.headers.get("content-length", 0)))
        problem = {
            "type": "https://errors.example.com/validation_error",
            "title": "Unprocessable",
            "status": 422,
            "detail": f"media_url could not be fetched: {SCHEMELESS} (body: {{{ESCAPED}}})",
            "errors": [
                {"field": "media_url", "message": f"unreachable: {SCHEMELESS}"},
                {"field": "media_url", "message": f'{{"url": "{ESCAPED}"}}'},
            ],
            "request_id": f"req-1 {SCHEMELESS}",
        }
        body = json.dumps(problem).encode()
        self.send_response(422)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """Yield the base URL of a 127.0.0.1 server that answers every create with that 422."""
    with serving(_Refuse422) as base_url:
        yield base_url


def test_signed_urls_echoed_in_a_422_leak_nowhere(
    refusing_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 422 echoing scheme-less and JSON-escaped signed URLs: no signature in any output, file."""
    monkeypatch.chdir(tmp_path)
    assert SIGNATURE in SCHEMELESS and "https:\\/\\/" in ESCAPED
    path = str(manifest(tmp_path / "m.csv"))
    run = Collector(tmp_path)
    base = ["run", path, "--base-url", refusing_server]
    first = run(*base, "--log-file", "text.log")
    assert first.exit_code == 1, first.output
    run(*base, "--retry-failed", "--log-file", "json.log", "--log-format", "json", "--json")
    for args in ([], ["--json"]):
        run("status", *args)
    shown = run("export", "--format", "jsonl").stdout
    for args in (["--as-manifest"], ["--as-manifest", "--format", "jsonl"]):
        run("export", *args)
    assert "media.example-cdn.com/rec/0.mp3?<redacted>" in shown
    assert "media.example-cdn.com\\\\/rec\\\\/1.mp3?<redacted>" in shown
    assert "media.example-cdn.com/rec/0.mp3?<redacted>" in (tmp_path / "text.log").read_text()
    assert (tmp_path / "ae-import-ledger.sqlite").exists()
    assert leaks(run, tmp_path) == []


class _EchoToken(BaseHTTPRequestHandler):
    """Answers every create with a 422 (or a 503) that echoes the Authorization header."""

    def do_POST(self) -> None:
        """Refuse, quoting the header back in the detail, the errors and the request id."""
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        header = self.headers.get("Authorization", "")
        status = self.server.status  # type: ignore[attr-defined]
        problem = {
            "type": "urn:problem:debug",
            "detail": f"header was {header}",
            "errors": [{"field": "auth", "message": header}],
            "request_id": f"req {header}",
        }
        body = json.dumps(problem).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("X-Request-Id", f"rid {header}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.mark.parametrize("status", [422, 503])
def test_a_server_echoing_the_token_leaks_it_nowhere(
    status: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that quotes the Authorization header back: the token reaches no output or file."""
    monkeypatch.chdir(tmp_path)
    with serving(_EchoToken, status=status) as base_url:
        run = Collector(tmp_path)
        path = str(manifest(tmp_path / "m.csv"))
        args = ["run", path, "--base-url", base_url, "--max-attempts", "1", "--log-file", "t.log"]
        run(*args)
        run("status")
        run("export")
        run("export", "--format", "jsonl")
        assert "header was Bearer <redacted>" in run("export").stdout
        assert leaks(run, tmp_path) == []


SLASHED = "sk-live/ECHO+token=9f8e7d6c"  # a token with the signs encoders escape


class _EchoEncoded(BaseHTTPRequestHandler):
    """Answers 422 quoting the token in the encoding the test names."""

    def do_POST(self) -> None:
        """Refuse, echoing the token escaped, percent-encoded, in base64 or upper-cased."""
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        form = self.server.form  # type: ignore[attr-defined]
        shown = {
            "slash": json.dumps(token).replace("/", "\\/")[1:-1],
            "dotnet": token.replace("+", "\\u002B").replace("=", "\\u003D"),
            "percent": quote(token, safe=""),
            "base64": base64.b64encode(f"Bearer {token}".encode()).decode(),
            "upper": token.upper(),
        }[form]
        body = (
            '{"type": "x", "detail": "got ' + shown + '", "errors": [{"message": "' + shown + '"}]}'
        ).encode()
        self.send_response(422)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.mark.parametrize("form", ["slash", "dotnet", "percent", "base64", "upper"])
def test_the_token_is_scrubbed_however_an_answer_encodes_it(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Escaped, percent-encoded, base64 or upper-cased: the token reaches no output or file."""
    monkeypatch.chdir(tmp_path)
    with serving(_EchoEncoded, form=form) as base_url:
        run = Collector(tmp_path)
        path = str(manifest(tmp_path / "m.csv"))
        args = ["run", path, "--base-url", base_url, "--max-attempts", "1", "--log-file", "t.log"]
        run(*args, token=SLASHED)
        run("status", token=SLASHED)
        run("export", token=SLASHED)
        texts = [*run.outputs]
        texts += [f.read_bytes().decode("latin-1") for f in tmp_path.rglob("*") if f.is_file()]
        needles = ["ECHO+token", "ECHO\\u002Btoken", "echo%2btoken", "ECHO+TOKEN"]
        needles.append(base64.b64encode(f"Bearer {SLASHED}".encode()).decode()[12:30])
        found = [n for n in needles for text in texts if n.lower() in text.lower()]
        assert found == []
        assert "<redacted>" in run("export", token=SLASHED).stdout


def test_proxy_credentials_leak_nowhere(
    auth_proxy: ProxyPy,
    test_ca: trustme.CA,
    ca_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Proxy user:password in --proxy (no scheme) or HTTPS_PROXY, right or wrong: never shown."""
    monkeypatch.chdir(tmp_path)
    certs = issue(test_ca, tmp_path, "api.test")
    good = SandboxServer(SandboxSettings(token=TOKEN), tls=certs)
    base_url = good.start().replace("127.0.0.1", "api.test")
    try:
        path = str(manifest(tmp_path / "m.csv"))
        run = Collector(tmp_path)
        given = auth_proxy.url_with_auth().removeprefix("http://")
        trust = ["--base-url", base_url, "--ca-bundle", str(ca_file)]
        base = ["run", path, *trust, "--log-file", "run.log"]
        first = run(*base, "--proxy", given, "--json", "--max-rows", "2")
        assert first.exit_code == 0, first.output
        monkeypatch.setenv("HTTPS_PROXY", auth_proxy.url_with_auth())
        run(*base, "--log-file", "json.log", "--log-format", "json")
        wrong = auth_proxy.url_with_auth().replace(PROXY_PASSWORD, "not-" + PROXY_PASSWORD[::-1])
        refused = run(*base, "--proxy", wrong, "--ledger", "w.sqlite", "--max-attempts", "1")
        assert refused.exit_code == 1
        assert "407" in refused.stderr
        for args in (["--json"], ["--proxy", given], ["--proxy", "socks5://" + given]):
            run("doctor", *trust, *args)
        for args in ([], ["--json"]):
            run("status", *args)
        run("export", "--format", "jsonl")
        assert good.store.count() == 6
        assert f"CONNECT api.test:{base_url.split(':')[2].split('/')[0]} auth=True" in (
            auth_proxy.requests()
        )
    finally:
        good.stop()
    assert leaks(run, tmp_path) == []


def test_media_host_credentials_leak_nowhere(
    sandboxes: Sandboxes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ca_file: Path,
    s3_env: S3Server,
    auth_media: AuthMediaHost,
) -> None:
    """Staging with media.auth credentials (right, wrong, for a missing file): none written."""
    monkeypatch.chdir(tmp_path)
    good = sandboxes.start(token=TOKEN, fetch_media=True, media_allow_private=True)
    rows = [
        "type,title,source_system,external_id,media_url",
        f"CALL,A,tw,tw-1,{auth_media.add('/basic/leak-1.mp3', b'ID3' + bytes(300))}",
        f"CALL,B,tw,tw-2,https://localhost:{auth_media.port}/basic/none.mp3",
        f"CALL,C,gr,gr-1,https://127.0.0.1:{auth_media.port}/bearer/leak-2.mp3",
    ]
    auth_media.add("/bearer/leak-2.mp3", b"ID3" + bytes(400))
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "c.yaml").write_text(
        "media:\n  auth:\n    - host: localhost\n"
        "      basic: {user_env: TW_SID, password_env: TW_TOKEN}\n"
        "    - {host: 127.0.0.1, bearer_env: GRAPH}\n"
    )
    run = Collector(tmp_path)
    base = ["--config", "c.yaml", "--stage-to", f"s3://{S3_BUCKET}/leak", "--media-allow-private"]
    base += ["--ca-bundle", str(ca_file)]
    for password in ("wrong-password-1234", MEDIA_PASSWORD):
        monkeypatch.setenv("TW_SID", MEDIA_USER)
        monkeypatch.setenv("TW_TOKEN", password)
        monkeypatch.setenv("GRAPH", MEDIA_BEARER)
        run("validate", "m.csv", *base[:2], "--check-media", *base[2:])
        run("stage", "m.csv", *base, "--json")
        run("run", "m.csv", *base, "--base-url", good.base_url, "--log-file", "run.log")
    run("status")
    run("export")
    assert leaks(run, tmp_path) == []
    wrong = base64.b64encode(f"{MEDIA_USER}:wrong-password-1234".encode())
    needles = [*MEDIA_SECRETS, b"wrong-password-1234", wrong]
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "c.yaml"]
    said = [text.encode() for text in run.outputs]
    assert [n for n in needles for blob in written + said if n in blob] == []
