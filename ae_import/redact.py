"""Redaction of secrets, and escaping of data, before anything is shown, logged or stored.

Presigned media URLs carry credentials in their query string (``X-Amz-Signature=...``),
and a URL may carry a user and password. Neither may reach output, logs or the ledger.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED_QUERY", "redact_url", "redact_urls_in", "safe_text"]

REDACTED_QUERY = "?<redacted>"
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
# C0 and C1 controls, line separators, and the bidirectional overrides that can make
# text display in another order than it reads ("Trojan Source").
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def safe_text(text: str) -> str:
    """Escape control characters (and newlines) so one value stays on one line."""
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


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
    """Redact every URL inside free text (a server's error detail may echo a presigned URL)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group()), text)
