"""ae-import init's reading and guessing: encodings, layouts, exports, timestamps, YAML."""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.init.core import mapping_text
from ae_import.init.exports import recognise
from ae_import.init.values import read_stamps
from ae_import.init.yaml_text import scalar
from ae_import.reading.sample import read_sample
from tests.helpers import Writer

# --- reading: encoding, sep=, delimiter, JSONL paths ---------------------------------


@pytest.mark.parametrize(
    ("data", "codec", "why"),
    [
        (b"a,b\n1,2\n", "utf-8", "valid UTF-8"),
        (codecs.BOM_UTF8 + b"a,b\n1,2\n", "utf-8", "UTF-8 with a byte-order mark"),
        ("a;b\n1;2\n".encode("utf-16"), "utf-16", "UTF-16 (its byte-order mark)"),
        (
            "a;b\n1;2\n".encode("utf-16-le"),
            "utf-16-le",
            "UTF-16 without a byte-order mark (NUL bytes)",
        ),
        ("x,y\nCall – “Plan B”,1\n".encode("cp1252"), "cp1252", "byte 0x96 on line 2 is not UTF-8"),
    ],
)
def test_the_sample_says_which_encoding_the_reader_chose(
    write: Writer, data: bytes, codec: str, why: str
) -> None:
    """Init reports the encoding validate reads with: a BOM, UTF-16 without one, UTF-8, cp1252."""
    sample = read_sample(str(write("e.csv", data)))
    assert (sample.encoding, sample.encoding_reason) == (codec, why)
    assert len(sample.rows) == 1


def test_init_samples_exactly_the_rows_validate_reads(runner: CliRunner, write: Writer) -> None:
    """A title holding U+2028 or U+0085 is one row to init and to validate alike."""
    rows = "".join(
        f"CALL,Call{sep}{n},crm,id{n},https://cdn.example.com/{n}.mp3\n"
        for n, sep in enumerate(["\u2028", "\x85", "\u2029", " "])
    )
    path = write("m.csv", "type,title,source_system,external_id,media_url\n" + rows)
    sample = read_sample(str(path))
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert json.loads(result.stdout)["rows"] == len(sample.rows) == 4
    assert sample.rows[0]["title"] == "Call\u20280"


def test_cp1252_excel_export_with_sep_line_is_read(write: Writer) -> None:
    """sep=; gives the delimiter and is skipped; cp1252 cells decode; the header is line 2."""
    data = "sep=;\r\nId;Subject\r\n1;Call – intro\r\n2;“Quoted”\r\n".encode("cp1252")
    sample = read_sample(str(write("tasks.csv", data)))
    assert (sample.encoding, sample.sep_line, sample.delimiter) == ("cp1252", True, ";")
    assert sample.columns == ["Id", "Subject"]
    assert sample.rows == [
        {"Id": "1", "Subject": "Call – intro"},
        {"Id": "2", "Subject": "“Quoted”"},
    ]


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        ("a|b|c\n1|2|3\n4|5|6\n", "|"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a;b;c\n1;2,5;3\n4;5;6\n", ";"),
        ('a,b,c\n"x;y;z",2,3\n4,5,6\n', ","),
    ],
)
def test_delimiter_is_sniffed(write: Writer, content: str, delimiter: str) -> None:
    """The delimiter that splits every row like the header is found (quotes respected)."""
    sample = read_sample(str(write("x.csv", content)))
    assert sample.delimiter == delimiter
    assert sample.columns == ["a", "b", "c"]


def test_title_lines_before_the_header_become_skip_lines(write: Writer) -> None:
    """A report's title line without the delimiter is skipped and written as skip_lines."""
    sample = read_sample(str(write("r.csv", "Calls report\nCall ID,Subject\n1,Hi\n")))
    assert (sample.skip_lines, sample.columns) == (1, ["Call ID", "Subject"])
    assert "  skip_lines: 1" in mapping_text(sample).text


def test_jsonl_objects_are_flattened_to_paths(write: Writer) -> None:
    """Nested keys become dotted paths; lists of objects stay whole and give [0] paths."""
    line = {
        "metaData": {"id": 7782342274025937895, "a.b": 1},
        "parties": [{"name": "A"}],
        "tags": ["x"],
    }
    sample = read_sample(str(write("c.jsonl", json.dumps(line) + "\n")))
    assert sample.format == "jsonl"
    assert sample.columns == [
        "metaData.id",
        "metaData.a.b",
        "parties",
        "parties[0].name",
        "tags",
        "tags[0]",
    ]
    assert sample.rows[0]["metaData.id"] == 7782342274025937895
    assert sample.rows[0]["parties"] == [{"name": "A"}]


def test_a_name_without_a_known_extension_is_read_by_its_content(
    runner: CliRunner, write: Writer
) -> None:
    """JSONL in a .txt file is JSONL to init and to validate alike: no --format needed."""
    path = write("calls.txt", '{"id": "a1", "title": "Hi"}\n')
    sample = read_sample(str(path))
    assert sample.format == "jsonl"
    assert "#   ae-import validate calls.txt --config calls.yaml\n" in (
        mapping_text(sample, config_name="calls.yaml").text
    )
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert json.loads(result.stdout)["rows"] == 1


# --- recognition and guesses ----------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "source_system"),
    [
        (["Topic", "ID", "Host Name", "Host Email", "Start Time", "Download URL"], "zoom"),
        (["uuid", "id", "host_id", "topic", "start_time", "recording_files"], "zoom"),
        (["metaData.id", "metaData.started", "parties", "media.audioUrl"], "gong"),
        (["Id", "Subject", "CallType", "ActivityDate", "Who.Name"], "salesforce"),
        (
            ["Record ID", "Call Title", "Activity date", "Call direction", "Recording URL"],
            "hubspot",
        ),
        (["hs_object_id", "hs_call_title", "hs_timestamp", "hs_call_recording_url"], "hubspot"),
        (["engagement_id", "subject", "date_time", "user_email", "participants"], "chorus"),
        (["id", "direct_link", "direction", "started_at", "raw_digits", "recording"], "aircall"),
        (["call_id", "date_started", "direction", "external_number", "internal_number"], "dialpad"),
        (
            [
                "id",
                "sessionId",
                "startTime",
                "direction",
                "from.phoneNumber",
                "recording.contentUri",
            ],
            "ringcentral",
        ),
    ],
)
def test_known_exports_are_recognised_by_their_headers(
    headers: list[str], source_system: str
) -> None:
    """Each listed export is recognised from its documented column names."""
    export = recognise(headers)
    assert export is not None
    assert export.source_system == source_system


def test_unknown_headers_are_not_recognised() -> None:
    """A header set of no known export is recognised as none."""
    assert recognise(["Call ID", "Subject", "Recording URL", "Start Time"]) is None


def test_a_recognised_export_sets_source_system_and_prefix(write: Writer) -> None:
    """A synthetic Dialpad export: source_system, prefix, epoch_ms, direction map, phones."""
    rows = [
        "call_id,date_started,direction,external_number,internal_number,recording_url,contact_name",
        "5001,1762352133000,inbound,(415) 555-2671,+13035550142,"
        "https://dp.example-cdn.com/r/5001.mp3,Lee Park",
        "5002,1762355733000,outbound,(646) 555-0187,+13035550142,"
        "https://dp.example-cdn.com/r/5002.mp3,Priya Nair",
    ]
    data = yaml.safe_load(
        mapping_text(read_sample(str(write("dialpad.csv", "\n".join(rows) + "\n")))).text
    )
    assert data["defaults"]["source_system"] == "dialpad"
    assert data["external_id_prefix"] == "dialpad:"
    assert data["phone_region"] == "US"
    assert data["columns"]["start_at"] == {"column": "date_started", "format": "epoch_ms"}
    assert data["columns"]["type"] == {
        "column": "direction",
        "map": {"inbound": "CALL", "outbound": "CALL"},
        "default": "CALL",
    }
    assert data["columns"]["title"] == "Call with {contact_name}"
    assert data["participants"]["list"] == "{contact_name} <{external_number}>"


def test_without_a_title_column_the_title_names_the_contact(write: Writer) -> None:
    """An Aircall export has no title: "Call with {raw_digits}", its contact's number."""
    lines = [
        {
            "id": 812,
            "direct_link": "https://api.aircall.io/v1/calls/812",
            "direction": "inbound",
            "started_at": 1762352133,
            "raw_digits": "(646) 555-0187",
            "recording": "https://aircall-rec.example-cdn.com/812.mp3",
            "user": {"name": "Ava Chen", "email": "ava@example.com"},
        },
    ]
    manifest = write("calls.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    written = mapping_text(read_sample(str(manifest)), timezone="UTC")
    data = yaml.safe_load(written.text)
    assert data["columns"]["title"] == "Call with {raw_digits}"
    assert data["participants"] == {
        "owner": {"name": "user.name", "email": "user.email"},
        "list": "raw_digits",
    }
    assert "# the number (646) 555-0187 lacks its +1: North American\n" in written.text


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        (["11/05/2025 02:15 PM", "3/5/2024 9:07 AM"], "%m/%d/%Y %I:%M %p"),
        (["11/05/2025 02:15:33 PM", "10/28/2025 09:00:12 AM"], "%m/%d/%Y %I:%M:%S %p"),
        (["3/5/2024", "12/31/2024"], "%m/%d/%Y"),
        (["28/10/2025 14:00", "05/11/2025 09:30"], "%d/%m/%Y %H:%M"),
        (["Nov 05, 2025 02:15:33 PM", "Oct 28, 2025 09:00:12 AM"], "%b %d, %Y %I:%M:%S %p"),
        (["2025-11-05 14:15:33 UTC"], "%Y-%m-%d %H:%M:%S UTC"),
        (["2025/11/05", "2025/01/31"], "%Y/%m/%d"),
        (["05.11.2025 14:15"], "%d.%m.%Y %H:%M"),
        ([1762352133, "1762355733"], "epoch"),
        ([1762352133000], "epoch_ms"),
        (["2025-11-05T14:15:33-08:00", "2025-11-05 14:15"], None),
    ],
)
def test_the_pattern_that_parses_every_sampled_value_is_chosen(
    values: list[Any], pattern: str | None
) -> None:
    """The first strftime pattern (or epoch form) that parses all values; RFC 3339 needs none."""
    stamps = read_stamps(values)
    assert stamps is not None
    assert stamps.format == pattern


def test_a_repeating_id_is_joined_to_the_start_time(write: Writer) -> None:
    """Recurring Zoom meetings share an ID: ID and Start Time together are the external_id."""
    rows = (
        "Topic,ID,Host Email,Start Time,Download URL\n"
        "Weekly,812,ava@example.com,2025-11-03 09:00,https://zoom.us/rec/download/a.mp4\n"
        "Weekly,812,ava@example.com,2025-11-10 09:00,https://zoom.us/rec/download/b.mp4\n"
        "Demo,899,ava@example.com,2025-11-11 10:00,https://zoom.us/rec/download/c.mp4\n"
        "a broken row\n"
    )
    written = mapping_text(read_sample(str(write("zoom.csv", rows))), timezone="UTC")
    assert yaml.safe_load(written.text)["columns"]["external_id"] == "{ID}-{Start Time}"
    assert "# ID repeats in 1 of 3 sampled rows; with Start Time it is unique\n" in written.text
    assert "# 1 sampled record could not be read" in written.text


def test_values_no_pattern_parses_are_not_timestamps() -> None:
    """One value no pattern reads (or a duration) rules the column out."""
    assert read_stamps(["11/05/2025 02:15 PM", "soon"]) is None
    assert read_stamps([41, 55]) is None
    assert read_stamps([]) is None


def test_day_month_ambiguity_and_naive_values_are_said(write: Writer) -> None:
    """All days 12 or less: the comment says to check; naive without --timezone: a TODO."""
    rows = "ID,Subject,Date,Audio\n1,A,05/11/2025 14:00,https://a.example-cdn.com/1.wav\n"
    text = mapping_text(read_sample(str(write("a.csv", rows)))).text.replace("\n  # ", " ")
    assert "day/month would too: check one whose day is over 12" in text
    assert "# TODO timezone: Date has no UTC offset" in text
    with_zone = mapping_text(read_sample(str(write("a.csv", rows))), timezone="Europe/Paris").text
    assert yaml.safe_load(with_zone)["timezone"] == "Europe/Paris"


def test_a_naive_time_in_a_dst_fold_gets_ambiguous_earlier(
    runner: CliRunner, write: Writer
) -> None:
    """01:30 on 2025-11-02 happens twice in New York: init says ambiguous: earlier; it validates."""
    rows = (
        "ID,Subject,Start Time,Recording\n"
        "1,A,11/02/2025 01:30 AM,https://a.example-cdn.com/1.mp3\n"
        "2,B,11/03/2025 09:00 AM,https://a.example-cdn.com/2.mp3\n"
    )
    manifest = write("fold.csv", rows)
    text = mapping_text(read_sample(str(manifest)), timezone="America/New_York").text
    assert yaml.safe_load(text)["ambiguous"] == "earlier"
    assert "# 11/02/2025 01:30 AM is skipped or repeated by a daylight-saving change" in text
    assert "ambiguous" not in mapping_text(read_sample(str(manifest)), timezone="UTC").text
    result = runner.invoke(
        app, ["init", str(manifest), "--timezone", "America/New_York", "--source-system", "x"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.endswith("2 rows: 2 valid, 0 invalid, 0 problems\n")


def test_national_numbers_outside_north_america_leave_a_phone_region_todo(write: Writer) -> None:
    """Numbers without +, not North American: phone_region is a TODO, not a wrong guess."""
    rows = (
        "ID,Subject,Recording,Contact Name,Contact Phone\n"
        "1,A,https://a.example-cdn.com/1.mp3,Jo,020 7946 0958\n"
    )
    written = mapping_text(read_sample(str(write("uk.csv", rows))))
    assert "phone_region" in written.todos
    assert "phone_region" not in yaml.safe_load(written.text)
    assert (
        "# TODO phone_region: numbers such as 020 7946 0958 lack their country code" in written.text
    )


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("Start Time", "Start Time"),
        ("Who.Name", "Who.Name"),
        ("Zoë’s “call”", "Zoë’s “call”"),
        ("-x", "-x"),
        ("yes", '"yes"'),
        ("No", '"No"'),
        ("null", '"null"'),
        ("~", '"~"'),
        ("sf:", '"sf:"'),
        ("a: b", '"a: b"'),
        ("#1", '"#1"'),
        ("x # y", '"x # y"'),
        ("{Subject} with {Who}", '"{Subject} with {Who}"'),
        ("%m/%d/%Y", '"%m/%d/%Y"'),
        ("[0]", '"[0]"'),
        ("a,b", '"a,b"'),
        ("1.5", '"1.5"'),
        ("007", '"007"'),
        (" lead", '" lead"'),
        ("trail ", '"trail "'),
        (";", '";"'),
    ],
)
def test_every_scalar_reads_back_as_the_same_string(text: str, written: str) -> None:
    """Plain where YAML reads it back unchanged, else quoted; safe_load returns the same text."""
    assert scalar(text) == written
    assert yaml.safe_load(f"k: {written}") == {"k": text}
    assert yaml.safe_load(f"k: {{v: {written}}}") == {"k": {"v": text}}


def test_a_jsonl_line_nested_100000_deep_is_one_unreadable_record(write: Writer) -> None:
    """Init samples through the reader: a line nested past reading is one record left out."""
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    good = json.dumps({"id": "c1", "title": "Hi"}) + "\n"
    sample = read_sample(str(write("d.jsonl", deep + good)))
    assert (sample.unreadable, len(sample.rows)) == (1, 1)
    assert "could not be read" in mapping_text(sample).text
