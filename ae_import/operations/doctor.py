"""``ae-import doctor``: will tonight's run work? Each check a row: name, result, detail, fix.

The checks, in order (a check that cannot run because an earlier one failed is ``skip``):

=============  ==========================================================================
check          passes when
=============  ==========================================================================
config         the config file parses (or none is given)
settings       every option resolves (flags, ``AE_IMPORT_*``, config)
base URL       https, or http to a loopback host; no user-info or query
token          found in ``AE_API_TOKEN`` or ``--token-file`` (mode 600, one line)
DNS            the base URL's host resolves
TLS            the server's certificate is trusted (``--ca-bundle`` for a private CA)
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

import email.utils
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ae_import.errors import AeImportError, LedgerBusyError, UsageError
from ae_import.redact import redact_urls_in
from ae_import.text import safe_text

if TYPE_CHECKING:
    import httpx

    from ae_import.config import Config
    from ae_import.media import Reference
    from ae_import.options import RunSettings

__all__ = ["MANIFEST_ROWS", "MAX_SKEW_S", "Check", "run_checks"]

MAX_SKEW_S = 300.0
MANIFEST_ROWS = 1000
Status = Literal["ok", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One row of the doctor's table."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """Return the row for ``--json``."""
        return asdict(self)


def _one_line(text: str, limit: int = 300) -> str:
    return safe_text(redact_urls_in(" ".join(text.split())))[:limit]


class _Doctor:
    """Runs the checks in order; each adds one row."""

    def __init__(
        self,
        env: Mapping[str, str],
        clock: Callable[[], float],
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.env = env
        self.clock = clock
        self.transport = transport
        self.rows: list[Check] = []

    def add(self, name: str, status: Status, detail: str, fix: str = "") -> None:
        self.rows.append(Check(name, status, _one_line(detail), fix))

    def skip_server(self, why: str) -> None:
        """Add the server checks that could not run, as skipped."""
        for name in ("route + token", "clock"):
            self.add(name, "skip", why)

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

    def dns(self, settings: RunSettings) -> bool:
        import httpx

        url = httpx.URL(settings.base_url)
        try:
            found = socket.getaddrinfo(url.host, url.port or 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            self.add(
                "DNS",
                "fail",
                f"cannot resolve {url.host}: {exc.strerror or exc}",
                "check the host in --base-url, and this machine's DNS",
            )
            return False
        addresses = sorted({str(info[4][0]) for info in found})
        self.add("DNS", "ok", f"{url.host}: {', '.join(addresses[:3])}")
        return True

    def route(self, settings: RunSettings, token: str | None) -> None:
        """POST {} (no engagement can come of it) and read what the answer says."""
        import httpx

        url = settings.base_url.rstrip("/") + "/v2/engagements"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token is not None:
            bearer = token if settings.auth_scheme == "raw" else f"Bearer {token}"
            headers["Authorization"] = bearer
        https = url.startswith("https:")
        context = ssl.create_default_context(
            cafile=str(settings.ca_bundle) if settings.ca_bundle else None
        )
        try:
            # --timeout bounds this request too (an empty POST needs no media download)
            limit = min(settings.timeout, 30.0)
            with httpx.Client(
                verify=context, trust_env=False, timeout=limit, transport=self.transport
            ) as client:
                answer = client.post(url, content=b"{}", headers=headers)
        except httpx.HTTPError as exc:
            why = _certificate_problem(exc)
            if why is not None:
                host = httpx.URL(url).host
                self.add(
                    "TLS",
                    "fail",
                    f"the certificate of {host} is not trusted ({why})",
                    "if a proxy re-signs traffic, pass its CA with --ca-bundle",
                )
                self.skip_server("needs a trusted certificate")
            else:
                self.add("TLS", "skip", "no connection")
                self.add(
                    "route + token",
                    "fail",
                    f"no answer from {url}: {type(exc).__name__}: {exc}",
                    "check --base-url, the network and any proxy",
                )
                self.add("clock", "skip", "needs an answer")
            return
        if https:
            bundle = f" with {settings.ca_bundle}" if settings.ca_bundle else ""
            self.add("TLS", "ok", f"certificate trusted{bundle}")
        else:
            self.add("TLS", "skip", "plain http to a loopback host")
        self._judge(answer, url, token is not None)
        self._clock(answer)

    def _judge(self, answer: httpx.Response, url: str, has_token: bool) -> None:
        status = answer.status_code
        name = "route + token"
        if status in (400, 422):
            self.add(name, "ok", f"POST {{}} to {url} refused with {status}, as it should be")
        elif status == 401 and not has_token:
            self.add(name, "skip", f"{url} answers 401: set a token to check it")
        elif status == 401:
            self.add(
                name,
                "fail",
                f"the token was refused (401) by {url}",
                "check AE_API_TOKEN or --token-file; an API key (sk-apik_...) may need "
                "auth_scheme: raw",
            )
        elif status == 403:
            self.add(
                name,
                "fail",
                "the token lacks the engagements:write scope (403)",
                "use a token with the engagements:write scope",
            )
        elif 200 <= status < 300:
            self.add(
                name,
                "fail",
                f"POST {{}} to {url} was accepted ({status}): an engagement may have been "
                "created by this check; this server does not check requests as the API does",
                "check --base-url (is it the AskElephant API?); look for an empty engagement",
            )
        elif status in (404, 405):
            self.add(
                name,
                "fail",
                f"no Create engagement route at {url} ({status})",
                "check --base-url; it should end in /api",
            )
        else:
            self.add(
                name,
                "fail",
                f"POST {{}} to {url} answered {status}, not 400 or 422",
                "check --base-url; if it is right, the server is in trouble: try later",
            )

    def _clock(self, answer: httpx.Response) -> None:
        date = answer.headers.get("date")
        try:
            stamp = email.utils.parsedate_to_datetime(date).timestamp() if date else None
        except (TypeError, ValueError):
            stamp = None
        if stamp is None:
            self.add("clock", "skip", "the answer has no readable Date header")
            return
        skew = self.clock() - stamp
        ahead = "ahead of" if skew > 0 else "behind"
        detail = f"{abs(skew):.0f} s {ahead} the server's clock"
        if abs(skew) < 2:  # Date is to the second
            detail = "in step with the server's clock (to the second)"
        if abs(skew) <= MAX_SKEW_S:
            self.add("clock", "ok", detail)
        else:
            self.add(
                "clock",
                "fail",
                detail + f" (more than {MAX_SKEW_S:.0f} s)",
                "sync this machine's clock (NTP: timedatectl set-ntp true)",
            )

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

    def cloud(self, config: Config, first: Mapping[str, Reference], timeout: float) -> None:
        from ae_import.errors import CloudError
        from ae_import.media import CLOUD_FIXES, SCHEMES, Signer, validity

        signer = Signer(config.cloud, self.env)
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
            problem = self._fetch(url)
            if problem is None:
                self.add(name, "ok", f"{detail}; {reference} answers with audio or video")
            else:
                self.add(name, "fail", f"{reference}: {problem}", CLOUD_FIXES[scheme])

    def _fetch(self, url: str) -> str | None:
        """GET the first byte of a signed URL; return what is wrong, or None."""
        import httpx

        try:
            with httpx.Client(trust_env=False, timeout=30.0, transport=self.transport) as client:
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




def _certificate_problem(exc: BaseException) -> str | None:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen)
        seen = seen.__cause__ or seen.__context__
    return None


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
        doctor.cloud(config, first, 600.0)
        return doctor.rows
    token = doctor.token(settings)
    if not base_ok:
        for name in ("DNS", "TLS"):
            doctor.add(name, "skip", "needs a usable base URL")
        doctor.skip_server("needs a usable base URL")
    elif doctor.dns(settings):
        doctor.route(settings, token)
    else:
        doctor.add("TLS", "skip", "needs DNS")
        doctor.skip_server("needs DNS")
    doctor.cloud(config, first, settings.timeout)
    doctor.ledger(settings)
    return doctor.rows
