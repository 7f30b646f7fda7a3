"""Redaction of secrets before anything is shown, logged or stored.

Presigned media URLs carry credentials in their query string (``X-Amz-Signature=...``),
and a URL may carry a user and password. Neither may reach output, logs or the ledger.
"""

from __future__ import annotations

__all__ = ["REDACTED_QUERY", "redact_url"]

REDACTED_QUERY = "?<redacted>"


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
