"""One PEM file of what the TLS context trusts, for the SDKs that take a file, not a context.

botocore, requests (google-cloud-storage) and azure-core verify against a CA file. The
file written here holds the certificates the command's context was loaded from: certifi,
Linux's system bundle, the Windows store's roots, ``--ca-bundle`` and the CA variables.
Only the certificate blocks of each source are taken (a comment in any encoding, a BOM or
a private key beside them is left out), each certificate once.

The file is named by its content and kept for the next command, in a folder of the
user's own under the temporary directory (mode 0700, checked to be theirs): a process
killed mid-run leaves nothing new, a reused file is read back and compared before it is
trusted, and one a cleaner removed mid-run is written again at the next client. Where
nothing can be written, ``bundle_path`` returns None and the SDKs keep their own trust.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import os
import re
import ssl
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["bundle_path", "certificates_in"]

_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----")
_MAX_FILE = 64 << 20  # a CA file is a few hundred KB; past this it is not one


def certificates_in(value: str) -> list[bytes]:
    """Return the certificates (DER) in the PEM file or the folder of PEM files at ``value``."""
    path = Path(value).expanduser()
    try:
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    except OSError:
        return []
    found = []
    for file in files:
        try:
            with file.open("rb") as handle:
                data = handle.read(_MAX_FILE)
        except OSError:
            continue
        for block in _BLOCK.finditer(data):
            with contextlib.suppress(binascii.Error, ValueError):
                found.append(base64.b64decode(b"".join(block.group(1).split()), validate=True))
    return found


def _windows_store() -> list[bytes]:
    """Return the certificates of the Windows store's roots and intermediates (DER)."""
    enum = getattr(ssl, "enum_certificates", None)
    if enum is None:
        return []
    found = []
    for store in ("ROOT", "CA"):
        with contextlib.suppress(OSError):
            found += [cert for cert, encoding, _trust in enum(store) if encoding == "x509_asn"]
    return found


def _folder() -> Path | None:
    """Return the user's own folder for the file (made 0700, checked to be theirs), or None."""
    user = os.getuid() if hasattr(os, "getuid") else None
    folder = Path(tempfile.gettempdir()) / f"ae-import-{user if user is not None else 'ca'}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    if user is not None and (
        not stat.S_ISDIR(info.st_mode) or info.st_uid != user or info.st_mode & 0o077
    ):
        return None  # someone else's, a link, or open to others: not a place to trust
    return folder


def _write(text: str) -> str | None:
    """Return the path of a file holding ``text``, written once and reused; None if none."""
    folder = _folder()
    if folder is None:
        return None
    digest = hashlib.sha256(text.encode("ascii")).hexdigest()[:24]
    path = folder / f"ca-{digest}.pem"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if path.read_text("ascii") == text:
            return str(path)
    try:
        handle, name = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="ascii", newline="\n") as out:
            out.write(text)
        os.replace(name, path)
    except OSError:
        return None
    return str(path)


@functools.lru_cache(maxsize=8)
def _text(paths: tuple[str, ...], windows_store: bool) -> str:
    """Return the PEM text of every certificate at ``paths`` (and the Windows store's), once."""
    ders: dict[bytes, None] = {}
    for value in paths:
        ders.update(dict.fromkeys(certificates_in(value)))
    if windows_store and sys.platform == "win32":
        ders.update(dict.fromkeys(_windows_store()))
    return "".join(ssl.DER_cert_to_PEM_cert(der) for der in ders)


def bundle_path(paths: Iterable[str], windows_store: bool = False) -> str | None:
    """Return a PEM file of every certificate at ``paths`` (and the Windows store's); or None."""
    return _write(_text(tuple(paths), windows_store))
