"""One PEM file of what the TLS context trusts, for the SDKs that take a file, not a context.

botocore, requests (google-cloud-storage) and azure-core verify against a CA file. The
file written here holds the certificates the command's context was loaded from: certifi,
Linux's system bundle, the Windows store's roots, ``--ca-bundle`` and the CA variables.
Only the certificate blocks of each source are taken (a comment in any encoding, a BOM or
a private key beside them is left out), each certificate once.

The file is named by its content and kept for the next command, in a folder of the
user's own (POSIX: under the temporary directory, mode 0700, checked to be theirs;
Windows: LOCALAPPDATA): a process killed mid-run leaves nothing new, a reused file is read
back and compared before it is trusted, and one a cleaner removed mid-run is written again
at the next client. Where that folder cannot be used, the file goes in a private folder of
this process, removed at exit; where nothing can be written, ``bundle_path`` returns None.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import functools
import hashlib
import os
import re
import shutil
import ssl
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["bundle_path", "certificates_in", "system_sources"]

_BLOCK = re.compile(
    rb"-----BEGIN (TRUSTED |X509 )?CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END \1?CERTIFICATE-----"
)
_HASHED = re.compile(r"^[0-9a-fA-F]{8}\.[0-9]+$")  # the names OpenSSL reads in a capath
_MAX_FILE = 64 << 20  # a CA file is a few hundred KB; past this it is not one
_SERVER_AUTH = "1.3.6.1.5.5.7.3.1"  # a Windows root may be trusted for other uses only
# Where truststore looks when OpenSSL's own default file is absent (its own list, in order).
_SYSTEM_FILES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)


def _first_element(der: bytes) -> bytes:
    """Return the certificate of a TRUSTED CERTIFICATE (its trust settings follow it)."""
    if len(der) < 2 or der[0] != 0x30:
        return der
    size, start = der[1], 2
    if size & 0x80:
        count = size & 0x7F
        size, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    return der[: start + size]


def _usable(checker: ssl.SSLContext, der: bytes) -> bool:
    """Tell whether OpenSSL takes ``der`` as a certificate (one bad block spoils a whole file)."""
    try:
        checker.load_verify_locations(cadata=der)
    except (ssl.SSLError, ValueError):
        return False
    return True


def certificates_in(value: str) -> list[bytes]:
    """Return the certificates (DER) in the PEM file or the folder of PEM files at ``value``.

    A folder with hash-named files (a capath, as ``c_rehash`` makes it) is read as OpenSSL
    reads one: those files only, so a ``corp.pem.disabled`` beside them stays out.
    """
    path = Path(value).expanduser()
    try:
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    except OSError:
        return []
    if path.is_dir() and any(_HASHED.match(p.name) for p in files):
        files = [p for p in files if _HASHED.match(p.name)]
    found = []
    for file in files:
        try:
            with file.open("rb") as handle:
                data = handle.read(_MAX_FILE)
        except OSError:
            continue
        for block in _BLOCK.finditer(data):
            with contextlib.suppress(binascii.Error, ValueError):
                der = base64.b64decode(b"".join(block.group(2).split()), validate=True)
                found.append(_first_element(der) if block.group(1) else der)
    return found


def system_sources() -> list[str]:
    """Return where Linux's system store is read from, as truststore chooses it.

    OpenSSL's default file; else its default folder if it holds hash-named files; else the
    first of truststore's fallback files that exists.
    """
    defaults = ssl.get_default_verify_paths()
    if defaults.cafile:
        return [defaults.cafile]
    with contextlib.suppress(OSError):
        if defaults.capath and any(_HASHED.match(n) for n in os.listdir(defaults.capath)):
            return [defaults.capath]
    return [path for path in _SYSTEM_FILES if os.path.isfile(path)][:1]


def _windows_store() -> list[bytes]:
    """Return the Windows store's roots and intermediates trusted for TLS servers (DER)."""
    enum = getattr(ssl, "enum_certificates", None)
    if enum is None:
        return []
    found = []
    for store in ("ROOT", "CA"):
        with contextlib.suppress(OSError):
            for cert, encoding, trust in enum(store):
                # As CPython's own load_default_certs: a root limited to other uses is left out.
                if encoding == "x509_asn" and (trust is True or _SERVER_AUTH in trust):
                    found.append(cert)
    return found


def _shared_folder() -> Path | None:
    """Return the user's own folder for the file, reused by the next command; or None.

    POSIX: under the temporary directory, made 0700, checked to be a folder of this user
    (not a link), and closed to others if it was opened. Windows: the user's LOCALAPPDATA
    (a service's too), never the shared temporary folder.
    """
    if not hasattr(os, "getuid"):
        local = os.environ.get("LOCALAPPDATA")
        if not local:
            return None
        folder = Path(local) / "ae-import"
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        return None
    user = os.getuid()
    folder = Path(tempfile.gettempdir()) / f"ae-import-{user}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != user:
            return None  # someone else's, or a link: not a place for trust
        if info.st_mode & 0o077:
            folder.chmod(0o700)  # ours, but opened: close it before trusting what it holds
    except OSError:
        return None
    return folder


def _private_folder() -> Path | None:
    """Return a folder of this process alone, removed at exit; None if none can be made."""
    try:
        folder = Path(tempfile.mkdtemp(prefix="ae-import-ca-"))
    except OSError:
        return None
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _write_in(folder: Path, text: str) -> str | None:
    """Return the path of a file in ``folder`` holding ``text`` (reused if it does); or None."""
    digest = hashlib.sha256(text.encode("ascii")).hexdigest()[:24]
    path = folder / f"ca-{digest}.pem"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if not path.is_symlink() and path.read_text("ascii") == text:
            return str(path)
    name = None
    try:
        handle, name = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="ascii", newline="\n") as out:
            out.write(text)
        os.replace(name, path)
    except OSError:
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name)
        return None
    return str(path)


def _write(text: str) -> str | None:
    """Return a file holding ``text``: the user's shared one, else this process's; or None."""
    shared = _shared_folder()
    made = _write_in(shared, text) if shared is not None else None
    if made is None:
        private = _private_folder()
        made = _write_in(private, text) if private is not None else None
    return made


@functools.lru_cache(maxsize=8)
def _text(paths: tuple[str, ...], linux_store: bool, windows_store: bool) -> str:
    """Return the PEM text of every certificate at ``paths`` and of the system store, once."""
    ders: dict[bytes, None] = {}
    for value in (*paths, *(system_sources() if linux_store else ())):
        ders.update(dict.fromkeys(certificates_in(value)))
    if windows_store and sys.platform == "win32":
        ders.update(dict.fromkeys(_windows_store()))
    checker = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return "".join(ssl.DER_cert_to_PEM_cert(der) for der in ders if _usable(checker, der))


def bundle_path(
    paths: Iterable[str], *, linux_store: bool = False, windows_store: bool = False
) -> str | None:
    """Return a PEM file of every certificate at ``paths`` and of the system store; or None.

    The system store is read here, when a file is first asked for, not when the context
    is built: finding Linux's may read a folder, which no command that sends only to the
    API needs.
    """
    return _write(_text(tuple(paths), linux_store, windows_store))
