"""One TLS context: the system store and certifi, plus --ca-bundle and the CA variables."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
import truststore

from ae_import.errors import UsageError
from ae_import.net import trust_context
from tests.helpers import ROOT
from tests.helpers.proxies import MediaHost


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MediaHost, Path]]:
    """Serve https with a certificate from a CA of this module; yield it and the CA's PEM."""
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("trust")
    pem = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    server = MediaHost(ca, folder)
    try:
        yield server, pem
    finally:
        server.stop()


def handshake(context: ssl.SSLContext, port: int) -> bool:
    """Complete a TLS handshake with 127.0.0.1:port as media.test; raise if not trusted."""
    with (
        socket.create_connection(("127.0.0.1", port), 5) as sock,
        context.wrap_socket(sock, server_hostname="media.test"),
    ):
        return True


def test_the_default_is_the_system_store_and_certifi(host: tuple[MediaHost, Path]) -> None:
    """By pip's precedent: truststore + certifi; a private CA is not trusted by it."""
    server, _ = host
    trust = trust_context(env={})
    assert trust.describe() == "system store + certifi"
    assert type(trust.context).__module__.startswith("truststore")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(trust.context, server.port)


@pytest.mark.parametrize("name", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_ca_bundle_and_the_request_variables_add_trust(
    host: tuple[MediaHost, Path], name: str
) -> None:
    """--ca-bundle, REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE: the private CA is trusted too."""
    server, pem = host
    assert handshake(trust_context(pem, env={}).context, server.port)
    trust = trust_context(env={name: str(pem)})
    assert handshake(trust.context, server.port)
    assert trust.extra == (f"{name}={pem}",)


def test_the_option_wins_over_requests_ca_bundle(
    host: tuple[MediaHost, Path], tmp_path: Path
) -> None:
    """With --ca-bundle, REQUESTS_CA_BUNDLE is not read (requests' and pip's order)."""
    _, pem = host
    trust = trust_context(pem, env={"REQUESTS_CA_BUNDLE": str(tmp_path / "missing.pem")})
    assert trust.extra == (f"--ca-bundle={pem}",)


def test_the_context_is_built_once(host: tuple[MediaHost, Path]) -> None:
    """The same settings give the very same context: every client shares it."""
    _, pem = host
    assert trust_context(pem, env={}) is trust_context(str(pem), env={})
    assert trust_context(pem, env={}) is not trust_context(pem, False, env={})


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_ssl_cert_file_and_dir_are_loaded_where_the_os_is_asked(
    host: tuple[MediaHost, Path],
    tmp_path: Path,
    platform: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MacOS and Windows (faked here): SSL_CERT_FILE and SSL_CERT_DIR are loaded by us."""
    server, pem = host
    monkeypatch.setattr(sys, "platform", platform)
    trust = trust_context(env={"SSL_CERT_FILE": str(pem)})
    assert handshake(trust.context, server.port)
    assert trust.extra == (f"SSL_CERT_FILE={pem}",)
    folder = tmp_path / "certs"
    folder.mkdir()
    shutil.copy(pem, folder / "corp.pem")
    assert handshake(trust_context(env={"SSL_CERT_DIR": str(folder)}).context, server.port)


def test_certifi_only_still_reads_ssl_cert_file(host: tuple[MediaHost, Path]) -> None:
    """--no-system-certs keeps certifi, and SSL_CERT_FILE is added to it."""
    server, pem = host
    trust = trust_context(system_certs=False, env={"SSL_CERT_FILE": str(pem)})
    assert trust.describe() == f"certifi + SSL_CERT_FILE={pem}"
    assert handshake(trust.context, server.port)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(trust_context(system_certs=False, env={}).context, server.port)


def test_openssl_applies_ssl_cert_file_to_the_system_store_on_linux(
    host: tuple[MediaHost, Path],
) -> None:
    """Linux: a fresh process with SSL_CERT_FILE set trusts the CA through the system store."""
    if sys.platform != "linux":
        pytest.skip("OpenSSL reads SSL_CERT_FILE for the system store on Linux only")
    server, pem = host
    code = (
        "import socket; from ae_import.net import trust_context; c = trust_context().context; "
        f"s = socket.create_connection(('127.0.0.1', {server.port})); "
        "c.wrap_socket(s, server_hostname='media.test'); print('ok')"
    )
    env = {"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(pem), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("REQUESTS_CA_BUNDLE", None, "no such file or directory"),
        ("SSL_CERT_FILE", "not a certificate\n", "is not a PEM certificate bundle"),
    ],
)
def test_a_bad_source_is_one_line_naming_it(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    """A missing or broken CA file: a usage error naming the variable and the path."""
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError) as caught:
        trust_context(system_certs=False, env={name: str(path)})
    assert caught.value.message.startswith(f"{name}: {path}")
    assert message in caught.value.message


def test_the_bundle_openssl_reads_itself_is_not_read_again(
    host: tuple[MediaHost, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linux: REQUESTS_CA_BUNDLE naming OpenSSL's own bundle is named, trusted, not reloaded."""
    if sys.platform != "linux":
        pytest.skip("the system store is OpenSSL's own on Linux only")
    server, pem = host
    bundle = tmp_path / "system.pem"  # a path of this test's own: the context cache misses
    shutil.copy(pem, bundle)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    read: list[object] = []
    real = truststore.SSLContext.load_verify_locations

    def counting(self: truststore.SSLContext, cafile: object = None, *args: object) -> None:
        """Note the file read, then read it."""
        read.append(cafile)
        real(self, cafile, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(truststore.SSLContext, "load_verify_locations", counting)
    trust = trust_context(env={"REQUESTS_CA_BUNDLE": str(bundle), "SSL_CERT_FILE": str(bundle)})
    assert handshake(trust.context, server.port)
    assert trust.extra == (f"REQUESTS_CA_BUNDLE={bundle}", f"SSL_CERT_FILE={bundle}")
    assert str(bundle) not in read
    assert len(read) == 1  # certifi's
