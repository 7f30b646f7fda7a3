"""``ae-import doctor``: will tonight's run work? Each check a row: name, result, detail, fix.

The checks, in order (a check that cannot run because an earlier one failed is ``skip``):

=============  ==========================================================================
check          passes when
=============  ==========================================================================
config         the config file parses (or none is given)
settings       every option resolves (flags, ``AE_IMPORT_*``, config)
base URL       https, or http to a loopback host; no user-info or query
token          found in ``AE_API_TOKEN`` or ``--token-file`` (mode 600, one line)
proxy          the proxy the API is reached through (``--proxy``, ``HTTPS_PROXY``...) opens
               a CONNECT tunnel to the base URL's host; or none is used
DNS            the base URL's host resolves (behind a proxy: the proxy resolves it)
TLS            the server's certificate is trusted (the store, ``--ca-bundle``, the CA
               variables: the detail names what is trusted)
route + token  a POST of ``{}`` is refused with 400 or 422 (no engagement can come of
               it): 401/403 name the token or its scope, 404/405 the base URL
clock          the answer's ``Date`` is within ``MAX_SKEW_S`` of this machine's clock
               (signed URLs and the server's checks depend on it)
manifest       ``--manifest``'s first ``MANIFEST_ROWS`` rows read, and their ``s3://``,
               ``gs://``, ``az://`` references counted
cloud SCHEME   for each scheme in the config's ``cloud:`` or the manifest: credentials
               found; with a reference in the manifest, its signed URL answers a ranged
               GET with audio or video
ledger         not held by another run, and it opens (or its directory is writable)
=============  ==========================================================================

Nothing here prints: ``run_checks`` returns ``Check`` rows, ``commands/doctor.py`` shows them. The
token never appears in a row, nor does a signed URL (references are shown instead).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ae_import.errors import AeImportError, LedgerBusyError, UsageError
from ae_import.net import Network
from ae_import.text import safe_text

from .doctor_network import MAX_SKEW_S, Check, NetworkChecks

if TYPE_CHECKING:
    import httpx

    from ae_import.config import Config
    from ae_import.media import Reference
    from ae_import.options import RunSettings

__all__ = ["MANIFEST_ROWS", "MAX_SKEW_S", "Check", "run_checks"]

MANIFEST_ROWS = 1000


class _Doctor(NetworkChecks):
    """Runs the checks in order; each adds one row."""

    def config(self, path: Path | None) -> Config:
        from ae_import.config import Config, load_config

        try:
            config = load_config(path)
        except AeImportError as exc:
            self.add("config", "fail", exc.message, "fix the key or value named (docs/mapping.md)")
            return Config()
        self.add("config", "ok", f"{path} parses" if path else "no --config: defaults")
        return config

    def settings(self, flags: Mapping[str, Any], config: Config) -> tuple[RunSettings | None, bool]:
        """Resolve the options; return them (None if unusable) and whether the base URL is."""
        from ae_import.options import DEFAULT_BASE_URL
        from ae_import.settings import check_base_url, resolve

        try:
            settings = resolve({**flags, "base_url": DEFAULT_BASE_URL}, self.env, config)
        except UsageError as exc:
            self.add("settings", "fail", exc.message, "fix the option named")
            return None, False
        self.add("settings", "ok", "every option resolves")
        try:
            settings = resolve(flags, self.env, config)
            check_base_url(settings.base_url)
        except UsageError as exc:
            fix = "give --base-url (or api.base_url) as https://HOST/api"
            self.add("base URL", "fail", exc.message, fix)
            return settings, False
        self.add("base URL", "ok", settings.base_url)
        return settings, True

    def token(self, settings: RunSettings) -> str | None:
        from ae_import.settings import read_token

        try:
            token = read_token(settings, self.env)
        except UsageError as exc:
            self.add(
                "token", "fail", exc.message, "set AE_API_TOKEN, or --token-file PATH (chmod 600)"
            )
            return None
        where = settings.token_file or "AE_API_TOKEN"
        self.add("token", "ok", f"found in {where}")
        return token

    def manifest(self, name: str, fmt: str | None, config: Config) -> dict[str, Reference]:
        """Read the first rows; return the first reference of each scheme found."""
        from ae_import.media import parse_reference
        from ae_import.reading import open_manifest

        column = config.mapping.column_for("media_url")
        first: dict[str, Reference] = {}
        counts: dict[str, int] = {}
        rows = 0
        try:
            with open_manifest(name, fmt, reading=config.mapping.reading) as source:
                for row in source:
                    rows += 1
                    value = row.fields.get(column)
                    try:
                        found = parse_reference(value) if isinstance(value, str) else None
                    except ValueError:
                        found = None
                    if found is not None:
                        counts[found.scheme] = counts.get(found.scheme, 0) + 1
                        first.setdefault(found.scheme, found)
                    if rows >= MANIFEST_ROWS:
                        break
        except (AeImportError, OSError) as exc:
            message = exc.message if isinstance(exc, AeImportError) else str(exc)
            self.add("manifest", "fail", message, "fix the manifest (ae-import validate)")
            return {}
        found_text = ", ".join(f"{n} {s}://" for s, n in counts.items()) or "no"
        self.add("manifest", "ok", f"{rows} rows read: {found_text} references")
        return first

    def cloud(
        self,
        config: Config,
        first: Mapping[str, Reference],
        timeout: float,
        network: Network | None,
    ) -> None:
        from ae_import.errors import CloudError
        from ae_import.media import CLOUD_FIXES, SCHEMES, Signer, validity

        signer = Signer(config.cloud, self.env, network=network)
        wanted = [s for s in SCHEMES if s in first or s in config.cloud.schemes()]
        for scheme in wanted:
            name = f"cloud {scheme}"
            try:
                detail = signer.describe(scheme)
                reference = first.get(scheme)
                url = signer.sign(reference, validity(timeout)) if reference else None
            except CloudError as exc:
                self.add(name, "fail", exc.message, CLOUD_FIXES[scheme])
                continue
            if reference is None or url is None:
                self.add(name, "ok", detail)
                continue
            problem = self._fetch(url, network or Network())
            if problem is None:
                self.add(name, "ok", f"{detail}; {reference} answers with audio or video")
            else:
                self.add(name, "fail", f"{reference}: {problem}", CLOUD_FIXES[scheme])

    def _fetch(self, url: str, network: Network) -> str | None:
        """GET the first byte of a signed URL; return what is wrong, or None."""
        import httpx

        try:
            with self._client(network, 30.0) as client:
                answer = client.get(url, headers={"Range": "bytes=0-0"})
        except httpx.HTTPError as exc:
            return f"no answer: {type(exc).__name__}"
        kind = answer.headers.get("content-type", "").split(";", 1)[0].strip()
        if answer.status_code >= 300:
            return f"the signed URL answers {answer.status_code}"
        if not kind.startswith(("audio/", "video/")):
            return f"the signed URL answers {safe_text(kind) or 'no type'}, not audio or video"
        return None

    def ledger(self, settings: RunSettings) -> None:
        """Check the ledger opens and no run holds it, writing nothing (not even a lock file)."""
        from ae_import.ledger import Ledger, RunLock, lock_path, real_ledger

        path = settings.ledger_path
        try:
            real = real_ledger(path)
            held = lock_path(real).exists()
            if held:  # a lock file a run left or holds: try it (it exists: nothing is created)
                with RunLock(path):
                    pass
            if not real.exists():
                where = real.parent
                if not os.access(where, os.W_OK):
                    self.add(
                        "ledger",
                        "fail",
                        f"{path} does not exist, and {where} is not writable",
                        "pass a --ledger in a writable directory",
                    )
                    return
                self.add("ledger", "ok", f"{path} will be created; not held by a run")
                return
            Ledger(path, None, create=False).close()
        except LedgerBusyError as exc:
            self.add("ledger", "fail", exc.message, "wait for that run to end")
            return
        except (AeImportError, OSError) as exc:
            message = exc.message if isinstance(exc, AeImportError) else str(exc)
            self.add("ledger", "fail", message, "pass another --ledger")
            return
        self.add("ledger", "ok", f"{path} opens; not held by a run")


def run_checks(
    config_path: Path | None,
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    manifest: str | None = None,
    fmt: str | None = None,
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> list[Check]:
    """Run every check; return the rows (a check that could not run is ``skip``)."""
    doctor = _Doctor(env, clock, transport)
    config = doctor.config(config_path)
    settings, base_ok = doctor.settings(flags, config)
    first: dict[str, Reference] = {}
    if manifest is not None:
        first = doctor.manifest(manifest, fmt, config)
    if settings is None:
        doctor.skip_server("needs usable settings")
        doctor.cloud(config, first, 600.0, None)
        return doctor.rows
    token = doctor.token(settings)
    network = doctor.network(settings)
    if network is None:
        doctor.skip_server("needs a usable proxy and CA settings")
    elif not base_ok:
        doctor.add("proxy", "ok", network.proxies.describe())
        for name in ("DNS", "TLS"):
            doctor.add(name, "skip", "needs a usable base URL")
        doctor.skip_server("needs a usable base URL")
    elif not doctor.proxy(settings, network):
        for name in ("DNS", "TLS"):
            doctor.add(name, "skip", "needs the proxy")
        doctor.skip_server("needs the proxy")
    elif doctor.dns(settings, network):
        doctor.route(settings, token, network)
    else:
        doctor.add("TLS", "skip", "needs DNS")
        doctor.skip_server("needs DNS")
    doctor.cloud(config, first, settings.timeout, network)
    doctor.ledger(settings)
    return doctor.rows
