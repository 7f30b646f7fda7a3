"""Which certificates are trusted: one TLS context, built once, for every client.

By pip's precedent (its default since pip 24.2), the context is the operating system's
trust store through ``truststore`` (Keychain on macOS, CryptoAPI on Windows, OpenSSL's
store on Linux), plus certifi's Mozilla bundle: a corporate root installed on the
machine just works, and a machine whose store is stale still reaches the public
internet. ``--no-system-certs`` (``api.system_certs: false``) keeps certifi only, as pip's
``--use-deprecated=legacy-certs`` does.

Every extra source is added to that, never instead of it:

- ``--ca-bundle`` (a PEM file or a directory of them), else ``REQUESTS_CA_BUNDLE``, else
  ``CURL_CA_BUNDLE`` (the order requests and pip read them in);
- ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``: OpenSSL reads them itself on Linux, for the
  system store; where truststore asks the OS (macOS, Windows), or with certifi only,
  they are loaded here.

A path that does not exist, or holds no certificate, is a usage error naming where it
was set. A variable that names the very file OpenSSL reads into the system store itself
(Debian and its images set ``REQUESTS_CA_BUNDLE`` to it) is named but not read again.
``trust_context`` caches by its inputs: a command, or a Python program that runs many
imports, builds the context once. ``Trust.bundle_file`` writes what it holds into one PEM
file for the cloud SDKs, which take a file, not a context (``bundle.py``).
"""

from __future__ import annotations

import functools
import os
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ae_import.errors import UsageError

from .bundle import bundle_path, certificates_in

__all__ = ["CA_VARIABLES", "Trust", "trust_context"]

# The variables read for extra certificates (the first two: one of them, in this order).
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


@dataclass(frozen=True)
class Trust:
    """The TLS context every client shares, and what it trusts (for doctor and logs)."""

    context: ssl.SSLContext
    store: str  # "system store + certifi" or "certifi"
    extra: tuple[str, ...] = ()  # "--ca-bundle=PATH", "SSL_CERT_FILE=PATH", ...
    # What the context was loaded from, for SDKs that take a file (``bundle_file``): certifi
    # and each extra file or folder; and whose system store it trusts, Linux's (OpenSSL's
    # files) or Windows' (listed by the OS), which the file takes in too.
    paths: tuple[str, ...] = ()
    linux_store: bool = False
    windows_store: bool = False

    def describe(self) -> str:
        """Say what is trusted: the store, then each extra source."""
        return self.store + "".join(f" + {source}" for source in self.extra)

    def bundle_file(self, *more: str) -> str | None:
        """Return one PEM file of what this context trusts (and ``more`` files), for SDKs.

        None when no file can be written (``bundle.bundle_path``): the SDKs keep their own.
        """
        return bundle_path(
            dict.fromkeys((*self.paths, *more)),
            linux_store=self.linux_store,
            windows_store=self.windows_store,
        )


def _load(context: ssl.SSLContext, origin: str, value: str, eager_dirs: bool) -> None:
    """Add the certificates at ``value`` (a file or a directory) to ``context``."""
    path = Path(value).expanduser()
    try:
        if path.is_dir():
            if eager_dirs:
                # truststore on macOS and Windows passes the OS only what get_ca_certs()
                # lists: certificates loaded from a directory (capath) are not in it. The
                # folder is read as the SDKs' file reads it (``bundle.certificates_in``).
                ders = certificates_in(value)
                if not ders:
                    raise UsageError(f"{origin}: {value} holds no PEM certificate")
                context.load_verify_locations(cadata=b"".join(ders))
            else:
                context.load_verify_locations(capath=str(path))
        elif path.exists():
            context.load_verify_locations(cafile=str(path))
        else:
            raise UsageError(f"{origin}: {value}: no such file or directory")
    except ssl.SSLError as exc:
        raise UsageError(
            f"{origin}: {value} is not a PEM certificate bundle ({exc.reason or exc})"
        ) from None
    except OSError as exc:
        raise UsageError(f"{origin}: {value}: {exc.strerror or exc}") from None


def _same_file(path: str, other: str) -> bool:
    """Say whether two paths name one file (links resolved; False if either is missing)."""
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def _build(
    ca_bundle: str | None, system_certs: bool, env: tuple[tuple[str, str], ...], platform: str
) -> Trust:
    """Build the context (uncached; see ``trust_context``)."""
    import certifi

    variables = dict(env)
    context: ssl.SSLContext
    if system_certs:
        import truststore

        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        store = "system store + certifi"
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        store = "certifi"
    context.load_verify_locations(cafile=certifi.where())
    sources: list[tuple[str, str]] = []
    if ca_bundle:
        sources.append(("--ca-bundle", ca_bundle))
    else:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            if variables.get(name):
                sources.append((name, variables[name]))
                break
    # On Linux the system store is OpenSSL's own, and OpenSSL reads SSL_CERT_FILE/SSL_CERT_DIR.
    asks_the_os = platform in ("darwin", "win32")
    openssl_reads = system_certs and not asks_the_os
    openssl = [(n, variables[n]) for n in ("SSL_CERT_FILE", "SSL_CERT_DIR") if variables.get(n)]
    if not openssl_reads:
        sources += openssl
    # OpenSSL's own bundle, already in the system store: reading it again added nothing and
    # took 34 ms of every start (Debian's 146 roots, 2026-12-03; a resume costs 0.75 s).
    its_bundle = ssl.get_default_verify_paths().cafile if openssl_reads else None
    for origin, value in sources:
        if its_bundle is None or not _same_file(value, its_bundle):
            _load(context, origin, value, eager_dirs=system_certs and asks_the_os)
    extra = [f"{origin}={value}" for origin, value in sources]
    paths = [certifi.where(), *(value for _origin, value in sources)]
    if openssl_reads:
        extra += [f"{name}={value}" for name, value in openssl]
        paths += [v for _n, v in openssl]
    windows = system_certs and platform == "win32"
    return Trust(context, store, tuple(extra), tuple(dict.fromkeys(paths)), openssl_reads, windows)


_cached = functools.lru_cache(maxsize=8)(_build)


def trust_context(
    ca_bundle: Path | str | None = None,
    system_certs: bool = True,
    env: Mapping[str, str] | None = None,
) -> Trust:
    """Return the TLS context for these settings: built on first use, then shared."""
    env = os.environ if env is None else env
    wanted = tuple((name, env[name]) for name in CA_VARIABLES if env.get(name))
    bundle = str(ca_bundle) if ca_bundle else None
    return _cached(bundle, system_certs, wanted, sys.platform)
