"""The trust as one PEM file for the cloud SDKs: each certificate once, nothing else, kept safe."""

from __future__ import annotations

import os
import ssl
import sys
import tempfile
from pathlib import Path

import pytest
import trustme

from ae_import.net import trust_context
from ae_import.net.bundle import bundle_path, certificates_in


@pytest.fixture(autouse=True)
def _own_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give each test a temporary directory of its own, where the file's folder is made."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def der(ca: trustme.CA) -> bytes:
    """Return the CA's certificate as DER."""
    return ssl.PEM_cert_to_DER_cert(ca.cert_pem.bytes().decode("ascii"))


def test_a_ca_file_with_a_bom_and_a_non_ascii_comment_is_kept(tmp_path: Path) -> None:
    """A CA file with a BOM and a comment in UTF-8 is in the file: only its blocks are read."""
    ca = trustme.CA()
    path = tmp_path / "corp.pem"
    path.write_bytes("\ufeff# Issuer: Société Générale\n".encode() + ca.cert_pem.bytes())
    made = bundle_path([str(path)])
    assert made is not None
    assert certificates_in(made) == [der(ca)]


def test_a_private_key_beside_a_certificate_stays_out(tmp_path: Path) -> None:
    """A PEM holding a certificate and its key gives the certificate alone."""
    ca = trustme.CA()
    issued = ca.issue_cert("store.test")
    path = tmp_path / "both.pem"
    path.write_bytes(issued.private_key_pem.bytes() + ca.cert_pem.bytes())
    made = bundle_path([str(path)])
    assert made is not None
    text = Path(made).read_text("ascii")
    assert "PRIVATE KEY" not in text and certificates_in(made) == [der(ca)]


def test_each_certificate_is_written_once(tmp_path: Path) -> None:
    """A folder holding the same certificate twice, and a file repeating it, give it once."""
    ca = trustme.CA()
    folder = tmp_path / "certs"
    folder.mkdir()
    for name in ("a.pem", "b.0"):
        ca.cert_pem.write_to_path(str(folder / name))
    made = bundle_path([str(folder), str(folder / "a.pem")])
    assert made is not None and certificates_in(made) == [der(ca)]


def test_the_file_is_reused_rewritten_when_gone_or_changed(tmp_path: Path) -> None:
    """The same content gives the same file; one removed or altered is written again."""
    ca = trustme.CA()
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    first = bundle_path([str(path)])
    assert first is not None and bundle_path([str(path)]) == first
    os.unlink(first)
    assert bundle_path([str(path)]) == first and certificates_in(first) == [der(ca)]
    Path(first).write_text(trustme.CA().cert_pem.bytes().decode("ascii"))  # planted
    assert bundle_path([str(path)]) == first and certificates_in(first) == [der(ca)]
    if hasattr(os, "getuid"):
        assert Path(first).stat().st_mode & 0o077 == 0


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_folder_open_to_others_is_not_used(tmp_path: Path) -> None:
    """A folder others may write to is no place for trust: no file, the SDKs keep their own."""
    folder = tmp_path / f"ae-import-{os.getuid()}"
    folder.mkdir()
    folder.chmod(0o777)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    assert bundle_path([str(tmp_path / "ca.pem")]) is None


def test_the_windows_store_is_written_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows the store's roots (as ssl.enum_certificates lists them) are in the file."""
    ca = trustme.CA()
    listed = {"ROOT": [(der(ca), "x509_asn", True)], "CA": [(b"\x01", "pkcs_7_asn", True)]}
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(ssl, "enum_certificates", listed.__getitem__, raising=False)
    made = bundle_path([], windows_store=True)
    assert made is not None and certificates_in(made) == [der(ca)]


def test_the_trust_file_holds_certifi_and_the_ca_bundle(ca_file: Path) -> None:
    """The trust's file holds certifi's roots and every --ca-bundle certificate."""
    import certifi

    made = trust_context(ca_file, env={}).bundle_file()
    assert made is not None
    found = set(certificates_in(made))
    assert set(certificates_in(str(ca_file))) <= found
    assert set(certificates_in(certifi.where())) <= found
