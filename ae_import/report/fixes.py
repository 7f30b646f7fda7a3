"""The fix the report suggests for each problem code (the example rows say the rest)."""

from __future__ import annotations

import shlex

__all__ = ["fix_command", "fix_for"]

# Codes a re-run settles by itself: the server or the network failed, not the row.
_TRANSIENT = ("timeout", "network", "cancelled", "bad_answer", "rate_limited", "emfile")
_FIXES = {
    "missing_field": "Fill the column in the manifest, or give a default in the config's mapping.",
    "bad_timestamp": "Write the time as ISO 8601 with a zone, or set the mapping's timezone.",
    "bad_enum": "Use one of the values the message lists, or map the column's values.",
    "bad_email": "Correct the address, or drop the participant.",
    "bad_phone": "Write the number in E.164 (+14155550100), or set the mapping's region.",
    "too_long": "Shorten the value, or set truncate: true in the config.",
    "too_short": "Give a longer value.",
    "duplicate_external_id": "Give each row its own external_id (the first one was kept).",
    "unknown_field": "Remove the column, or map it to a field the API knows.",
    "bad_csv": "Close the quote or fix the delimiter on that line.",
    "bad_row_shape": "Give the row as many cells as the header has columns.",
    "bad_encoding": "Save the manifest as UTF-8, or set reading.encoding.",
    "transcript_file": "Put the transcript file beside the manifest, or pass --files-root.",
    "cloud_signing": "Check the cloud credentials (ae-import doctor shows them).",
    "tls": "Trust the proxy's CA: --ca-bundle PATH (ae-import doctor checks it).",
    "proxy": "Check --proxy and the proxy variables (ae-import doctor checks them).",
}


def fix_for(status: str, code: str | None) -> str:
    """Return one line that says how to fix the rows of ``status`` with ``code``."""
    word = code or ""
    if word in _FIXES:
        return _FIXES[word]
    if word.startswith(("media", "url_")):
        return "Check the media URL: public, audio or video, not expired (--check-media tells)."
    if status == "retryable" or word in _TRANSIENT or word.startswith(("http_5", "server")):
        return "Nothing in the row: run again, and these rows are sent again."
    if status == "failed":
        return (
            "The server refused the row: correct it in the fix file (export --as-manifest), "
            "then run that file."
        )
    return "Correct the row in the fix file (export --as-manifest), then run that file."


def fix_command(ledger: str, output: str = "ae-import-fix.csv") -> str:
    """Return the command that writes the fix file of ``ledger`` (quoted for a POSIX shell)."""
    return f"ae-import export --as-manifest --ledger {shlex.quote(ledger)} -o {shlex.quote(output)}"
