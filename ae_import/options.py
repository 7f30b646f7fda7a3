"""Every option of ``ae-import run``, declared once, as a field of ``RunSettings``.

A field's declaration holds all there is to say of the option: its type and default
(the dataclass field), its parser and bounds, its config section (``api:`` or
``run:``), its help text and metavar. Everything else is derived from the fields:

- the ``--flag`` name (``max_rows`` is ``--max-rows``) and the ``AE_IMPORT_MAX_ROWS``
  environment variable (``cli.py`` builds the Typer parameters from ``OPTIONS``);
- the config keys that ``config.py`` accepts, with "did you mean";
- resolution, flag then env then config then default (``settings.resolve``), where
  one parser enforces the same bounds with the same message for every source;
- the option reference in docs/cli.md, generated from the command itself.

Pure: no I/O. Low in the stack: ``config.py`` imports it for the section keys.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from ae_import.redact import redact_url

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LEDGER",
    "FALSE_WORDS",
    "OPTIONS",
    "SANDBOX_LEDGER",
    "TRUE_WORDS",
    "Option",
    "RunSettings",
    "Shard",
    "parse_bool",
    "parse_bytes_rate",
    "parse_duration",
    "parse_proxy",
    "parse_rate",
    "parse_rate_period",
    "parse_shard",
    "parse_stage_to",
    "parse_until",
    "section_keys",
]

DEFAULT_BASE_URL = "https://app.askelephant.ai/api"
DEFAULT_LEDGER = Path("ae-import-ledger.sqlite")
SANDBOX_LEDGER = Path("ae-import-sandbox-ledger.sqlite")

Section = Literal["api", "run"]


@dataclass(frozen=True)
class Shard:
    """Shard K of N: the rows whose external_id hashes, mod N, to K-1."""

    index: int
    count: int

    def __str__(self) -> str:
        """Write the shard as K/N."""
        return f"{self.index}/{self.count}"


# Parsers: each takes the raw value (a flag's or env var's text, or a YAML value) and
# returns the typed value or raises ValueError with a message that does not repeat the
# source (the resolver prefixes it with the flag, env var or config key).


TRUE_WORDS = frozenset({"true", "yes", "on", "y", "t", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "n", "f", "0"})


def parse_bool(value: Any) -> bool:
    """Read a boolean, the one way for every source: flags, env, config, cells, JSON values.

    true/false, yes/no, on/off, y/n, t/f, 1/0 in any case, a JSON boolean, or the number
    0 or 1; an empty text is false (an env var set to nothing). Anything else raises
    ValueError.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS or not word:
        return False
    raise ValueError(f"'{value}' is not true or false")


def whole(low: int, high: int | None = None) -> Callable[[Any], int]:
    """Return a parser of whole numbers from ``low`` to ``high`` (inclusive)."""

    def parse(text: Any) -> int:
        if isinstance(text, bool):
            raise ValueError(f"'{text}' is not a whole number")
        word = str(text).strip()
        if not re.fullmatch(r"[0-9]{1,12}", word):  # ASCII digits: int() also takes 4_0 and ٤
            raise ValueError(f"'{text}' is not a whole number")
        number = int(word)
        if number < low:
            raise ValueError(f"'{text}' must be at least {low}")
        if high is not None and number > high:
            raise ValueError(f"'{text}' must be at most {high}")
        return number

    return parse


def seconds_above_zero(text: Any) -> float:
    """Read a number of seconds above zero."""
    try:
        number = float(str(text).strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a number of seconds") from None
    if not number > 0 or number == float("inf"):
        raise ValueError(f"'{text}' must be a number of seconds above zero")
    return number


def one_of(*words: str) -> Callable[[Any], str]:
    """Return a parser that accepts one of ``words`` (any case)."""

    def parse(text: Any) -> str:
        word = str(text).strip().lower()
        if word not in words:
            raise ValueError(f"'{text}' is not {' or '.join(words)}")
        return word

    return parse


def parse_path(text: Any) -> Path:
    """Read a path; ``~`` is expanded."""
    return Path(str(text)).expanduser()


def parse_text(text: Any) -> str:
    """Read text, trimmed."""
    return str(text).strip()


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)?\s*([a-z]+))?\s*$", re.IGNORECASE)
_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}


def parse_rate(text: str) -> float:
    """Read a rate such as ``5``, ``5/s``, ``300/m`` or ``5000/12h``; return requests per second."""
    count, seconds = parse_rate_period(text)
    return count / seconds


def parse_rate_period(text: str) -> tuple[float, float]:
    """Read a rate as ``parse_rate`` does; return its count and its period in seconds."""
    match = _RATE.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not a rate; write it as 5/s, 300/m or 5000/12h")
    count, span, unit = match.groups()
    seconds = 1.0
    if unit is not None:
        name = unit.lower().rstrip("s") if len(unit) > 1 else unit.lower()
        if name not in _UNITS:
            raise ValueError(f"'{text}': unknown unit '{unit}'; use s, m, h or d")
        seconds = _UNITS[name] * (float(span) if span else 1.0)
    if not 0 < seconds < math.inf:
        raise ValueError(f"'{text}': the period must be above zero, as in 5000/12h")
    rate = float(count) / seconds
    if not 0 < rate < math.inf:
        raise ValueError(f"'{text}': a rate must be above zero and finite")
    return float(count), seconds


def _rate(text: Any) -> float:
    return parse_rate(str(text))


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE | re.ASCII)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: Any) -> float:
    """Read a duration such as ``6h``, ``90m``, ``1h30m``, ``45s`` or ``3600``; return seconds."""
    word = str(text).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", word, re.ASCII):
        seconds = float(word)
    elif word and re.fullmatch(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+", word, re.ASCII):
        seconds = sum(
            float(n) * _DURATION_UNITS[unit.lower()] for n, unit in _DURATION_PART.findall(word)
        )
    else:
        raise ValueError(f"'{text}' is not a duration; write it as 45s, 90m, 6h or 1h30m")
    if not 0 < seconds < math.inf:
        raise ValueError(f"'{text}': a duration must be above zero and finite")
    return seconds


def parse_until(text: Any) -> tuple[int, int]:
    """Read a local wall-clock time HH:MM (24-hour); return (hour, minute)."""
    if isinstance(text, int) and not isinstance(text, bool):
        # YAML 1.1 reads an unquoted 23:30 as the base-60 number 1410
        raise ValueError(f"YAML read the time as the number {text}; quote it: '23:30'")
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text), re.ASCII)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"'{text}' is not a time of day; write it as HH:MM, e.g. 06:30")
    return int(match[1]), int(match[2])


def parse_shard(text: Any) -> Shard:
    """Read a shard K/N (1 <= K <= N)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text), re.ASCII)
    if match is None:
        raise ValueError(f"'{text}' is not a shard; write it as K/N, e.g. 1/4")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"'{text}': K must be between 1 and N, e.g. 1/4 to 4/4")
    return Shard(index, count)


def parse_proxy(text: Any) -> str:
    """Read a proxy URL: ``http://[user:pass@]host[:port]``, or ``host:port``; return it whole.

    Only http proxies are spoken (https goes through them with CONNECT); an https:// or
    socks:// proxy is refused rather than half-supported. Messages never repeat a password.
    """
    word = str(text).strip()
    if "://" not in word:
        word = "http://" + word  # curl, pip and httpx take host:port
    shown = redact_url(word)
    try:
        parts = urlsplit(word)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValueError(f"'{shown}' is not a proxy URL; write it as http://host:port") from None
    if parts.scheme.lower() != "http":
        raise ValueError(
            f"a {parts.scheme}:// proxy is not supported; give an http:// proxy (https still "
            "goes through it, with CONNECT)"
        )
    if not host or any(ord(c) < 0x21 or ord(c) == 0x7F for c in word):
        raise ValueError(f"'{shown}' is not a proxy URL; write it as http://host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"'{shown}' should be only http://host:port")
    userinfo = parts.netloc.rpartition("@")[0]
    where = f"[{host}]" if ":" in host else host
    return f"http://{userinfo + '@' if userinfo else ''}{where}:{port or 80}"


_STAGE_TO = re.compile(r"(s3|gs|az)://([^/\s?#]+)(/[^\s?#]*)?\Z", re.IGNORECASE)


def parse_stage_to(text: Any) -> str:
    """Read where staging writes: ``s3://bucket/prefix`` (or gs://, az://); no trailing slash."""
    word = str(text).strip()
    found = _STAGE_TO.match(word)
    if not found:
        raise ValueError(
            f"'{redact_url(word)[:120]}' is not s3://bucket/prefix, gs://bucket/prefix "
            "or az://container/prefix"
        )
    scheme, bucket, prefix = found.group(1).lower(), found.group(2), (found.group(3) or "")
    prefix = prefix.strip("/")
    if any(part in (".", "..") for part in prefix.split("/")):
        raise ValueError(f"'{word[:120]}' holds a '.' or '..' segment; name the folder plainly")
    return f"{scheme}://{bucket}" + (f"/{prefix}" if prefix else "")


_BYTE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_bytes_rate(text: Any) -> int:
    """Read bytes per second as rclone's --bwlimit does: 512k, 10M, 1.5G (1024-based), 0: no cap."""
    word = str(text).strip().lower().removesuffix("/s").removesuffix("b").removesuffix("i")
    found = re.fullmatch(r"([0-9]{1,9}(?:\.[0-9]{1,3})?)\s*([kmg]?)", word)
    if not found:
        raise ValueError(f"'{text}' is not a number of bytes per second, such as 10M or 512k")
    value = int(float(found.group(1)) * _BYTE_UNITS[found.group(2)])
    if value and value < 1024:
        raise ValueError(f"'{text}' is under 1k per second; give at least 1k, or 0 for no cap")
    return value


@dataclass(frozen=True)
class Option:
    """What the command line, the env and the config file know of one option."""

    name: str
    section: Section
    parse: Callable[[Any], Any]
    help: str
    metavar: str
    default: Any
    switch: bool  # a --x/--no-x switch rather than a value
    hidden: bool
    short: str  # a one-letter alias, or ""
    negatable: bool = True  # a switch's --no-x form (False: the flag alone, as --no-proxy)

    @property
    def flag(self) -> str:
        """Return the long flag: ``--max-rows`` for ``max_rows``."""
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        """Return the environment variable: ``AE_IMPORT_MAX_ROWS`` for ``max_rows``."""
        return "AE_IMPORT_" + self.name.upper()


def _meta(
    section: Section,
    parse: Callable[[Any], Any],
    help: str,
    *,
    metavar: str = "",
    switch: bool = False,
    hidden: bool = False,
    short: str = "",
    negatable: bool = True,
) -> dict[str, Any]:
    """Describe one option, as the metadata of its field (the field holds the default)."""
    return {
        "section": section,
        "parse": parse,
        "help": help,
        "metavar": metavar,
        "switch": switch,
        "hidden": hidden,
        "short": short,
        "negatable": negatable,
    }


@dataclass(frozen=True)
class RunSettings:
    """Every setting of a run, resolved; each field declares one option."""

    base_url: str = field(
        default=DEFAULT_BASE_URL,
        metadata=_meta("api", parse_text, "API base URL, ending in /api.", metavar="URL"),
    )
    token_file: Path | None = field(
        default=None,
        metadata=_meta(
            "api",
            parse_path,
            "File holding the API token (mode 600); else AE_API_TOKEN is read.",
            metavar="PATH",
        ),
    )
    auth_scheme: str = field(
        default="bearer",
        metadata=_meta(
            "api",
            one_of("bearer", "raw"),
            "How the token is sent: 'Bearer TOKEN', or the raw key.",
            metavar="bearer|raw",
        ),
    )
    ca_bundle: Path | None = field(
        default=None,
        metadata=_meta(
            "api",
            parse_path,
            "More CA certificates to trust (a PEM file or folder): a proxy that re-signs TLS.",
            metavar="PATH",
        ),
    )
    system_certs: bool = field(
        default=True,
        metadata=_meta(
            "api",
            parse_bool,
            "Trust the operating system's certificate store as well as certifi's, as pip "
            "does; --no-system-certs: certifi (and --ca-bundle) only.",
            switch=True,
        ),
    )
    timeout: float = field(
        default=600.0,
        metadata=_meta(
            "api",
            seconds_above_zero,
            "Seconds one attempt may take, all of it (the server downloads the media first).",
            metavar="SECONDS",
        ),
    )
    proxy: str | None = field(
        default=None,
        metadata=_meta(
            "run",
            parse_proxy,
            "HTTP proxy for every connection (API, media checks, doctor), in place of "
            "HTTPS_PROXY, HTTP_PROXY and ALL_PROXY; NO_PROXY still applies.",
            metavar="URL",
        ),
    )
    no_proxy: bool = field(
        default=False,
        metadata=_meta(
            "run",
            parse_bool,
            "Connect directly: ignore --proxy, run.proxy and every proxy variable.",
            switch=True,
            negatable=False,
        ),
    )
    ledger: Path | None = field(
        default=None,
        metadata=_meta(
            "run",
            parse_path,
            "SQLite ledger; default ae-import-ledger.sqlite here "
            "(ae-import-sandbox-ledger.sqlite with --sandbox).",
            metavar="PATH",
        ),
    )
    concurrency: int = field(
        default=8,
        metadata=_meta("run", whole(1, 256), "Requests in flight (1 to 256).", metavar="N"),
    )
    rate: float | None = field(
        default=None,
        metadata=_meta("run", _rate, "At most R requests: 5/s, 300/m, 5000/12h.", metavar="R"),
    )
    max_attempts: int = field(
        default=5, metadata=_meta("run", whole(1, 100), "Attempts per row (1 to 100).", metavar="N")
    )
    retry_budget: int = field(
        default=50,
        metadata=_meta(
            "run", whole(1), "Stop after this many failed attempts in a row.", metavar="N"
        ),
    )
    run_workflows: bool = field(
        default=False,
        metadata=_meta("run", parse_bool, "Fire workflows and recap emails.", switch=True),
    )
    dry_run: bool = field(
        default=False,
        metadata=_meta(
            "run", parse_bool, "Validate and consult the ledger; send nothing.", switch=True
        ),
    )
    limit: int | None = field(
        default=None,
        metadata=_meta("run", whole(1), "Same as --max-rows.", metavar="N", hidden=True),
    )
    max_rows: int | None = field(
        default=None,
        metadata=_meta(
            "run", whole(1), "Budget: send at most N rows, then stop (exit 0).", metavar="N"
        ),
    )
    max_duration: float | None = field(
        default=None,
        metadata=_meta(
            "run",
            parse_duration,
            "Budget: stop dispatching after 45m, 6h, 1h30m.",
            metavar="DURATION",
        ),
    )
    until: tuple[int, int] | None = field(
        default=None,
        metadata=_meta(
            "run", parse_until, "Budget: stop dispatching at local time HH:MM.", metavar="HH:MM"
        ),
    )
    shard: Shard | None = field(
        default=None,
        metadata=_meta(
            "run",
            parse_shard,
            "Only rows whose external_id hashes to shard K of N.",
            metavar="K/N",
        ),
    )
    log_file: Path | None = field(
        default=None,
        metadata=_meta(
            "run",
            parse_path,
            "Append a line per row outcome and retry (logrotate-safe).",
            metavar="PATH",
        ),
    )
    log_format: str = field(
        default="text",
        metadata=_meta("run", one_of("text", "json"), "Format of --log-file.", metavar="text|json"),
    )
    retry_failed: bool = field(
        default=False, metadata=_meta("run", parse_bool, "Send failed rows again.", switch=True)
    )
    files_root: Path | None = field(
        default=None,
        metadata=_meta(
            "run",
            parse_path,
            "A folder whose files rows may name (transcripts, recordings), besides the "
            "manifest's own folder.",
            metavar="DIR",
        ),
    )
    check_media: bool = field(
        default=False,
        metadata=_meta(
            "run",
            parse_bool,
            "Check each row's media before sending it (HEAD or a 1-byte GET, public "
            "addresses only, audio/video, not empty, presigned URLs not expired); a row that "
            "fails is invalid, not sent.",
            switch=True,
        ),
    )
    media_concurrency: int = field(
        default=8,
        metadata=_meta(
            "run",
            whole(1, 256),
            "With --check-media: media checks at once (1 to 256).",
            metavar="N",
        ),
    )
    media_timeout: float = field(
        default=30.0,
        metadata=_meta(
            "run",
            seconds_above_zero,
            "With --check-media: seconds one media check may take.",
            metavar="SECONDS",
        ),
    )
    media_allow_private: bool = field(
        default=False,
        metadata=_meta(
            "run",
            parse_bool,
            "With --check-media: let checks reach loopback and private addresses, over "
            "http too. For local testing only (moto, MinIO).",
            switch=True,
        ),
    )
    stage_to: str | None = field(
        default=None,
        metadata=_meta(
            "run",
            parse_stage_to,
            "Stage media that the server cannot fetch itself (local files, hosts in "
            "media.auth) into this bucket and prefix, then send each row with a URL signed "
            "just in time (docs/cloud.md, Staging).",
            metavar="s3://BUCKET/PREFIX",
        ),
    )
    stage_all: bool = field(
        default=False,
        metadata=_meta(
            "run",
            parse_bool,
            "With --stage-to: stage every https media URL too (vendor URLs that expire "
            "before the backfill ends).",
            switch=True,
        ),
    )
    stage_concurrency: int = field(
        default=4,
        metadata=_meta(
            "run", whole(1, 64), "With --stage-to: files staged at once (1 to 64).", metavar="N"
        ),
    )
    stage_bps: int = field(
        default=0,
        metadata=_meta(
            "run",
            parse_bytes_rate,
            "With --stage-to: at most this many bytes per second uploaded, all files "
            "together: 512k, 10M, 1G (0: no cap).",
            metavar="RATE",
        ),
    )
    stage_cleanup: bool = field(
        default=False,
        metadata=_meta(
            "run",
            parse_bool,
            "With --stage-to: delete a staged object once its row is created or existing "
            "(the server fetched it during the request).",
            switch=True,
        ),
    )
    sandbox: bool = field(
        default=False,
        metadata=_meta("run", parse_bool, "Import into an in-process local sandbox.", switch=True),
    )
    json: bool = field(
        default=False, metadata=_meta("run", parse_bool, "Print the summary as JSON.", switch=True)
    )
    quiet: bool = field(
        default=False,
        metadata=_meta("run", parse_bool, "No progress, no summary.", switch=True, short="q"),
    )
    fail_on: str = field(
        default="any",
        metadata=_meta(
            "run",
            one_of("any", "new"),
            "Exit 1 for any row failed, invalid or retryable (any), or only for rows that "
            "failed or became invalid in this run (new: old invalid rows do not fail a nightly).",
            metavar="any|new",
        ),
    )
    progress_every: float = field(
        default=30.0,
        metadata=_meta(
            "run",
            seconds_above_zero,
            "Seconds between progress lines when stderr is not a terminal (a log, cron).",
            metavar="SECONDS",
        ),
    )

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


OPTIONS: tuple[Option, ...] = tuple(
    Option(
        name=f.name,
        default=f.default,
        section=f.metadata["section"],
        parse=f.metadata["parse"],
        help=f.metadata["help"],
        metavar=f.metadata["metavar"],
        switch=f.metadata["switch"],
        hidden=f.metadata["hidden"],
        short=f.metadata["short"],
        negatable=f.metadata["negatable"],
    )
    for f in dataclasses.fields(RunSettings)
)


def section_keys(section: Section) -> tuple[str, ...]:
    """Return the config keys of ``section`` (``api`` or ``run``), sorted."""
    return tuple(sorted(o.name for o in OPTIONS if o.section == section))
