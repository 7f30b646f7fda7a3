"""Zones as exports write them, and each row's own zone (``timezone: {column:, default:}``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ae_import.errors import ConfigError
from ae_import.mapping import MappingConfig, check_zone, parse_mapping
from ae_import.mapping.mapper import Mapper
from ae_import.mapping.timestamps import find_zone

URL = "https://media.example-cdn.com/calls"
BASE: dict[str, Any] = {
    "defaults": {"type": "CALL", "source_system": "dialer"},
    "columns": {"external_id": "Id", "title": "Subject", "media_url": "Url"},
}


def mapping(**data: Any) -> MappingConfig:
    """Build a mapping from the ids, title and URL, and these top-level keys."""
    columns = {**BASE["columns"], **data.pop("columns", {})}
    return parse_mapping("c.yaml", {**BASE, "columns": columns, **data})


def row(**cells: str) -> dict[str, str]:
    """Return a CSV row with an id, a subject and a URL, and these cells besides."""
    return {"Id": "1", "Subject": "Intro", "Url": f"{URL}/1.mp3", **cells}


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("America/Chicago", -6),
        ("america/chicago", -6),
        ("UTC", 0),
        ("GMT", 0),
        ("UTC-5", -5),
        ("UTC+05:30", 5.5),
        ("GMT+1", 1),
        ("GMT+01:00", 1),
        ("+02:00", 2),
        ("-0330", -3.5),
        ("Eastern Standard Time", -5),
        ("W. Europe Standard Time", 1),
        ("India Standard Time", 5.5),
    ],
)
def test_zone_names_offsets_and_windows_names(text: str, hours: float) -> None:
    """IANA in any case, UTC/GMT offsets and Windows names resolve; offsets on 15 January."""
    from datetime import datetime

    zone = find_zone(text)
    assert zone is not None
    offset = datetime(2025, 1, 15, 12, tzinfo=zone).utcoffset()
    assert offset == timedelta(hours=hours)
    assert check_zone(text) is None


@pytest.mark.parametrize(
    "text", ["Mars/Olympus", "UTC+25", "+5:75", "", "Eastern Time", "5", "America/" * 2000]
)
def test_what_is_not_a_zone_is_named(text: str) -> None:
    """Unknown names, offsets past 18 hours and bare numbers are refused with the forms."""
    assert find_zone(text) is None
    message = check_zone(text)
    assert message is not None
    assert message.endswith(
        "use an IANA name such as UTC or America/New_York, an offset such as UTC-5 or +02:00, "
        "or a Windows name such as Eastern Standard Time"
    )


def test_each_row_is_read_in_its_own_zone_and_empty_cells_take_the_default() -> None:
    """Per-row zones in every form; an offset in the timestamp itself is kept."""
    mapper = Mapper(
        mapping(
            columns={"start_at": "When"},
            timezone={"column": "Zone", "default": "America/Chicago"},
        )
    )
    cases = [
        ("America/New_York", "2025-07-01 09:00", "2025-07-01T09:00:00-04:00"),
        ("Pacific Standard Time", "2025-07-01 09:00", "2025-07-01T09:00:00-07:00"),
        ("UTC+2", "2025-07-01 09:00", "2025-07-01T09:00:00+02:00"),
        ("", "2025-07-01 09:00", "2025-07-01T09:00:00-05:00"),
        ("Asia/Tokyo", "2025-07-01T09:00:00Z", "2025-07-01T09:00:00Z"),
    ]
    for zone, when, expected in cases:
        mapped = mapper.map(row(When=when, Zone=zone))
        assert mapped.problems == []
        assert mapped.body["start_at"] == expected, zone


def test_a_bad_zone_cell_is_a_row_problem_naming_the_zone_column() -> None:
    """bad_timezone on start_at, naming the zone column; the next row maps."""
    mapper = Mapper(mapping(columns={"start_at": "When"}, timezone={"column": "Zone"}))
    mapped = mapper.map(row(When="2025-07-01 09:00", Zone="Moon Standard Time"))
    [problem] = mapped.problems
    assert (problem.field, problem.code, problem.column) == ("start_at", "bad_timezone", "Zone")
    assert problem.message.startswith("unknown time zone 'Moon Standard Time'; use an IANA name")
    assert problem.message.endswith("; fix the row, or map another zone column")
    good = mapper.map(row(When="2025-07-01 09:00", Zone="Europe/Paris"))
    assert good.body["start_at"] == "2025-07-01T09:00:00+02:00"


def test_start_at_has_its_own_zone_column_and_template() -> None:
    """Date and time in two columns, a format, and start_at's own zone column."""
    mapper = Mapper(
        mapping(
            timezone="UTC",
            columns={
                "start_at": {
                    "template": "{Call Date} {Call Time}",
                    "format": "%m/%d/%Y %H:%M",
                    "timezone": {"column": "TZ", "default": "Europe/London"},
                }
            },
        )
    )
    body = mapper.map(row(**{"Call Date": "11/05/2025", "Call Time": "14:15", "TZ": "CET"})).body
    assert body["start_at"] == "2025-11-05T14:15:00+01:00"
    body = mapper.map(row(**{"Call Date": "07/05/2025", "Call Time": "14:15", "TZ": ""})).body
    assert body["start_at"] == "2025-07-05T14:15:00+01:00"


def test_start_ats_own_fixed_zone_outranks_the_mappings_zone_column() -> None:
    """columns.start_at.timezone: NAME wins over a top-level zone column."""
    mapper = Mapper(
        mapping(
            timezone={"column": "Zone"},
            columns={"start_at": {"column": "When", "timezone": "Asia/Tokyo"}},
        )
    )
    body = mapper.map(row(When="2025-07-01 09:00", Zone="Europe/Paris")).body
    assert body["start_at"] == "2025-07-01T09:00:00+09:00"


def test_the_string_form_takes_offsets_and_windows_names_too() -> None:
    """timezone: 'UTC-5' and 'Eastern Standard Time' work where an IANA name does."""
    for zone, expected in (("UTC-5", "-05:00"), ("Eastern Standard Time", "-04:00")):
        mapper = Mapper(mapping(timezone=zone, columns={"start_at": "When"}))
        assert mapper.map(row(When="2025-07-01 09:00")).body["start_at"].endswith(expected)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"timezone": {"default": "UTC"}}, "timezone needs column: the column of each row's"),
        ({"timezone": {"column": "Z", "defualt": "UTC"}}, "unknown key 'defualt' under timezone"),
        ({"timezone": {"column": "Z", "default": "Mars/Olympus"}}, "timezone.default: unknown"),
        (
            {"columns": {"start_at": {"column": "W", "timezone": {"column": "{"}}}},
            "columns.start_at.timezone.column: template '{' has a lone '{'",
        ),
    ],
)
def test_bad_zone_forms_are_config_errors(data: dict[str, Any], message: str) -> None:
    """Each wrong zone form is one ConfigError naming where it is."""
    with pytest.raises(ConfigError) as caught:
        mapping(**data)
    assert message in str(caught.value)
