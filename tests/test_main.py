"""The entry point: output that works on any console (a Windows code page included)."""

from __future__ import annotations

import io
import sys

import pytest

from ae_import.__main__ import portable_streams


def test_a_console_without_the_characters_gets_escapes_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cp1252 stdout (Windows, piped): table lines and arrows become escapes, no exception."""
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="cp1252")
    monkeypatch.setattr(sys, "stdout", stdout)
    portable_streams()
    stdout.write("━╇ café →\n")
    stdout.flush()
    assert raw.getvalue() == "\\u2501\\u2547 café \\u2192\n".encode("cp1252")
