"""Real exports read as they come (Zoom, Salesforce from Excel, a dialer's JSONL).

Each test here is one shape real exports take, seen through ``ae-import validate``:
timestamps as exports write them, Windows-1252 and Excel's ``sep=`` line, JSONL paths
and numbers, templates and value maps, required fields all at once, participant
entries and phones, and "did you mean" for column names.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.helpers import Writer
from tests.helpers.validating import problems, validate

URL = "https://media.example-cdn.com/calls"


CRM_CONFIG = """\
defaults: {type: CALL, source_system: crm}
columns: {external_id: Id, title: Subject, media_url: Url, start_at: When}
"""


@pytest.mark.parametrize(
    ("formats", "value", "expected"),
    [
        ("['%m/%d/%Y %I:%M %p']", "11/05/2025 02:15 PM", "2025-11-05T14:15:00-05:00"),
        ("['%m/%d/%Y']", "3/5/2024", "2024-03-05T00:00:00-05:00"),
        ("['%b %d, %Y %I:%M:%S %p']", "Nov 5, 2025 2:15:33 PM", "2025-11-05T14:15:33-05:00"),
        ("[epoch]", "1762370100", "2025-11-05T14:15:00-05:00"),
        ("[epoch_ms]", "1762370100250", "2025-11-05T14:15:00.250-05:00"),
        (None, "2025-11-05 14:15:00 UTC", "2025-11-05T14:15:00+00:00"),
        (None, "2025/11/05", "2025-11-05T00:00:00-05:00"),
        (None, "Nov 5, 2025 2:15:33 PM", "2025-11-05T14:15:33-05:00"),
    ],
)
def test_export_timestamps_are_read_with_timestamp_formats(
    runner: CliRunner, write: Writer, formats: str | None, value: str, expected: str
) -> None:
    """US dates, month names, `UTC` suffixes, slashes and epochs become RFC 3339."""
    patterns = f"timestamp_formats: {formats}\n" if formats else ""
    config = write("c.yaml", CRM_CONFIG + "timezone: America/New_York\n" + patterns)
    manifest = write("m.csv", f'Id,Subject,Url,When\n1,Intro,{URL}/1.mp3,"{value}"\n')
    report = validate(runner, manifest, config)
    assert problems(report) == []
    assert report["requests"][0]["start_at"] == expected


def test_an_unread_timestamp_names_a_pattern_that_reads_it(
    runner: CliRunner, write: Writer
) -> None:
    """A US date without a pattern is a problem that says which patterns would read it."""
    manifest = write("m.csv", f"Id,Subject,Url,When\n1,Intro,{URL}/1.mp3,11/05/2025 02:15 PM\n")
    report = validate(runner, manifest, write("c.yaml", CRM_CONFIG))
    assert problems(report) == [
        (
            2,
            "start_at",
            "When",
            "bad_timestamp",
            "'11/05/2025 02:15 PM' is not a timestamp this mapping reads; it reads with "
            "'%m/%d/%Y %I:%M %p' (month first) or '%d/%m/%Y %I:%M %p' (day first): add the "
            "right one to timestamp_formats, or give columns.start_at a format",
        )
    ]


CP1252 = (
    "Id;Subject;Url\r\n"
    "1;Call \x96 Discovery;https://media.example-cdn.com/calls/1.mp3\r\n"
    "2;\x93Plan B\x94 pricing;https://media.example-cdn.com/calls/2.mp3\r\n"
).encode("latin-1")
SF_CONFIG = """\
defaults: {type: CALL, source_system: salesforce}
columns: {external_id: Id, title: Subject, media_url: Url}
"""


@pytest.mark.parametrize(
    "manifest_section", ["manifest: {encoding: cp1252}\n", "", "manifest:\n  encoding: auto\n"]
)
def test_a_windows_1252_file_from_excel_is_read_whole(
    runner: CliRunner, write: Writer, manifest_section: str
) -> None:
    """Excel's cp1252 CSV: every row read, en dash and curly quotes intact (said or guessed)."""
    report = validate(runner, write("m.csv", CP1252), write("c.yaml", SF_CONFIG + manifest_section))
    assert problems(report) == []
    assert [r["title"] for r in report["requests"]] == ["Call – Discovery", "“Plan B” pricing"]


def test_excel_sep_line_is_not_the_header(runner: CliRunner, write: Writer) -> None:
    """`sep=;` on line 1 gives the delimiter; the header is line 2, rows keep their lines."""
    manifest = write("m.csv", b"sep=;\r\n" + CP1252)
    report = validate(runner, manifest, write("c.yaml", SF_CONFIG))
    assert problems(report) == []
    assert [r["external_id"] for r in report["requests"]] == ["1", "2"]


DIALER_CONFIG = """\
defaults: {type: CALL, source_system: dialer}
columns: {external_id: call.id, title: call.subject, media_url: media.audioUrl}
"""


def test_jsonl_dotted_paths_and_number_ids(runner: CliRunner, write: Writer) -> None:
    """`call.id` is a path into nested objects; a 64-bit number id stays exact, as text."""
    line = (
        '{"call": {"id": 7782342274025937895, "subject": "Intro"}, '
        f'"media": {{"audioUrl": "{URL}/1.mp3"}}}}\n'
    )
    report = validate(runner, write("d.jsonl", line), write("c.yaml", DIALER_CONFIG))
    assert problems(report) == []
    assert report["requests"][0]["external_id"] == "7782342274025937895"
    assert report["requests"][0]["media_url"] == f"{URL}/1.mp3"


def test_jsonl_missing_mapped_key_is_named(runner: CliRunner, write: Writer) -> None:
    """A record without the mapped key says which key, and the closest one it has."""
    line = json.dumps({"call": {"ID": "c-1", "subject": "Intro"}, "media": {"audioUrl": URL}})
    report = validate(runner, write("d.jsonl", line + "\n"), write("c.yaml", DIALER_CONFIG))
    assert problems(report) == [
        (
            1,
            "external_id",
            "call.id",
            "missing_field",
            "is required: this record has no key 'call.id' (did you mean 'call.ID'?); map "
            "another with columns.external_id",
        )
    ]


ZOOM_CSV = (
    "Topic,Host Name,CallType,ID,Url\n"
    f"QBR,Ava Chen,Conference,1,{URL}/1.mp4\n"
    f"Dial,Sam Patel,Outbound,2,{URL}/2.mp3\n"
    f"Left message,Sam Patel,Voicemail,3,{URL}/3.mp3\n"
)
ZOOM_CONFIG = """\
defaults: {source_system: zoom}
columns:
  external_id: ID
  title: "{Topic} - {Host Name}"
  media_url: Url
  type:
    column: CallType
    map: {Inbound: CALL, Outbound: CALL, Conference: MEETING}
"""


def test_title_template_and_type_value_map(runner: CliRunner, write: Writer) -> None:
    """A template fills the title; the value map turns call directions into types."""
    report = validate(runner, write("z.csv", ZOOM_CSV), write("c.yaml", ZOOM_CONFIG))
    assert [(r["title"], r["type"]) for r in report["requests"]] == [
        ("QBR - Ava Chen", "MEETING"),
        ("Dial - Sam Patel", "CALL"),
    ]
    assert problems(report) == [
        (
            4,
            "type",
            "CallType",
            "unmapped_value",
            "'Voicemail' is not in columns.type.map (Inbound, Outbound, Conference); add it "
            "to the map, or give columns.type a default",
        )
    ]
    with_default = write("d.yaml", ZOOM_CONFIG + "    default: CALL\n")
    report = validate(runner, write("z.csv", ZOOM_CSV), with_default)
    assert problems(report) == []
    assert report["requests"][2]["type"] == "CALL"


def test_required_fields_are_all_named_at_once_with_both_fixes(
    runner: CliRunner, write: Writer
) -> None:
    """A header lacking several required fields names them all, each with columns. and defaults."""
    manifest = write("m.csv", "external_id,Title,Media URL\n1,t,u\n")
    report = validate(runner, manifest)
    assert report["error"] == (
        f"ae-import: error: {manifest}: no column for required fields 'type', 'title', "
        "'source_system' and 'media_url' (columns: external_id, Title, Media URL); add a column "
        "named like each field, or in --config map one or set a default: columns.type or "
        "defaults.type; columns.title (did you mean 'Title'?) or defaults.title; "
        "columns.source_system or defaults.source_system; columns.media_url (did you mean "
        "'Media URL'?) or defaults.media_url\n"
    )


PEOPLE_CONFIG = """\
defaults: {type: CALL, source_system: crm}
columns: {external_id: Id, title: Subject, media_url: Url}
participants:
  list: {column: Participants, separator: ";"}
"""


def test_participant_entries_name_email_phone_and_vanity(runner: CliRunner, write: Writer) -> None:
    """`Name (email)` is read; a national phone becomes E.164; a vanity number is a problem."""
    cell = "Lee Park (lee.park@acme.example); (415) 555-2671; 1-800-FLOWERS"
    manifest = write("m.csv", f'Id,Subject,Url,Participants\n1,Intro,{URL}/1.mp3,"{cell}"\n')
    report = validate(runner, manifest, write("c.yaml", PEOPLE_CONFIG + "phone_region: US\n"))
    assert problems(report) == [
        (
            2,
            "participants[3].phone",
            "Participants",
            "bad_phone",
            "'1-800-FLOWERS' holds letters, so it is not a phone number; write it in digits "
            "(a name goes as 'Name <phone>')",
        )
    ]
    fixed = write("n.csv", f'Id,Subject,Url,Participants\n1,Intro,{URL}/1.mp3,"{cell[:-15]}"\n')
    report = validate(runner, fixed, write("c.yaml", PEOPLE_CONFIG + "phone_region: US\n"))
    assert report["requests"][0]["participants"] == [
        {"name": "Lee Park", "email": "lee.park@acme.example"},
        {"phone": "+14155552671"},
    ]


def test_national_phone_without_region_says_to_set_phone_region(
    runner: CliRunner, write: Writer
) -> None:
    """Without phone_region, `(415) 555-2671` is a problem naming phone_region, not a name."""
    manifest = write("m.csv", f"Id,Subject,Url,Participants\n1,Intro,{URL}/1.mp3,(415) 555-2671\n")
    report = validate(runner, manifest, write("c.yaml", PEOPLE_CONFIG))
    assert problems(report) == [
        (
            2,
            "participants[1].phone",
            "Participants",
            "bad_phone",
            "'(415) 555-2671' has no country code; set phone_region (such as US) in the "
            "config, or write it with + and its country code",
        )
    ]


def test_a_column_not_in_the_header_gets_did_you_mean(runner: CliRunner, write: Writer) -> None:
    """`id` against a header `Id`: exit 2, naming the column the config meant."""
    manifest = write("m.csv", f"Id,Subject,Url\n1,Intro,{URL}/1.mp3\n")
    config = write("c.yaml", SF_CONFIG.replace("external_id: Id", "external_id: id"))
    report = validate(runner, manifest, config)
    assert report["error"] == (
        f"ae-import: error: {manifest}: the config maps external_id to column 'id', which the "
        "header lacks (columns: Id, Subject, Url); did you mean 'Id'? fix columns.external_id "
        "in the config\n"
    )
