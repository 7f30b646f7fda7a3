"""Resolution of ``ae-import run``'s settings, and the base-URL and token rules.

The options themselves are declared once, in ``options.py``. Precedence: flag, then
``AE_IMPORT_<OPTION>``, then the config file's ``api:`` or ``run:`` section, then the
default; one parser per option checks every source the same way. The token is none
of these: it comes only from ``AE_API_TOKEN`` or a token file, never from the command
line.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ae_import.config import Config
from ae_import.errors import UsageError
from ae_import.options import (
    OPTIONS,
    Option,
    RunSettings,
)
from ae_import.redact import redact_url
from ae_import.text import safe_text

__all__ = [
    "SANDBOX_TARGET",
    "TOKEN_ENV",
    "LedgerPlace",
    "check_base_url",
    "find_ledger",
    "ledger_settings",
    "read_token",
    "resolve",
]

TOKEN_ENV = "AE_API_TOKEN"
SANDBOX_TARGET = "sandbox"  # what a --sandbox ledger is bound to, in place of a base URL


def resolve(flags: Mapping[str, Any], env: Mapping[str, str], config: Config) -> RunSettings:
    """Resolve every option: flag, then AE_IMPORT_<OPTION>, then the config, then the default."""
    origins: dict[str, str] = {}
    settings = _resolved(OPTIONS, flags, env, config, origins)
    if not settings.sandbox:
        check_base_url(settings.base_url, origins.get("base_url", "--base-url"))
    return settings


def ledger_settings(
    flags: Mapping[str, Any], env: Mapping[str, str], config: Config, *more: str
) -> RunSettings:
    """Resolve only what names a run's ledger (ledger, sandbox, shard), and ``more``, as ``run``."""
    wanted = [o for o in OPTIONS if o.name in ("ledger", "sandbox", "shard", *more)]
    return _resolved(wanted, flags, env, config)


@dataclass(frozen=True)
class LedgerPlace:
    """Where run keeps its ledger, and the target the ledger must belong to (if one is set)."""

    path: Path
    target: str | None


def find_ledger(flags: Mapping[str, Any], env: Mapping[str, str], config: Config) -> LedgerPlace:
    """Find the ledger as ``run`` does: --ledger, --sandbox, --shard and --base-url, env, config.

    ``status``, ``export`` and ``dismiss`` call this; the path is ``RunSettings.ledger_path``,
    the one ``run`` writes. The target is the base URL (or ``sandbox``) when one is set
    anywhere, flag, env or config: a ledger bound to another target is refused, as run does.
    """
    settings = ledger_settings(flags, env, config, "base_url")
    given = "base_url" in flags or env.get("AE_IMPORT_BASE_URL") or "base_url" in config.api
    if settings.sandbox:
        return LedgerPlace(settings.ledger_path, SANDBOX_TARGET)
    if given:
        check_base_url(settings.base_url)
        return LedgerPlace(settings.ledger_path, settings.base_url.rstrip("/"))
    return LedgerPlace(settings.ledger_path, None)


def _resolved(
    options: Iterable[Option],
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    config: Config,
    origins: dict[str, str] | None = None,
) -> RunSettings:
    """Resolve ``options``; note in ``origins`` where each value came from."""
    values: dict[str, Any] = {}
    where = config.path or "config"
    for option in options:
        sources: list[tuple[str, Any]] = [(option.flag, flags.get(option.name))]
        if env.get(option.env, "") != "":
            sources.append((option.env, env[option.env]))
        section = config.api if option.section == "api" else config.run
        sources.append((f"{where}: {option.section}.{option.name}", section.get(option.name)))
        for origin, raw in sources:
            if raw is None:
                continue
            try:
                values[option.name] = option.parse(raw)
            except ValueError as exc:
                raise UsageError(f"{origin}: {exc}") from None
            if origins is not None:
                origins[option.name] = origin
            break
    return RunSettings(**values)


_LOOPBACK_NAMES = ("localhost",)


def check_base_url(url: str, origin: str = "--base-url") -> None:
    """Refuse a base URL that is not https (but for plain http to a loopback host).

    Credentials never go in the URL (the token has its own channels, and the URL is
    stored in the ledger and shown by ``status``): user-info and a query string are
    refused, and so is a port that cannot exist. Messages never repeat those parts.
    """
    shown = safe_text(redact_url(url))
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise UsageError(
            f"{origin}: '{shown}' is not a URL (is the port a number from 1 to 65535?)"
        ) from None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise UsageError(f"{origin}: the URL holds spaces or control characters; remove them")
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            f"{origin}: '{shown}' holds a user name or password; remove it "
            "(the token goes in AE_API_TOKEN or --token-file)"
        )
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        raise UsageError(
            f"{origin}: '{shown}' has a query string or fragment; remove it "
            "(the token goes in AE_API_TOKEN or --token-file, never in the URL)"
        )
    if parts.scheme == "https" and host:
        return
    if parts.scheme != "http" or not host:
        raise UsageError(f"{origin}: '{shown}' must be an https:// URL")
    loopback = host in _LOOPBACK_NAMES
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if not loopback:
        raise UsageError(
            f"{origin}: plain http:// is refused for {host} (the token would travel in "
            "clear); use https://, or http:// only to a loopback host"
        )


def _check_token(token: str, origin: str) -> str:
    """Refuse a token that cannot travel in an HTTP header; never show it."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in token):
        raise UsageError(
            f"{origin}: the token holds a control character (a line break?); "
            "set it again as one line"
        )
    if not token.isascii():
        raise UsageError(f"{origin}: the token holds non-ASCII characters; check its value")
    return token


def read_token(settings: RunSettings, env: Mapping[str, str]) -> str:
    """Return the API token from --token-file or AE_API_TOKEN; never echo it."""
    path = settings.token_file
    if path is not None:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise UsageError(f"{path}: no such token file; check --token-file") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the token file: {exc.strerror}") from None
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsageError(
                f"{path}: the token file can be read by group or others; run: chmod 600 {path}"
            )
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise UsageError(f"{path}: cannot read the token file as UTF-8 text") from None
        if not token:
            raise UsageError(f"{path}: the token file is empty")
        return _check_token(token, str(path))
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(
            f"no API token: set {TOKEN_ENV}, or pass --token-file PATH "
            "(a token is never taken on the command line)"
        )
    return _check_token(token, TOKEN_ENV)
