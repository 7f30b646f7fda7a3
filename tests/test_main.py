"""The entry point: output that works on any console, and a stop signal found however wrapped."""

from __future__ import annotations

import io
import sys

import pytest

from ae_import.__main__ import portable_streams, stopped_by
from ae_import.errors import Terminated


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


def test_a_sigterm_raised_while_a_class_is_built_is_still_a_sigterm() -> None:
    """Python 3.11 wraps an exception from ``__set_name__`` in a RuntimeError: found anyway."""

    class Raises:
        def __set_name__(self, owner: type, name: str) -> None:
            raise Terminated

    with pytest.raises(BaseException) as caught:  # RuntimeError on 3.11, bare from 3.12

        class Built:
            field = Raises()

    assert stopped_by(caught.value, Terminated)
    assert not stopped_by(caught.value, KeyboardInterrupt)


def test_a_stop_inside_an_exception_group_or_a_context_is_found() -> None:
    """A group's member and an exception raised while handling another are searched."""
    group = BaseExceptionGroup("tasks", [ValueError("a"), KeyboardInterrupt()])
    assert stopped_by(group, KeyboardInterrupt)
    try:
        try:
            raise Terminated
        except Terminated:
            raise OSError("while cleaning up") from None
    except OSError as exc:
        assert exc.__cause__ is None
        assert stopped_by(exc, Terminated)  # __context__ is kept even with "from None"


def test_an_ordinary_error_is_not_a_stop_and_a_cycle_ends() -> None:
    """Errors unrelated to a signal are not stops; a cause cycle does not loop forever."""
    first, second = ValueError("a"), ValueError("b")
    first.__cause__, second.__cause__ = second, first
    assert not stopped_by(first, Terminated)
