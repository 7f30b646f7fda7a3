"""Redaction of secrets, and escaping of data, before anything is shown, logged or stored.

Presigned media URLs carry credentials in their query string (``X-Amz-Signature=...``),
and a URL may carry a user and password. Neither may reach output, logs or the ledger.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED_QUERY", "redact_url", "safe_text"]

REDACTED_QUERY = "?<redacted>"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def safe_text(text: str) -> str:
    """Escape control characters (and newlines) so one value stays on one line."""
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


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
