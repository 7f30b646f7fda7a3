r"""Redaction of secrets before anything is shown, logged or stored.

Presigned media URLs carry credentials in their query string (``X-Amz-Signature=...``),
and a URL may carry a user and password. Neither may reach output, logs or the ledger.

Servers echo such URLs back in many shapes, and ``redact_urls_in`` catches each in one
left-to-right pass over the text:

- a URL with a scheme, its slashes plain or JSON-escaped (``https:\/\/...``, once or
  more): query, fragment and user-info go (``...?<redacted>``);
- a URL without a scheme (``bucket.s3.amazonaws.com/rec/0.mp3?X-Amz-Signature=...``,
  or an IPv4 host) whose query holds a parameter: the query goes;
- any other parameter whose name ends in signature, credential, token, secret,
  password, sig, key or keyid (any case: ``X-Goog-Credential``, ``sig`` of an Azure
  SAS, ``access_token``, ``api_key``), with ``=`` plain or percent-encoded: its value
  becomes ``<redacted>``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["REDACTED_QUERY", "REDACTED_VALUE", "Scrubber", "redact_url", "redact_urls_in"]

REDACTED_QUERY = "?<redacted>"
REDACTED_VALUE = "<redacted>"
# A slash, perhaps JSON-escaped once or more ("\/", "\\/").
_SLASH = r"\\*/"
_SECRET_NAME = (
    r"[A-Za-z0-9_.-]*?(?:signature|credential|token|secret|passw(?:or)?d|sig|key|key_?id)"
)
# Each alternative starts only where a word starts (the lookbehinds), no scan runs past
# the character that ends its token, and a "/" is matched one way only (by _SLASH), so
# a long hostile text costs linear time, not quadratic or exponential.
_SECRETS_IN_TEXT = re.compile(
    # A URL with a scheme; a backslash ends it unless it escapes a slash. One already
    # redacted is taken whole, so that redacting twice changes nothing.
    rf"(?<![A-Za-z0-9+.-])(?P<url>[A-Za-z][A-Za-z0-9+.-]*:{_SLASH}{_SLASH}"
    rf"(?:{_SLASH}|[^\s\"'<>\\/])+(?:<redacted>)?)"
    # A host (name or IPv4, maybe a port), maybe a path, then a query "name=...".
    r"|(?<![\w.@/\\-])(?P<bare>(?:(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}|(?:\d{1,3}\.){3}\d{1,3})"
    rf"(?::\d{{1,5}})?(?:{_SLASH}(?:{_SLASH}|[^\s\"'<>?#\\/])*)?)"
    rf"\?[^\s\"'<>\\=?#]*=(?:{_SLASH}|[^\s\"'<>\\/])*"
    # A secret parameter on its own: name, "=" (maybe percent-encoded), value up to "&".
    rf"|(?<![A-Za-z0-9_.-])(?P<name>{_SECRET_NAME}(?:=|%3D|%253D))"
    rf"(?:{_SLASH}|(?!%26|%2526)[^\s&\"'<>\\/#;,)\]}}])+",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """Return ``url`` without its query string, fragment and user-info (pure text surgery)."""
    cut = len(url)
    for mark in ("?", "#"):
        at = url.find(mark)
        if at != -1 and at < cut:
            cut = at
    base = url[:cut]
    scheme_end = base.find("://")
    if scheme_end != -1:
        rest = base[scheme_end + 3 :]
        slash = rest.find("/")
        authority = rest if slash == -1 else rest[:slash]
        if "@" in authority:
            tail = "" if slash == -1 else rest[slash:]
            base = base[: scheme_end + 3] + authority.rsplit("@", 1)[1] + tail
    if cut < len(url) and url[cut] == "?":
        return base + REDACTED_QUERY
    return base


def redact_urls_in(text: str) -> str:
    """Redact every URL query and secret parameter in free text (a server's error echoes them)."""
    # Every match holds an "=" (or its percent-encoding), or a ":" and a "/" (a scheme).
    if "=" not in text and "%" not in text and ("/" not in text or ":" not in text):
        return text
    return _SECRETS_IN_TEXT.sub(_redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    """Return what one match of ``_SECRETS_IN_TEXT`` becomes."""
    if match.group("url") is not None:
        url = match.group("url")
        escape = url[url.index(":") + 1 : url.index("/")]  # "" or the backslashes before "/"
        if not escape:
            return redact_url(url)
        return redact_url(url.replace(escape + "/", "/")).replace("/", escape + "/")
    if match.group("bare") is not None:
        return match.group("bare") + REDACTED_QUERY
    return match.group("name") + REDACTED_VALUE


MIN_SECRET = 8  # a shorter "secret" is no credential, and would scrub common words


def _base64_cores(secret: bytes) -> set[str]:
    """Return the base64 text a secret yields at each of the 3 byte alignments it may sit at.

    Inside a longer encoded string (Basic auth's ``user:token``), only the characters
    that the secret's own bits decide are the same whatever surrounds it: those are kept.
    """
    cores: set[str] = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * offset + secret).decode("ascii").rstrip("=")
            first = -(-offset * 8 // 6)  # the first character free of the prefix
            last = ((offset + len(secret)) * 8) // 6  # the last one the secret fills whole
            cores.add(text[first:last])
    return {core for core in cores if len(core) >= MIN_SECRET}


def _forms(secret: str) -> set[str]:
    """Return the forms a server may echo a secret in: as is, escaped, encoded."""
    raw = secret.encode("utf-8")
    escaped = json.dumps(secret)[1:-1]
    every_u = "".join(c if c.isalnum() else f"\\u{ord(c):04x}" for c in secret)
    forms = {
        secret,
        escaped,
        escaped.replace("/", "\\/"),  # a JSON encoder that escapes "/" (PHP, Java)
        every_u,  # one that escapes every sign as \uXXXX (.NET's System.Text.Json)
        every_u.upper().replace("\\U", "\\u"),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(quote(secret, safe=""), safe=""),  # percent-encoded twice
        *_base64_cores(raw),
    }
    return {form for form in forms if len(form) >= MIN_SECRET}


class Scrubber:
    """Takes secrets out of text a server sent, in any of the forms it may echo them in.

    Each secret of at least ``MIN_SECRET`` characters is matched as it is, JSON-escaped
    (a slash or a sign written as an escape), percent-encoded (once or twice), in base64
    (standard or URL-safe, at any alignment inside a longer string), in any letter case.
    Scrub the raw answer before it is parsed, and every decoded string after (``value``):
    escapes that only decoding resolves are caught there.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        """Prepare one pattern for every form of every secret given."""
        forms = sorted({f for s in secrets if len(s) >= MIN_SECRET for f in _forms(s)}, key=len)
        self._pattern = (
            re.compile("|".join(re.escape(f) for f in reversed(forms)), re.IGNORECASE)
            if forms
            else None
        )

    def text(self, text: str) -> str:
        """Return ``text`` with every form of every secret replaced by ``<redacted>``."""
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED_VALUE, text)

    def data(self, raw: bytes) -> bytes:
        """Return the bytes of an answer with every secret's form replaced (UTF-8, lenient)."""
        if self._pattern is None:
            return raw
        return self.text(raw.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def value(self, value: Any) -> Any:
        """Return a decoded JSON value with every string in it scrubbed, at any depth."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value
