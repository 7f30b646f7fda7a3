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


def test_stage_to_and_bytes_rate_parsers() -> None:
    """--stage-to takes s3/gs/az bucket and prefix; --stage-bps reads rclone-style sizes."""
    from ae_import.options import parse_bytes_rate, parse_stage_to

    assert parse_stage_to("S3://bkt/calls/2024/") == "s3://bkt/calls/2024"
    assert parse_stage_to("az://container") == "az://container"
    for bad in ("https://x/y", "s3://", "s3://b/../c", "/tmp/x"):
        with pytest.raises(ValueError):
            parse_stage_to(bad)
    assert [parse_bytes_rate(t) for t in ("0", "512k", "10M", "1.5G", "2MiB/s")] == [
        0,
        512 * 1024,
        10 * 1024**2,
        int(1.5 * 1024**3),
        2 * 1024**2,
    ]
    for bad in ("fast", "10 T", "100"):
        with pytest.raises(ValueError):
            parse_bytes_rate(bad)
