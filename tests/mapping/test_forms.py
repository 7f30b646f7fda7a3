"""The rules of the mapping forms: numbers, booleans, phones, sources, templates, files.

Through ``ae-import validate`` where the user sees it (exit codes and messages exact), and
through the Mapper where a rule has many cases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ae_import.errors import ConfigError
from ae_import.mapping import MappingConfig, parse_mapping, transcripts
from ae_import.mapping.mapper import Mapper
from tests.helpers import SAMPLES, Writer
from tests.helpers.validating import problems, validate

URL = "https://media.example-cdn.com/calls"
BASE = {"defaults": {"type": "CALL", "source_system": "crm"}}


def mapping(**data: Any) -> MappingConfig:
    """Build a MappingConfig from keyword arguments, as if read from YAML (with BASE defaults)."""
    return parse_mapping("test.yaml", {**BASE, **data})


DIALER = """\
defaults: {type: CALL, source_system: dialer}
columns: {external_id: call.id, title: call.subject, media_url: media.url}
"""


def test_jsonl_numbers_are_decimal_text_and_a_fraction_id_is_a_problem(
    runner: CliRunner, write: Writer
) -> None:
    """A 64-bit id stays exact, a number title is its text; an id of 12.5 is a problem."""
    lines = [
        {"call": {"id": 7782342274025937895, "subject": 2025}, "media": {"url": f"{URL}/1.mp3"}},
        {"call": {"id": 12.5, "subject": "Intro"}, "media": {"url": f"{URL}/2.mp3"}},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    report = validate(runner, write("d.jsonl", text), write("c.yaml", DIALER))
    assert [(r["external_id"], r["title"]) for r in report["requests"]] == [
        ("7782342274025937895", "2025")
    ]
    assert problems(report) == [
        (
            2,
            "external_id",
            "call.id",
            "wrong_type",
            "12.5 is not a whole number; an id must be one, or text",
        )
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("YES", True),
        ("y", True),
        ("1", True),
        ("False", False),
        ("no", False),
        ("N", False),
        ("0", False),
    ],
)
def test_booleans_in_every_form(cell: str, expected: bool) -> None:
    """true/false, yes/no, y/n, 1/0 in any case."""
    mapper = Mapper(mapping(columns={"is_private": "Private"}))
    row = {"title": "t", "external_id": "1", "media_url": f"{URL}/1.mp3", "Private": cell}
    assert mapper.map(row).body["is_private"] is expected


def test_a_boolean_that_is_not_one_names_the_value() -> None:
    """Anything else is a bad_boolean problem naming the value and its column."""
    mapper = Mapper(mapping(columns={"is_private": "Private"}))
    row = {"title": "t", "external_id": "1", "media_url": f"{URL}/1.mp3", "Private": "maybe so"}
    problem = mapper.map(row).problems[0]
    assert (problem.code, problem.column, problem.message) == (
        "bad_boolean",
        "Private",
        "'maybe so' is not a boolean; use true/false, yes/no or 1/0",
    )


def test_owner_and_list_phones_become_e164_with_phone_region() -> None:
    """National numbers take the region's code; +numbers keep theirs; the owner is sent once."""
    mapper = Mapper(
        mapping(
            phone_region="us",
            participants={
                "owner": {"name": "Owner", "phone": "Owner Phone"},
                "list": "Attendees",
            },
        )
    )
    row = {
        "title": "t",
        "external_id": "1",
        "media_url": f"{URL}/1.mp3",
        "Owner": "Dana",
        "Owner Phone": "(303) 555-0142",
        "Attendees": "303.555.0142; Zoë <+44 20 7946 0958>; Lee (415-555-2671)",
    }
    mapped = mapper.map(row)
    assert mapped.problems == []
    assert mapped.body["participants"] == [
        {"name": "Dana", "phone": "+13035550142", "is_owner": True},
        {"name": "Zoë", "phone": "+442079460958"},
        {"name": "Lee", "phone": "+14155552671"},
    ]


def test_an_invalid_number_is_a_problem_not_a_guess() -> None:
    """A number that is not valid in its country is a bad_phone problem on its entry."""
    mapper = Mapper(mapping(phone_region="US", participants={"list": "Attendees"}))
    row = {"title": "t", "external_id": "1", "media_url": f"{URL}/1.mp3", "Attendees": "555-0100"}
    problem = mapper.map(row).problems[0]
    assert (problem.field, problem.code, problem.column, problem.message) == (
        "participants[1].phone",
        "bad_phone",
        "Attendees",
        "'555-0100' is not a valid phone number in US; check its digits",
    )


TEMPLATED = """\
defaults: {type: CALL, source_system: crm}
columns:
  external_id: Id
  title: "{Subject} with {Who.Name}"
  media_url: Url
"""


def test_a_problem_names_the_template_it_came_from(runner: CliRunner, write: Writer) -> None:
    """A title made by a template and too long names the template as its source."""
    manifest = write("m.csv", f"Id,Subject,Who.Name,Url\n1,{'x' * 495},Lee Park,{URL}/1.mp3\n")
    report = validate(runner, manifest, write("c.yaml", TEMPLATED))
    assert problems(report) == [
        (2, "title", "{Subject} with {Who.Name}", "too_long", "509 characters; the limit is 500")
    ]


def test_a_template_naming_a_missing_column_stops_before_the_first_row(
    runner: CliRunner, write: Writer
) -> None:
    """Exit 2, one line: the template, the column it lacks, the one probably meant."""
    manifest = write("m.csv", f"Id,Subject,Who Name,Url\n1,Intro,Lee Park,{URL}/1.mp3\n")
    report = validate(runner, manifest, write("c.yaml", TEMPLATED))
    assert report["error"] == (
        f"ae-import: error: {manifest}: the config's columns.title template "
        "'{Subject} with {Who.Name}' names column 'Who.Name', which the header lacks "
        "(columns: Id, Subject, Who Name, Url); did you mean 'Who Name'? fix columns.title in "
        "the config\n"
    )


def test_every_missing_column_is_named_at_once(runner: CliRunner, write: Writer) -> None:
    """Three columns the config names and the header lacks: one line naming all three."""
    manifest = write("m.csv", f"ID,Subject,Url\n1,Intro,{URL}/1.mp3\n")
    config = write(
        "c.yaml",
        TEMPLATED.replace("external_id: Id", "external_id: id")
        + "participants:\n  list: Attendees\n  owner: {email: Owner Email}\n",
    )
    report = validate(runner, manifest, config)
    assert report["error"] == (
        f"ae-import: error: {manifest}: the header lacks 4 columns the config names: 'id' "
        "(columns.external_id; did you mean 'ID'?), 'Who.Name' (columns.title), 'Owner Email' "
        "(participants.owner.email), 'Attendees' (participants.list) (columns: ID, Subject, "
        "Url); fix them in the config\n"
    )


def test_strings_are_trimmed_from_csv_and_from_mapped_jsonl_keys() -> None:
    """Surrounding spaces go from cells and from mapped keys; an unmapped JSONL key is as sent."""
    csv_mapper = Mapper(mapping(columns={"title": "Subject"}))
    row = {"Subject": "  Intro call \t", "external_id": " 1 ", "media_url": f"{URL}/1.mp3"}
    assert csv_mapper.map(row).body["title"] == "Intro call"
    jsonl = Mapper(mapping(columns={"title": "call.subject"}), strip_cells=False)
    record = {"call": {"subject": " Intro "}, "external_id": "1", "media_url": f"{URL}/1.mp3"}
    assert jsonl.map(record).body["title"] == "Intro"
    identity = Mapper(mapping(), strip_cells=False)
    assert identity.map({**record, "title": " as sent "}).body["title"] == " as sent "


@pytest.mark.parametrize(
    "unit",
    [
        "e\u0301",  # e and a combining acute accent: one grapheme, two code points
        "\U0001f1fa\U0001f1f8",  # a flag: two regional indicators
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a family joined by ZWJ: five
    ],
)
def test_truncate_cuts_a_long_title_at_a_grapheme_boundary(unit: str) -> None:
    """With truncate: true, 500 characters at most, ending in …, no grapheme split."""
    title = "Call " + unit * 400
    row = {"Subject": title, "external_id": "1", "media_url": f"{URL}/1.mp3"}
    refused = Mapper(mapping(columns={"title": "Subject"}))
    assert refused.map(row).body["title"] == title  # validation reports too_long
    mapper = Mapper(mapping(columns={"title": {"column": "Subject", "truncate": True}}))
    cut = mapper.map(row).body["title"]
    assert cut.endswith("…")
    assert len(cut) <= 500
    assert len(cut) > 500 - 1 - len(unit)
    assert cut[:5] == "Call "
    assert cut[5:-1] == unit * ((len(cut) - 6) // len(unit))  # whole graphemes only


AMBIGUOUS = """\
defaults: {type: CALL, source_system: crm}
timezone: America/New_York
columns: {external_id: Id, title: Subject, media_url: Url, start_at: When}
"""


def test_dst_gap_and_fold_are_reported_unless_the_config_says(
    runner: CliRunner, write: Writer
) -> None:
    """01:30 on the night clocks go back happens twice: timestamp_ambiguous, or later's instant."""
    text = (
        f"Id,Subject,Url,When\n1,a,{URL}/1.mp3,2025-11-02 01:30\n2,b,{URL}/2.mp3,2025-03-09 02:30\n"
    )
    manifest = write("m.csv", text)
    report = validate(runner, manifest, write("c.yaml", AMBIGUOUS))
    assert report["exit"] == 1
    assert problems(report) == [
        (
            2,
            "start_at",
            "When",
            "timestamp_ambiguous",
            "'2025-11-02 01:30' happens twice in America/New_York (the clocks go back); set "
            "ambiguous: earlier or later in the config to take one of its two instants",
        ),
        (
            3,
            "start_at",
            "When",
            "timestamp_ambiguous",
            "'2025-03-09 02:30' does not exist in America/New_York (the clocks skip it); set "
            "ambiguous: earlier or later in the config to take one of its two instants",
        ),
    ]
    report = validate(runner, manifest, write("d.yaml", AMBIGUOUS + "ambiguous: later\n"))
    assert [r["start_at"] for r in report["requests"]] == [
        "2025-11-02T01:30:00-05:00",
        "2025-03-09T02:30:00-05:00",
    ]


def test_a_column_of_its_own_format_and_timezone(runner: CliRunner, write: Writer) -> None:
    """start_at: {column, format, timezone}: that column's pattern and zone, not the file's."""
    config = AMBIGUOUS.replace(
        "start_at: When}",
        "start_at: {column: When, format: '%m/%d/%Y %I:%M %p', timezone: America/Chicago}}",
    )
    manifest = write("m.csv", f"Id,Subject,Url,When\n1,a,{URL}/1.mp3,11/05/2025 02:15 PM\n")
    report = validate(runner, manifest, write("c.yaml", config))
    assert report["requests"][0]["start_at"] == "2025-11-05T14:15:00-06:00"


def test_value_maps_match_in_any_case_and_map_booleans_too() -> None:
    """A value map is exact first, then case-insensitive; is_private can be mapped to booleans."""
    mapper = Mapper(
        mapping(
            columns={
                "type": {"column": "Kind", "map": {"Inbound": "call", "Video": "MEETING"}},
                "is_private": {"column": "Vis", "map": {"Private": True, "Public": "no"}},
            }
        )
    )
    row = {"title": "t", "external_id": "1", "media_url": f"{URL}/1.mp3", "Kind": "VIDEO"}
    body = mapper.map({**row, "Vis": "private"}).body
    assert (body["type"], body["is_private"]) == ("MEETING", True)
    body = mapper.map({**row, "Kind": "inbound", "Vis": "Public"}).body
    assert (body["type"], body["is_private"]) == ("CALL", False)


def test_a_column_default_fills_empty_and_unmapped_values() -> None:
    """default: is sent where the value is empty or not in the map."""
    mapper = Mapper(
        mapping(
            defaults={"source_system": "crm"},
            columns={"type": {"column": "Kind", "map": {"Video": "MEETING"}, "default": "call"}},
        )
    )
    row = {"title": "t", "external_id": "1", "media_url": f"{URL}/1.mp3"}
    assert mapper.map({**row, "Kind": ""}).body["type"] == "CALL"
    assert mapper.map({**row, "Kind": "Voicemail"}).body["type"] == "CALL"
    assert mapper.map({**row, "Kind": "video"}).body["type"] == "MEETING"


VTT = """WEBVTT

NOTE exported by a recorder

1
00:00:00.000 --> 00:00:02.500
<v Ava Chen>Thanks for joining &amp; welcome.</v>

2
00:00:02.500 --> 00:00:04.000
<v Ava Chen>Shall we start?</v>

3
00:00:04.000 --> 00:00:06.000 align:start
<v Lee Park><i>Yes</i>, let's.</v>
"""
SRT = """1
00:00:00,000 --> 00:00:02,000
Ava Chen: Hello.

2
00:00:02,000 --> 00:00:03,000
Lee Park: Hi!
"""
FILES = """\
defaults: {type: CALL, source_system: crm}
columns:
  external_id: Id
  title: Subject
  media_url: Url
  transcript_text: {file: Transcript Path}
"""


def test_transcripts_from_txt_vtt_and_srt_files(
    runner: CliRunner, write: Writer, tmp_path: Path
) -> None:
    """Paths relative to the manifest; .txt as is; .vtt and .srt as Speaker: text lines."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "1.txt").write_text("A: hi\nB: hello\n", encoding="utf-8")
    (tmp_path / "t" / "2.vtt").write_text(VTT, encoding="utf-8")
    (tmp_path / "t" / "3.srt").write_bytes(SRT.encode("utf-8-sig"))
    rows = "".join(
        f"{i},Call {i},{URL}/{i}.mp3,t/{i}.{ext}\n"
        for i, ext in ((1, "txt"), (2, "vtt"), (3, "srt"))
    )
    manifest = write("m.csv", "Id,Subject,Url,Transcript Path\n" + rows)
    report = validate(runner, manifest, write("c.yaml", FILES))
    assert problems(report) == []
    assert [r["transcript_text"] for r in report["requests"]] == [
        "A: hi\nB: hello\n",
        "Ava Chen: Thanks for joining & welcome. Shall we start?\nLee Park: Yes, let's.",
        "Ava Chen: Hello.\nLee Park: Hi!",
    ]


def test_transcript_files_that_cannot_be_read_are_problems(
    runner: CliRunner, write: Writer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Missing, not .txt/.vtt/.srt, a folder, too big: a problem naming the file column."""
    monkeypatch.setattr(transcripts, "MAX_FILE_BYTES", 10)
    (tmp_path / "big.txt").write_text("x" * 11, encoding="utf-8")
    (tmp_path / "dir.txt").mkdir()
    (tmp_path / "secret.key").write_text("no", encoding="utf-8")
    names = ["gone.vtt", "secret.key", "dir.txt", "big.txt"]
    rows = "".join(f"{i},Call,{URL}/{i}.mp3,{n}\n" for i, n in enumerate(names, start=1))
    manifest = write("m.csv", "Id,Subject,Url,Transcript Path\n" + rows)
    report = validate(runner, manifest, write("c.yaml", FILES))
    assert [(p[0], p[1], p[2], p[3]) for p in problems(report)] == [
        (line, "transcript_text", "Transcript Path", "transcript_file") for line in (2, 3, 4, 5)
    ]
    assert [p[4] for p in problems(report)] == [
        "no file 'gone.vtt' (paths are relative to the manifest's folder)",
        "'secret.key' is not a .txt, .vtt or .srt file; name a transcript file",
        "'dir.txt' is not a regular file",
        "'big.txt' is 11 bytes; a file may hold at most 10",
    ]


def test_a_file_column_missing_from_the_header_is_exit_2(runner: CliRunner, write: Writer) -> None:
    """transcript_text: {file: COLUMN} with no such column: exit 2 before any row."""
    manifest = write("m.csv", f"Id,Subject,Url,Transcript\n1,Call,{URL}/1.mp3,t.txt\n")
    report = validate(runner, manifest, write("c.yaml", FILES))
    assert report["error"] == (
        f"ae-import: error: {manifest}: the config maps transcript_text to column 'Transcript "
        "Path', which the header lacks (columns: Id, Subject, Url, Transcript); did you mean "
        "'Transcript'? fix columns.transcript_text in the config\n"
    )


def test_jsonl_items_are_participants(runner: CliRunner, write: Writer) -> None:
    """participants.items: each object of a list, with nested keys, phones to E.164."""
    config = write(
        "c.yaml",
        DIALER
        + "phone_region: US\nparticipants:\n"
        + "  items: {path: parties, name: name, email: contact.email, phone: contact.phone}\n",
    )
    record = {
        "call": {"id": "c1", "subject": "Intro"},
        "media": {"url": f"{URL}/1.mp3"},
        "parties": [
            {"name": "Ava Chen", "contact": {"email": "ava@example.com", "phone": None}},
            {"name": "Jordan Blake", "contact": {"phone": 5125550100}},
            {"contact": {}},
        ],
    }
    report = validate(runner, write("d.jsonl", json.dumps(record) + "\n"), config)
    assert problems(report) == []
    assert report["requests"][0]["participants"] == [
        {"name": "Ava Chen", "email": "ava@example.com"},
        {"name": "Jordan Blake", "phone": "+15125550100"},
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("manifest: {encodng: cp1252}\n", "unknown key 'encodng' under manifest (did you mean"),
        ("manifest: {encoding: klingon}\n", "manifest.encoding: unknown encoding 'klingon'; use"),
        ("manifest: {encoding: base64}\n", "manifest.encoding: unknown encoding 'base64'"),
        ("manifest: {delimiter: ';;'}\n", "manifest.delimiter must be one character"),
        ("manifest: {skip_lines: -1}\n", "manifest.skip_lines must be a whole number, got -1"),
        ("timestamp_formats: ['%Q']\n", "timestamp_formats: '%Q' is not a strftime pattern"),
        ("timestamp_formats: ['%Y %Z']\n", "%Z reads a zone name that Python then drops"),
        ("timestamp_formats: [noon]\n", "'noon' is not a strftime pattern"),
        ("phone_region: XX\n", "unknown phone_region 'XX'; use a two-letter country code"),
        ("ambiguous: both\n", "ambiguous must be earlier or later, got 'both'"),
        ("phone_regoin: US\n", "unknown key 'phone_regoin' (did you mean 'phone_region'?)"),
        ("columns:\n  title: {colum: S}\n", "unknown key 'colum' under columns.title (did you"),
        ("columns:\n  title: {column: S, format: x}\n", "'format' applies only to start_at"),
        ("columns:\n  title: {file: S}\n", "'file' applies only to transcript_text"),
        ("columns:\n  external_id: {column: S, map: {a: b}}\n", "'map' cannot be used for"),
        ("columns:\n  type: {map: {a: CALL}}\n", "columns.type needs column"),
        ("columns:\n  type: {column: T, map: {Yes: CALL}}\n", "YAML read a key as True"),
        ("columns:\n  type: {column: T, map: {1.50: CALL}}\n", "YAML read a key as 1.5"),
        ("columns:\n  type: {column: T, map: {a: WEBINAR}}\n", "'WEBINAR' is not one of CALL"),
        ("columns:\n  type: {column: T, default: WEBINAR}\n", "columns.type.default: 'WEBINAR'"),
        ("columns:\n  title: '{Subject'\n", "template '{Subject' has a lone '{'; write {{"),
        ("columns:\n  title: 'a {} b'\n", "template 'a {} b' has an empty {}"),
        ("columns:\n  title: {column: S, truncate: maybe}\n", "truncate must be true or false"),
        ("participants:\n  items: {name: n}\n", "participants.items needs path"),
        ("participants:\n  list: {separator: ','}\n", "participants.list needs column"),
    ],
)
def test_bad_forms_are_one_line_config_errors(write: Writer, text: str, message: str) -> None:
    """Each malformed new form: one ConfigError line naming the key and the fix."""
    from ae_import.config import load_config

    with pytest.raises(ConfigError) as info:
        load_config(write("c.yaml", text))
    assert message in info.value.message
    assert "\n" not in info.value.message


def _bodies(runner: CliRunner, manifest: str, config: str) -> list[dict[str, Any]]:
    report = validate(runner, SAMPLES / manifest, SAMPLES / config)
    assert report["exit"] == 0, report
    assert report["problems"] == []
    bodies: list[dict[str, Any]] = report["requests"]
    return bodies


def test_the_three_export_samples_give_the_bodies_a_person_would_write(runner: CliRunner) -> None:
    """Zoom (naive Pacific), Salesforce from Excel (cp1252, sep=;) and Gong JSONL: 0 problems."""
    zoom = _bodies(runner, "zoom-recordings.csv", "zoom-recordings.yaml")
    assert len(zoom) == 12
    assert zoom[0]["start_at"] == "2025-10-28T09:00:12-07:00"  # PDT
    assert zoom[5]["start_at"] == "2025-11-05T14:15:33-08:00"  # PST
    assert zoom[0]["participants"] == [
        {"name": "Ava Chen", "email": "ava.chen@example.com", "is_owner": True}
    ]
    sf = _bodies(runner, "salesforce-tasks.csv", "salesforce-tasks.yaml")
    assert sf[0] == {
        "type": "CALL",
        "title": "Call – Discovery with Lee Park",
        "source_system": "salesforce",
        "external_id": "salesforce:00T5e00002XyZ01AAA",
        "media_url": "https://files.example-cdn.com/calls/2025/00T5e00002XyZ01AAA.mp3",
        "run_workflows": False,
        "start_at": "2025-10-30T09:12:00-04:00",
        "participants": [
            {
                "name": "Dana Whitfield",
                "email": "dana.whitfield@example.com",
                "phone": "+13035550142",
                "is_owner": True,
            },
            {"name": "Lee Park", "phone": "+14155552671"},
        ],
    }
    assert [b["participants"][1] for b in sf[2:5]] == [
        {"name": "José Álvarez", "phone": "+12125550144"},
        {"name": "Lee Park", "phone": "+14155552671"},
        {"name": "Zoë Fischer", "phone": "+442079460958"},
    ]
    assert all([p.get("is_owner") for p in b["participants"]].count(True) == 1 for b in sf)
    gong = _bodies(runner, "gong-calls.jsonl", "gong-calls.yaml")
    assert gong[0]["external_id"] == "gong:7782342274025937895"
    assert (gong[0]["type"], gong[1]["type"]) == ("MEETING", "CALL")
    assert gong[3]["participants"][1] == {"name": "Ana Souza", "phone": "+14155550123"}
