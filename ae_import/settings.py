"""Settings of ``ae-import run``: each from a flag, an env var, the config, or a default.

Precedence: flag, then ``AE_IMPORT_<OPTION>``, then the config file's ``api:`` or
``run:`` section, then the default. The token is none of these: it comes only from
``AE_API_TOKEN`` or a token file, never from the command line.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import Config
from .errors import UsageError
from .ratelimit import parse_rate

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LEDGER",
    "OPTIONS",
    "SANDBOX_LEDGER",
    "RunSettings",
    "Shard",
    "check_base_url",
    "parse_duration",
    "parse_shard",
    "parse_until",
    "read_token",
    "resolve",
]

DEFAULT_BASE_URL = "https://app.askelephant.ai/api"
DEFAULT_LEDGER = Path("ae-import-ledger.sqlite")
SANDBOX_LEDGER = Path("ae-import-sandbox-ledger.sqlite")
TOKEN_ENV = "AE_API_TOKEN"


@dataclass(frozen=True)
class Shard:
    """Shard K of N: the rows whose external_id hashes, mod N, to K-1."""

    index: int
    count: int

    def __str__(self) -> str:
        """Write the shard as K/N."""
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class RunSettings:
    """Every setting of a run, resolved."""

    base_url: str = DEFAULT_BASE_URL
    token_file: Path | None = None
    auth_scheme: str = "bearer"
    ca_bundle: Path | None = None
    timeout: float = 600.0
    ledger: Path | None = None
    concurrency: int = 8
    rate: float | None = None
    max_attempts: int = 5
    retry_budget: int = 50
    run_workflows: bool = False
    dry_run: bool = False
    limit: int | None = None
    max_rows: int | None = None
    max_duration: float | None = None
    until: tuple[int, int] | None = None
    shard: Shard | None = None
    log_file: Path | None = None
    log_format: str = "text"
    retry_failed: bool = False
    sandbox: bool = False
    json: bool = False
    quiet: bool = False

    @property
    def ledger_path(self) -> Path:
        """Return the ledger path: the one given, or the default for the target and shard."""
        if self.ledger is not None:
            return self.ledger
        path = SANDBOX_LEDGER if self.sandbox else DEFAULT_LEDGER
        if self.shard is not None:
            path = path.with_name(f"{path.stem}-{self.shard.index}of{self.shard.count}.sqlite")
        return path

    @property
    def row_budget(self) -> tuple[int, str] | None:
        """Return the smaller of --max-rows and --limit, with the option that set it."""
        budgets = ((self.max_rows, "--max-rows"), (self.limit, "--limit"))
        found = [(n, name) for n, name in budgets if n is not None]
        return min(found) if found else None


def _bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"'{text}' is not true or false")


def _positive_int(text: Any) -> int:
    try:
        number = int(str(text).strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number") from None
    if number < 1:
        raise ValueError(f"'{text}' must be at least 1")
    return number


def _positive_float(text: Any) -> float:
    try:
        number = float(str(text).strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    if number <= 0:
        raise ValueError(f"'{text}' must be above zero")
    return number


def _scheme(text: Any) -> str:
    word = str(text).strip().lower()
    if word not in ("bearer", "raw"):
        raise ValueError(f"'{text}' is not bearer or raw")
    return word


def _rate(text: Any) -> float:
    return parse_rate(str(text))


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: Any) -> float:
    """Read a duration such as ``6h``, ``90m``, ``1h30m``, ``45s`` or ``3600``; return seconds."""
    word = str(text).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", word):
        seconds = float(word)
    elif word and re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+", word):
        seconds = sum(
            float(n) * _DURATION_UNITS[unit.lower()] for n, unit in _DURATION_PART.findall(word)
        )
    else:
        raise ValueError(f"'{text}' is not a duration; write it as 45s, 90m, 6h or 1h30m")
    if seconds <= 0:
        raise ValueError(f"'{text}': a duration must be above zero")
    return seconds


def parse_until(text: Any) -> tuple[int, int]:
    """Read a local wall-clock time HH:MM (24-hour); return (hour, minute)."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"'{text}' is not a time of day; write it as HH:MM, e.g. 06:30")
    return int(match[1]), int(match[2])


def parse_shard(text: Any) -> Shard:
    """Read a shard K/N (1 <= K <= N)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if match is None:
        raise ValueError(f"'{text}' is not a shard; write it as K/N, e.g. 1/4")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"'{text}': K must be between 1 and N, e.g. 1/4 to 4/4")
    return Shard(index, count)


def _log_format(text: Any) -> str:
    word = str(text).strip().lower()
    if word not in ("text", "json"):
        raise ValueError(f"'{text}' is not text or json")
    return word


def _path(text: Any) -> Path:
    return Path(str(text)).expanduser()


def _text(text: Any) -> str:
    return str(text).strip()


# name: (config section, parser)
OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "base_url": ("api", _text),
    "token_file": ("api", _path),
    "auth_scheme": ("api", _scheme),
    "ca_bundle": ("api", _path),
    "timeout": ("api", _positive_float),
    "ledger": ("run", _path),
    "concurrency": ("run", _positive_int),
    "rate": ("run", _rate),
    "max_attempts": ("run", _positive_int),
    "retry_budget": ("run", _positive_int),
    "run_workflows": ("run", _bool),
    "dry_run": ("run", _bool),
    "limit": ("run", _positive_int),
    "max_rows": ("run", _positive_int),
    "max_duration": ("run", parse_duration),
    "until": ("run", parse_until),
    "shard": ("run", parse_shard),
    "log_file": ("run", _path),
    "log_format": ("run", _log_format),
    "retry_failed": ("run", _bool),
    "sandbox": ("run", _bool),
    "json": ("run", _bool),
    "quiet": ("run", _bool),
}


def resolve(flags: Mapping[str, Any], env: Mapping[str, str], config: Config) -> RunSettings:
    """Resolve every option: flag, then AE_IMPORT_<OPTION>, then the config, then the default."""
    values: dict[str, Any] = {}
    for name, (section, parse) in OPTIONS.items():
        env_name = f"AE_IMPORT_{name.upper()}"
        sources: list[tuple[str, Any]] = [(f"--{name.replace('_', '-')}", flags.get(name))]
        if env.get(env_name, "") != "":
            sources.append((env_name, env[env_name]))
        section_values = config.api if section == "api" else config.run
        where = config.path or "config"
        sources.append((f"{where}: {section}.{name}", section_values.get(name)))
        for origin, raw in sources:
            if raw is None:
                continue
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                raise UsageError(f"{origin}: {exc}") from None
            break
    settings = RunSettings(**values)
    if not settings.sandbox:
        check_base_url(settings.base_url)
    return settings


_LOOPBACK_NAMES = ("localhost",)


def check_base_url(url: str) -> None:
    """Refuse a base URL that is not https, unless it is plain http to a loopback host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise UsageError(f"--base-url: '{url}' is not a URL") from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme != "http" or not host:
        raise UsageError(f"--base-url: '{url}' must be an https:// URL")
    loopback = host in _LOOPBACK_NAMES
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if not loopback:
        raise UsageError(
            f"--base-url: plain http:// is refused for {host} (the token would travel in "
            "clear); use https://, or http:// only to a loopback host"
        )


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
        return token
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(
            f"no API token: set {TOKEN_ENV}, or pass --token-file PATH "
            "(a token is never taken on the command line)"
        )
    return token
