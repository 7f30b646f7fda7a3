"""Tests of row-to-request mapping: conversions, defaults, participants, column checks."""

from __future__ import annotations

import zoneinfo
from datetime import UTC
from typing import Any

import pytest

from ae_import.config import load_config
from ae_import.errors import ManifestError
from ae_import.mapping import EMPTY_MAPPING, MappingConfig, parse_mapping
from ae_import.mapping.headers import check_header
from ae_import.mapping.mapper import Mapper, encode_body, parse_timestamp
from tests.helpers import SAMPLES

DENVER = zoneinfo.ZoneInfo("America/Denver")
BASE = {
    "type": "CALL",
    "title": "t",
    "source_system": "s",
    "external_id": "e1",
    "media_url": "https://cdn.example.com/a.mp3",
}


def mapping(**data: Any) -> MappingConfig:
    """Build a MappingConfig from keyword arguments, as if read from YAML."""
    return parse_mapping("test.yaml", data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05T14:30:00Z", "2024-03-05T14:30:00Z"),
        ("2024-03-05T14:30:00.250+02:00", "2024-03-05T14:30:00.250+02:00"),
        ("2024-03-05 14:30", "2024-03-05T14:30:00-07:00"),
        ("2024-03-05 14:30:15", "2024-03-05T14:30:15-07:00"),
        ("2024-03-14 09:00", "2024-03-14T09:00:00-06:00"),
        ("2024-03-05", "2024-03-05T00:00:00-07:00"),
        ("2024-07-01T08:00", "2024-07-01T08:00:00-06:00"),
        ("2024-03-05 14:30:00+0100", "2024-03-05T14:30:00+01:00"),
        ("2024-03-05T14:30:00.123456789Z", "2024-03-05T14:30:00.123456789Z"),
        ("2024-03-05 14:30:00.123456789", "2024-03-05T14:30:00.123456-07:00"),
        ("  2024-03-05  ", "2024-03-05T00:00:00-07:00"),
    ],
)
def test_parse_timestamp_forms(text: str, expected: str) -> None:
    """RFC 3339 passes unchanged; naive forms take the zone's offset, DST included."""
    assert parse_timestamp(text, DENVER) == expected


@pytest.mark.parametrize(
    "text", ["5th of March", "2024-13-01", "2024-02-30 10:00", "03/05/2024", "2024-03-05T25:00", ""]
)
def test_parse_timestamp_refuses(text: str) -> None:
    """Anything else is not a timestamp."""
    assert parse_timestamp(text, UTC) is None


def test_identity_mapping_passes_api_columns() -> None:
    """Without a config, columns named like API fields map as they are."""
    row = {**BASE, "run_workflows": "no", "is_private": "yes", "extra column": "ignored"}
    mapped = Mapper(EMPTY_MAPPING).map(row)
    assert mapped.problems == []
    assert mapped.body == {**BASE, "run_workflows": False, "is_private": True}


def test_run_workflows_precedence() -> None:
    """The row wins, then --run-workflows, then the config default, then false."""
    plain = Mapper(EMPTY_MAPPING)
    assert plain.map(BASE).body["run_workflows"] is False
    flagged = Mapper(EMPTY_MAPPING, run_workflows=True)
    assert flagged.map(BASE).body["run_workflows"] is True
    assert flagged.map({**BASE, "run_workflows": "no"}).body["run_workflows"] is False
    configured = Mapper(mapping(defaults={"run_workflows": "yes"}))
    assert configured.map(BASE).body["run_workflows"] is True
    assert configured.map({**BASE, "run_workflows": "0"}).body["run_workflows"] is False


def test_columns_defaults_prefix_and_type_case() -> None:
    """Configured columns, defaults for empty cells, the id prefix and type case all apply."""
    mapper = Mapper(
        mapping(
            columns={"external_id": "Id", "title": "Subject", "type": "Kind", "media_url": "Url"},
            defaults={"type": "meeting", "source_system": "crm", "title": "Untitled"},
            external_id_prefix="crm:",
        )
    )
    body = mapper.map(
        {"Id": " 42 ", "Subject": "  ", "Kind": "call", "Url": BASE["media_url"]}
    ).body
    assert body == {
        "type": "CALL",
        "title": "Untitled",
        "source_system": "crm",
        "external_id": "crm:42",
        "media_url": BASE["media_url"],
        "run_workflows": False,
    }
    assert mapper.map({"Id": "43", "Url": "x"}).body["type"] == "MEETING"


def test_unconvertible_values_are_problems_with_their_column() -> None:
    """A bad boolean or timestamp is a problem that names the source column."""
    mapper = Mapper(mapping(columns={"is_private": "Private", "start_at": "When"}))
    mapped = mapper.map({**BASE, "Private": "sometimes", "When": "yesterday"})
    assert [(p.field, p.code, p.column) for p in mapped.problems] == [
        ("start_at", "bad_timestamp", "When"),
        ("is_private", "bad_boolean", "Private"),
    ]
    assert "start_at" not in mapped.body
    assert "is_private" not in mapped.body


def test_jsonl_values_are_not_trimmed() -> None:
    """With strip_cells off (JSONL), strings are taken exactly as written."""
    mapped = Mapper(EMPTY_MAPPING, strip_cells=False).map({**BASE, "title": " spaced "})
    assert mapped.body["title"] == " spaced "


def test_numbers_become_their_decimal_text() -> None:
    """A JSON number where a string belongs is sent as its decimal text, exactly."""
    mapper = Mapper(EMPTY_MAPPING, strip_cells=False)
    assert mapper.map({**BASE, "external_id": 7782342274025937895}).body["external_id"] == (
        "7782342274025937895"
    )
    assert mapper.map({**BASE, "title": 2.5}).body["title"] == "2.5"
    assert mapper.map({**BASE, "external_id": 12.0}).body["external_id"] == "12"
    mapped = mapper.map({**BASE, "external_id": 12.5})
    assert [(p.code, p.message) for p in mapped.problems] == [
        ("wrong_type", "12.5 is not a whole number; an id must be one, or text")
    ]


def test_non_string_values_pass_to_validation_unchanged() -> None:
    """A boolean or object where a string belongs is left for validation to report."""
    mapped = Mapper(EMPTY_MAPPING, strip_cells=False).map({**BASE, "title": True})
    assert mapped.body["title"] is True


def test_flat_participants_owner_list_and_repeats() -> None:
    """Owner columns give is_owner; list entries parse; the owner's repeat is dropped."""
    mapper = Mapper(load_config(SAMPLES / "salesforce.yaml").mapping)
    row = {
        "Call ID": "1",
        "Subject": "s",
        "Recording URL": BASE["media_url"],
        "Owner Name": "Dana",
        "Owner Email": "Dana@Example.com",
        "Owner Phone": "+1 (303) 555-0142",
        "Attendees": "Lee Park <lee@acme.example>; dana@example.com ;; +44 20 7183 8750;"
        ' Jordan Blake; "Quoted Name" <+15125550123>; 5125550100',
    }
    mapped = mapper.map(row)
    assert mapped.body["participants"] == [
        {"name": "Dana", "email": "Dana@Example.com", "phone": "+13035550142", "is_owner": True},
        {"name": "Lee Park", "email": "lee@acme.example"},
        {"phone": "+442071838750"},
        {"name": "Jordan Blake"},
        {"name": "Quoted Name", "phone": "+15125550123"},
        {"phone": "5125550100"},
    ]
    assert mapped.participant_columns[0]["email"] == "Owner Email"
    assert mapped.participant_columns[1] == {"": "Attendees"}


def test_owner_absent_when_its_cells_are_empty() -> None:
    """No owner entry is sent when every owner cell is empty."""
    mapper = Mapper(mapping(participants={"owner": {"name": "Owner"}}))
    assert "participants" not in mapper.map({**BASE, "Owner": ""}).body


def test_participants_as_json_array_cell_and_native_array() -> None:
    """A CSV cell holding a JSON array, and a native JSONL array, both give participants."""
    people = [{"name": "A", "is_owner": True}, {"email": "b@example.com"}]
    csv_cell = Mapper(EMPTY_MAPPING).map(
        {**BASE, "participants": '[{"name": "A", "is_owner": true}, {"email": "b@example.com"}]'}
    )
    assert csv_cell.body["participants"] == people
    native = Mapper(EMPTY_MAPPING, strip_cells=False).map({**BASE, "participants": people})
    assert native.body["participants"] == people


@pytest.mark.parametrize("cell", ["not json", "[unclosed", '{"name": "x"}'])
def test_participants_cell_that_is_not_an_array(cell: str) -> None:
    """A participants cell that is not a JSON array is a bad_participant problem."""
    mapped = Mapper(EMPTY_MAPPING).map({**BASE, "participants": cell})
    assert [p.code for p in mapped.problems] == ["bad_participant"]


def test_transcript_is_kept_exactly() -> None:
    """Transcript text is not trimmed, even from CSV."""
    mapped = Mapper(EMPTY_MAPPING).map({**BASE, "transcript_text": "  A: hi\n"})
    assert mapped.body["transcript_text"] == "  A: hi\n"


def test_check_header_refuses_missing_configured_column() -> None:
    """A configured column missing from the header is an error naming it and the fix."""
    mapper = Mapper(mapping(columns={"title": "Subject"}))
    with pytest.raises(ManifestError) as info:
        check_header(mapper, "m.csv", ("type", "source_system", "external_id", "media_url"))
    assert info.value.message == (
        "m.csv: the config maps title to column 'Subject', which the header lacks "
        "(columns: type, source_system, external_id, media_url); fix columns.title in the config"
    )


def test_check_header_refuses_missing_required_field() -> None:
    """A required field with neither a column nor a default is an error."""
    with pytest.raises(ManifestError, match="no column for required field 'media_url'"):
        check_header(
            Mapper(EMPTY_MAPPING), "m.csv", ("type", "title", "source_system", "external_id")
        )
    check_header(
        Mapper(mapping(defaults={"type": "CALL", "source_system": "x"})),
        "m.csv",
        ("title", "external_id", "media_url"),
    )


def test_check_header_refuses_missing_participant_column() -> None:
    """A participants column named in the config must exist in the header."""
    mapper = Mapper(mapping(participants={"list": "Attendees"}))
    with pytest.raises(ManifestError, match="participant column 'Attendees'"):
        check_header(mapper, "m.csv", tuple(BASE))


def test_encode_body_is_compact_utf8() -> None:
    """Bodies are sent as compact UTF-8 JSON, non-ASCII text unescaped."""
    assert encode_body({"title": "Café", "n": [1, 2]}) == '{"title":"Café","n":[1,2]}'.encode()


@pytest.mark.parametrize(
    ("text", "zone", "ambiguous", "expected"),
    [
        ("2024-03-10 01:59", "America/Denver", None, "2024-03-10T01:59:00-07:00"),
        ("2024-03-10 03:00", "America/Denver", None, "2024-03-10T03:00:00-06:00"),
        ("2024-03-10 02:30:15", "America/Denver", None, None),
        ("2024-03-10 02:30:15", "America/Denver", "earlier", "2024-03-10T02:30:15-06:00"),
        ("2024-03-10 02:30:15", "America/Denver", "later", "2024-03-10T02:30:15-07:00"),
        ("2024-11-03 01:30", "America/Denver", None, None),
        ("2024-11-03 01:30", "America/Denver", "earlier", "2024-11-03T01:30:00-06:00"),
        ("2024-11-03 01:30", "America/Denver", "later", "2024-11-03T01:30:00-07:00"),
        ("2024-11-03 02:30", "America/Denver", None, "2024-11-03T02:30:00-07:00"),
        ("2024-03-31 01:59", "Europe/Berlin", None, "2024-03-31T01:59:00+01:00"),
        ("2024-03-31 03:00:00", "Europe/Berlin", None, "2024-03-31T03:00:00+02:00"),
        ("2024-10-27 02:30", "Europe/Berlin", "earlier", "2024-10-27T02:30:00+02:00"),
        ("2024-10-27 02:30", "Europe/Berlin", "later", "2024-10-27T02:30:00+01:00"),
    ],
)
def test_naive_times_around_dst_changes(
    text: str, zone: str, ambiguous: str | None, expected: str | None
) -> None:
    """Next to a DST change, the offset in force; in a gap or fold, the instant asked for."""
    from ae_import.mapping.timestamps import parse_timestamp as read

    assert read(text, zone, ambiguous=ambiguous) == expected


def test_doubled_braces_are_literal_text_not_a_column() -> None:
    """The source "{{title}}" is the text {title} on every row, as docs/mapping.md says."""
    from ae_import.mapping.sources import parse_source

    source = parse_source("{{title}}")
    assert (source.names, source.read({"title": "x", "{title}": "y"})) == ((), "{title}")
    assert parse_source("{{{Subject}}}").read({"Subject": "Hi"}) == "{Hi}"


def test_an_empty_template_column_leaves_one_space() -> None:
    """The template "{a} {b} {c}" with b empty reads "A C", not "A  C"."""
    from ae_import.mapping.sources import parse_source

    source = parse_source("{a} {b} {c}")
    assert source.read({"a": "A", "b": "", "c": "C"}) == "A C"
    assert source.read({"a": "A", "b": "B", "c": "C"}) == "A B C"
