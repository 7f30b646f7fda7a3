"""TLS: verification is on by default (a trustme certificate is refused), --ca-bundle trusts it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from typer.testing import CliRunner

from ae_import.sandbox import SandboxServer, SandboxSettings
from tests.helpers import SANDBOX_TOKEN, Writer
from tests.helpers.cli import HEADER, invoke, line


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """Return a throwaway certificate authority."""
    return trustme.CA()


def https_sandbox(ca: trustme.CA, tmp: Path, *names: str) -> SandboxServer:
    """Start a sandbox serving https with a certificate from ``ca`` for ``names``."""
    cert = ca.issue_cert(*names)
    certfile, keyfile = tmp / f"{names[0]}-cert.pem", tmp / f"{names[0]}-key.pem"
    cert.private_key_pem.write_to_path(str(keyfile))
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    server = SandboxServer(SandboxSettings(token=SANDBOX_TOKEN), tls=(certfile, keyfile))
    server.start()
    return server


@pytest.fixture
def tls_server(ca: trustme.CA, tmp_path: Path) -> Iterator[SandboxServer]:
    """Yield an https sandbox whose certificate names 127.0.0.1."""
    server = https_sandbox(ca, tmp_path, "127.0.0.1", "localhost")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bundle(ca: trustme.CA, tmp_path: Path) -> Path:
    """Write the CA certificate to a PEM file; return its path."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def test_untrusted_certificate_stops_the_run_at_once(
    runner: CliRunner, tls_server: SandboxServer, cwd: Path, write: Writer
) -> None:
    """TLS is verified by default: an unknown CA stops the run after one attempt, exit 1."""
    assert tls_server.base_url.startswith("https://127.0.0.1:")
    path = write("m.csv", HEADER + "".join(line(f"t{i}") for i in range(20)))
    result = invoke(runner, ["run", str(path), "--base-url", tls_server.base_url, "--json"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "ae-import: stopped: the TLS certificate of 127.0.0.1 is not trusted "
        "(unable to get local issuer certificate); "
    )
    assert result.stderr.endswith("if a proxy re-signs traffic, pass its CA with --ca-bundle\n")
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["created"] == 0
    assert report["retryable"] >= 1
    assert tls_server.store.count() == 0


def test_ca_bundle_trusts_the_certificate(
    runner: CliRunner, tls_server: SandboxServer, bundle: Path, cwd: Path, write: Writer
) -> None:
    """--ca-bundle with the CA's PEM: the same run goes through over https."""
    path = write("m.csv", HEADER + line("a") + line("b"))
    result = invoke(
        runner,
        ["run", str(path), "--base-url", tls_server.base_url, "--ca-bundle", str(bundle), "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"] == 2
    assert sorted(tls_server.store.external_ids()) == ["a", "b"]


def test_certificate_for_another_host_is_refused(
    runner: CliRunner, ca: trustme.CA, bundle: Path, cwd: Path, write: Writer
) -> None:
    """A trusted CA but a certificate naming another host: refused (hostnames are checked)."""
    server = https_sandbox(ca, cwd, "api.example.org")
    try:
        path = write("m.csv", HEADER + line("a"))
        args = ["run", str(path), "--base-url", server.base_url, "--ca-bundle", str(bundle)]
        result = invoke(runner, args)
        assert result.exit_code == 1
        assert "the TLS certificate of 127.0.0.1 is not trusted (" in result.stderr
        assert "IP address mismatch" in result.stderr or "mismatch" in result.stderr
        assert server.store.count() == 0
    finally:
        server.stop()
