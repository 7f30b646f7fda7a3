"""The declared options' parsers: one boolean parser for every source."""

from __future__ import annotations

from typing import Any

import pytest

from ae_import.options import parse_bool


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("1", True),
        (" y ", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("F", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("on", True),
        ("off", False),
        ("", False),
        ("maybe", None),
        (2, None),
        (None, None),
        ([], None),
    ],
)
def test_one_boolean_parser_for_every_source(value: Any, expected: bool | None) -> None:
    """parse_bool reads true/false, yes/no, on/off, y/n, t/f, 1/0 in any case; else ValueError."""
    if expected is None:
        with pytest.raises(ValueError, match="is not true or false"):
            parse_bool(value)
    else:
        assert parse_bool(value) is expected
