"""The trust as one PEM file for the cloud SDKs: each certificate once, nothing else, kept safe."""

from __future__ import annotations

import base64
import os
import ssl
import sys
import tempfile
from pathlib import Path

import pytest
import trustme

from ae_import.net import trust_context
from ae_import.net.bundle import bundle_path, certificates_in, system_sources


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
def test_our_folder_opened_to_others_is_closed_before_it_is_used(tmp_path: Path) -> None:
    """Our own folder, opened to others since, is closed (0700) before a file is trusted in it."""
    folder = tmp_path / f"ae-import-{os.getuid()}"
    folder.mkdir()
    folder.chmod(0o777)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    made = bundle_path([str(tmp_path / "ca.pem")])
    assert made is not None and Path(made).parent == folder
    assert folder.stat().st_mode & 0o077 == 0


@pytest.mark.skipif(
    not hasattr(os, "getuid") or os.getuid() != 0, reason="giving a folder away needs root"
)
def test_a_folder_of_another_user_is_passed_over_for_a_private_one(tmp_path: Path) -> None:
    """A folder someone else made under our name is not used: the file goes in a private one."""
    folder = tmp_path / f"ae-import-{os.getuid()}"
    folder.mkdir()
    os.chown(folder, 12345, 12345)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    made = bundle_path([str(tmp_path / "ca.pem")])
    assert made is not None and Path(made).parent != folder
    assert certificates_in(made) == [der(ca)] and list(folder.iterdir()) == []


def test_trusted_and_x509_certificate_blocks_are_kept(tmp_path: Path) -> None:
    """OpenSSL's TRUSTED CERTIFICATE (trust settings after it) and X509 CERTIFICATE forms count."""
    first, second = trustme.CA(), trustme.CA()
    trusted = der(first) + bytes.fromhex("3000")  # an empty trust-settings sequence after it
    text = "".join(
        f"-----BEGIN {label}-----\n{base64.encodebytes(body).decode()}-----END {label}-----\n"
        for label, body in (("TRUSTED CERTIFICATE", trusted), ("X509 CERTIFICATE", der(second)))
    )
    (tmp_path / "odd.pem").write_text(text)
    made = bundle_path([str(tmp_path / "odd.pem")])
    assert made is not None and certificates_in(made) == [der(first), der(second)]


def test_a_broken_block_is_left_out_and_spoils_nothing(tmp_path: Path) -> None:
    """A truncated certificate beside a good one: the good one is in a file OpenSSL loads."""
    ca = trustme.CA()
    broken = "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n"
    (tmp_path / "mixed.pem").write_text(broken + ca.cert_pem.bytes().decode())
    made = bundle_path([str(tmp_path / "mixed.pem")])
    assert made is not None and certificates_in(made) == [der(ca)]
    ssl.create_default_context(cafile=made)  # loads whole


def test_a_rehashed_folder_is_read_as_openssl_reads_it(tmp_path: Path) -> None:
    """In a folder with hash-named files, only those count: a .disabled file stays out."""
    kept, disabled = trustme.CA(), trustme.CA()
    folder = tmp_path / "certs"
    folder.mkdir()
    kept.cert_pem.write_to_path(str(folder / "0a1b2c3d.0"))
    disabled.cert_pem.write_to_path(str(folder / "corp.pem.disabled"))
    assert certificates_in(str(folder)) == [der(kept)]


def test_the_windows_store_is_written_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows the store's TLS roots are in the file; one for code signing only is not."""
    ca, signing = trustme.CA(), trustme.CA()
    listed = {
        "ROOT": [(der(ca), "x509_asn", True), (der(signing), "x509_asn", {"1.3.6.1.5.5.7.3.3"})],
        "CA": [(b"\x01", "pkcs_7_asn", True)],
    }
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(ssl, "enum_certificates", listed.__getitem__, raising=False)
    made = bundle_path([], windows_store=True)
    assert made is not None and certificates_in(made) == [der(ca)]


def test_linux_without_its_default_file_reads_the_system_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no default CA file (a standalone Python on Debian), the hashed folder is the store."""
    system = trustme.CA()
    folder = tmp_path / "system"
    folder.mkdir()
    system.cert_pem.write_to_path(str(folder / "0a1b2c3d.0"))
    paths = ssl.DefaultVerifyPaths(None, str(folder), "", "", "", "")  # type: ignore[arg-type]
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: paths)
    extra = trustme.CA()  # a CA file of this test alone: the trust is built afresh
    extra.cert_pem.write_to_path(str(tmp_path / "extra.pem"))
    trust = trust_context(tmp_path / "extra.pem", env={})
    assert trust.linux_store and system_sources() == [str(folder)]
    made = trust.bundle_file()
    assert made is not None and der(system) in certificates_in(made)


def test_the_trust_file_holds_certifi_and_the_ca_bundle(ca_file: Path) -> None:
    """The trust's file holds certifi's roots and every --ca-bundle certificate."""
    import certifi

    made = trust_context(ca_file, env={}).bundle_file()
    assert made is not None
    found = set(certificates_in(made))
    assert set(certificates_in(str(ca_file))) <= found
    assert set(certificates_in(certifi.where())) <= found
