"""CLI tests of `ae-import validate`: exact exit codes, exact output, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ae_import import __version__
from ae_import.commands import app
from tests.helpers import SAMPLES, Writer
from tests.helpers.cli import HEADER

SF_CSV = str(SAMPLES / "salesforce-calls.csv")
SF_YAML = str(SAMPLES / "salesforce.yaml")
BROKEN = str(SAMPLES / "broken.csv")


def test_version(runner: CliRunner) -> None:
    """--version prints the version and exits 0."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"ae-import {__version__}\n"


def test_samples_are_valid(runner: CliRunner) -> None:
    """The sample CSV with its config is all valid: exit 0 and the exact summary."""
    result = runner.invoke(app, ["validate", SF_CSV, "--config", SF_YAML])
    assert result.exit_code == 0, result.output
    assert result.stdout == "5 rows: 5 valid, 0 invalid, 0 problems\n"
    assert result.stderr == ""


def test_jsonl_sample_is_valid(runner: CliRunner) -> None:
    """The JSONL sample needs no config."""
    result = runner.invoke(app, ["validate", str(SAMPLES / "meetings.jsonl"), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"rows": 3, "valid": 3, "invalid": 0, "problems": []}


def test_broken_sample_json_lists_every_problem(runner: CliRunner) -> None:
    """The broken sample shows each class of problem, on its line, and exits 1."""
    result = runner.invoke(app, ["validate", BROKEN, "--config", SF_YAML, "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["rows"], report["valid"], report["invalid"]) == (16, 2, 14)
    assert report["problems"][9]["message"] == (
        "'+1 (303) 555-01' is not a valid phone number; check its digits"
    )
    got = [(p["line"], p["field"], p["column"], p["code"]) for p in report["problems"]]
    assert got == [
        (3, "title", "Subject", "missing_field"),
        (4, "type", "Call Type", "bad_enum"),
        (5, "media_url", "Recording URL", "url_scheme"),
        (6, "media_url", "Recording URL", "url_private"),
        (7, "media_url", "Recording URL", "url_private"),
        (8, "media_url", "Recording URL", "url_host"),
        (9, "start_at", "Start Time", "bad_timestamp"),
        (10, "is_private", "Private", "bad_boolean"),
        (11, "participants[1].phone", "Owner Phone", "bad_phone"),
        (11, "participants[3].phone", "Attendees", "bad_phone"),
        (11, "participants[1].email", "Owner Email", "bad_email"),
        (11, "participants[2].email", "Attendees", "bad_email"),
        (12, "external_id", "Call ID", "duplicate_external_id"),
        (13, None, None, "bad_row_shape"),
        (14, None, None, "bad_csv"),
        (15, "external_id", "Call ID", "missing_field"),
        (15, "media_url", "Recording URL", "missing_field"),
        (16, "media_url", "Recording URL", "url_scheme"),
    ]
    dup = report["problems"][12]
    assert dup["external_id"] == "sf:00T5e00002AA001"
    assert dup["message"] == (
        "'sf:00T5e00002AA001' already appears on line 2; each row needs its own external_id"
    )
    assert "X-Amz-Signature" not in result.stdout
    assert "deadbeef" not in result.stdout


def test_human_output_is_exact(runner: CliRunner, write: Writer) -> None:
    """The human report is a table of problems and a summary line, exactly."""
    path = write(
        "m.csv",
        HEADER
        + "CALL,ok,crm,1,https://cdn.example.com/1.mp3\n"
        + "WEBINAR,,crm,2,http://cdn.example.com/2.mp3\n",
    )
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stdout == (
        "line ┃ external_id ┃ field     ┃ problem\n"
        "━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━╇" + "━" * 48 + "\n"
        "   3 │ 2           │ title     │ is required\n"
        "   3 │ 2           │ type      │ 'WEBINAR' is not one of CALL, MEETING\n"
        "   3 │ 2           │ media_url │ must use https, not http; the server refuses it\n"
        "2 rows: 1 valid, 1 invalid, 3 problems\n"
    )


def test_show_requests_prints_bodies_with_query_strings_redacted(runner: CliRunner) -> None:
    """--show-requests prints the first N bodies as sent, without presigned query strings."""
    result = runner.invoke(app, ["validate", SF_CSV, "-c", SF_YAML, "--show-requests", "2"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert first["external_id"] == "sf:00T5e00001AbCdE"
    assert first["media_url"] == (
        "https://recordings-prod.s3.us-west-2.amazonaws.com/calls/00T5e00001AbCdE.mp3?<redacted>"
    )
    assert first["run_workflows"] is False
    assert "X-Amz" not in result.stdout
    as_json = runner.invoke(
        app, ["validate", SF_CSV, "-c", SF_YAML, "--json", "--show-requests", "1"]
    )
    assert [r["external_id"] for r in json.loads(as_json.stdout)["requests"]] == [
        "sf:00T5e00001AbCdE"
    ]


def test_run_workflows_flag(runner: CliRunner, write: Writer) -> None:
    """--run-workflows turns the default to true."""
    path = write("m.csv", HEADER + "CALL,ok,crm,1,https://cdn.example.com/1.mp3\n")
    result = runner.invoke(app, ["validate", str(path), "--run-workflows", "--show-requests", "1"])
    assert json.loads(result.stdout.splitlines()[0])["run_workflows"] is True


def test_stdin_manifest(runner: CliRunner) -> None:
    """`-` reads the manifest from stdin; JSONL is recognised by its first brace."""
    line = json.dumps(
        {
            "type": "CALL",
            "title": "t",
            "source_system": "s",
            "external_id": "x",
            "media_url": "https://cdn.example.com/a.mp3",
            "run_workflows": False,
        }
    )
    result = runner.invoke(app, ["validate", "-", "--format", "jsonl"], input=line + "\n")
    assert result.exit_code == 0
    assert result.stdout == "1 row: 1 valid, 0 invalid, 0 problems\n"
    csv_in = runner.invoke(
        app, ["validate", "-"], input=HEADER + "CALL,t,s,x,https://cdn.example.com/a.mp3\n"
    )
    assert csv_in.stdout == "1 row: 1 valid, 0 invalid, 0 problems\n"


@pytest.mark.parametrize(
    ("args", "files", "message"),
    [
        (["nope.csv"], {}, "nope.csv: no such file; check the manifest path"),
        (
            ["m.dat", "--format", "xml"],
            {"m.dat": "a\n"},
            "unknown --format 'xml'; use csv, tsv, jsonl, json, excel or parquet",
        ),
        (
            ["m.csv"],
            {"m.csv": ""},
            "m.csv: the file is empty; a CSV manifest starts with a header row",
        ),
        (
            ["m.csv", "--config", "c.yaml"],
            {"m.csv": "a,b\n1,2\n".encode("utf-16"), "c.yaml": "manifest: {encoding: utf-8}\n"},
            "m.csv: the file is UTF-16, not UTF-8; set manifest: encoding: auto in the config, "
            "or re-save it as UTF-8",
        ),
        (
            ["m.csv", "--config", "c.yaml"],
            {"m.csv": "title,external_id\n", "c.yaml": "defaults: {source_system: crm}\n"},
            "m.csv: no column for required fields 'type' and 'media_url' (columns: title, "
            "external_id); add a column named like each field, or in --config map one or set a "
            "default: columns.type or defaults.type; columns.media_url or defaults.media_url",
        ),
        (
            ["m.csv"],
            {"m.csv": "type,title,source_system,external_id,Media URL\n"},
            "m.csv: no column for required field 'media_url' (columns: type, title, "
            "source_system, external_id, Media URL); add a 'media_url' column, map one with "
            "columns.media_url (did you mean 'Media URL'?), or set defaults.media_url in --config",
        ),
        (
            ["m.csv", "--config", "c.yaml"],
            {"m.csv": HEADER, "c.yaml": "colums: {}\n"},
            "c.yaml: unknown key 'colums' (did you mean 'columns'?); known keys: ambiguous, api, "
            "cloud, columns, defaults, external_id_prefix, manifest, participants, phone_region, "
            "run, timestamp_formats, timezone",
        ),
        (
            ["m.csv", "--config", "c.yaml"],
            {"m.csv": HEADER, "c.yaml": "x: !!python/object/apply:os.system ['true']\n"},
            "c.yaml:1: YAML tags such as !!python are not allowed; write plain values only",
        ),
        (
            ["m.csv", "--config", "missing.yaml"],
            {"m.csv": HEADER},
            "missing.yaml: no such config file; check the --config path",
        ),
    ],
)
def test_unusable_input_exits_2_with_one_line(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    files: dict[str, str | bytes],
    message: str,
) -> None:
    """A manifest or config that cannot be used: exit 2, one line on stderr, no traceback."""
    monkeypatch.chdir(tmp_path)
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (tmp_path / name).write_bytes(data)
    result = runner.invoke(app, ["validate", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"ae-import: error: {message}\n"


def test_bad_option_is_a_usage_error(runner: CliRunner) -> None:
    """An unknown option is exit 2, one line, as for every usage error."""
    result = runner.invoke(app, ["validate", SF_CSV, "--zzqx"])
    assert result.exit_code == 2
    assert (
        result.stderr == "ae-import: error: no such option --zzqx; see ae-import validate --help\n"
    )


def test_header_only_file_is_valid_and_empty(runner: CliRunner, write: Writer) -> None:
    """A header alone is a valid manifest of zero rows."""
    result = runner.invoke(app, ["validate", str(write("m.csv", HEADER))])
    assert result.exit_code == 0
    assert result.stdout == "0 rows: 0 valid, 0 invalid, 0 problems\n"


def test_control_characters_in_data_cannot_forge_lines(runner: CliRunner, write: Writer) -> None:
    """Newlines and escape codes from a manifest are shown escaped, on one line."""
    row = {
        "type": "CALL",
        "title": "t",
        "source_system": "s",
        "external_id": "evil\n    9 │ forged\x1b[31m",
        "media_url": "ftp://cdn.example.com/a",
        "run_workflows": False,
    }
    result = runner.invoke(app, ["validate", str(write("m.jsonl", json.dumps(row) + "\n"))])
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout
    assert "evil\\n    9 │ forged\\x1b[31m" in result.stdout
    assert len(result.stdout.splitlines()) == 4


def test_many_problems_are_capped_in_the_table_but_not_in_json(
    runner: CliRunner, write: Writer
) -> None:
    """The table stops at 1,000 problems and says how many more; --json lists them all."""
    rows = "".join(f"CALL,,crm,{n},https://cdn.example.com/a.mp3\n" for n in range(1200))
    path = write("m.csv", HEADER + rows)
    human = runner.invoke(app, ["validate", str(path)])
    assert human.exit_code == 1
    assert "... and 200 more problems; --json lists every one\n" in human.stdout
    assert human.stdout.endswith("1200 rows: 0 valid, 1200 invalid, 1200 problems\n")
    report = json.loads(runner.invoke(app, ["validate", str(path), "--json"]).stdout)
    assert len(report["problems"]) == 1200


# Every field of the create request: a good value and a bad one (as a manifest cell, or
# as a default in the config), and what the good one becomes in the request body.
FIELD_VALUES: dict[str, tuple[str, str, object]] = {
    "type": ("meeting", "WEBINAR", "MEETING"),
    "title": ("Weekly sync", "t" * 501, "Weekly sync"),
    "source_system": ("gong", "g" * 101, "gong"),
    "external_id": ("e-1", "e" * 501, "e-1"),
    "media_url": (
        "https://cdn.example.com/x.mp3",
        "http://cdn.example.com/x.mp3",
        "https://cdn.example.com/x.mp3",
    ),
    "run_workflows": ("yes", "sometimes", True),
    "start_at": ("2024-03-05 09:30", "yesterday", "2024-03-05T09:30:00+00:00"),
    "is_private": ("no", "maybe", False),
    "participants": (
        '[{"email": "a@example.com"}]',
        '[{"email": "nope"}]',
        [{"email": "a@example.com"}],
    ),
    "transcript_text": ("hello", "x" * 900_001, "hello"),
}
NO_DEFAULT = ("external_id", "participants", "transcript_text")
NO_TOKEN = {"AE_API_TOKEN": ""}


def test_the_field_table_covers_every_request_field() -> None:
    """The table below names every field of the create request, so none is left untested."""
    from ae_import.mapping.validation import REQUEST_FIELDS

    assert set(FIELD_VALUES) == set(REQUEST_FIELDS)


def _manifest_without(field: str) -> list[str]:
    """Return the header and one row of a CSV manifest of the required fields but ``field``."""
    cells = {
        "type": "CALL",
        "title": "t",
        "source_system": "crm",
        "external_id": "e-1",
        "media_url": "https://cdn.example.com/a.mp3",
    }
    cells.pop(field, None)
    return [",".join(cells), ",".join(cells.values())]


def _cell(value: str) -> str:
    """Quote ``value`` as one CSV cell."""
    return '"' + value.replace('"', '""') + '"'


@pytest.mark.parametrize("field", list(FIELD_VALUES))
def test_every_request_field_as_a_default(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    """A quoted default for any field: used in the request (exit 0), or refused in one line."""
    monkeypatch.chdir(tmp_path)
    good, _bad, sent = FIELD_VALUES[field]
    Path("m.csv").write_text("\n".join(_manifest_without(field)) + "\n")
    Path("c.yaml").write_text(f"defaults:\n  {field}: {json.dumps(good)}\n")
    for command in (["validate", "--show-requests", "1"], ["run", "--dry-run"]):
        result = runner.invoke(app, [*command, "m.csv", "-c", "c.yaml"], env=NO_TOKEN)
        assert "Traceback" not in result.output
        if field in NO_DEFAULT:
            assert result.exit_code == 2
            assert result.stderr == (
                f"ae-import: error: c.yaml: '{field}' cannot have a default; "
                "each row needs its own\n"
            )
            continue
        assert result.exit_code == 0, result.output
        if command[0] == "validate":
            assert json.loads(result.stdout.splitlines()[0])[field] == sent
        else:
            assert "would send    line 2       e-1" in result.stdout


@pytest.mark.parametrize("field", [f for f in FIELD_VALUES if f not in NO_DEFAULT])
def test_a_bad_default_is_refused_before_any_row(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    """A default no row could send (a number for a string, a bad URL) is exit 2, one line."""
    monkeypatch.chdir(tmp_path)
    bad = FIELD_VALUES[field][1]
    Path("m.csv").write_text("\n".join(_manifest_without(field)) + "\n")
    Path("c.yaml").write_text(f"defaults:\n  {field}: {json.dumps(bad)}\n")
    for command in (["validate"], ["run", "--dry-run"]):
        result = runner.invoke(app, [*command, "m.csv", "-c", "c.yaml"], env=NO_TOKEN)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert result.stderr.startswith(f"ae-import: error: defaults.{field}: ")
        assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("field", list(FIELD_VALUES))
def test_every_request_field_as_a_column(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    """Any field as a mapped column: a good cell is sent, a bad one is a problem on its line."""
    monkeypatch.chdir(tmp_path)
    good, bad, sent = FIELD_VALUES[field]
    header, row = _manifest_without(field)
    rows = [f"{header},Source", f"{row},{_cell(good)}", f"{row.replace('e-1', 'e-2')},{_cell(bad)}"]
    Path("m.csv").write_text("\n".join(rows) + "\n")
    # The mapping decides: the other columns, named like their fields, are mapped too.
    others = "".join(f"  {name}: {name}\n" for name in header.split(","))
    Path("c.yaml").write_text(f"columns:\n  {field}: Source\n{others}")
    args = ["m.csv", "-c", "c.yaml"]
    result = runner.invoke(app, ["validate", *args, "--json", "--show-requests", "1"])
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert (report["rows"], report["valid"], report["invalid"]) == (2, 1, 1)
    assert report["requests"][0][field] == sent
    [problem] = report["problems"]
    assert (problem["line"], problem["column"]) == (3, "Source")
    assert problem["field"].partition("[")[0] == field
    dry = runner.invoke(app, ["run", "--dry-run", *args], env=NO_TOKEN)
    assert dry.exit_code == 1, dry.output
    assert "Traceback" not in dry.output


def test_a_number_as_a_string_default_says_quote_it(runner: CliRunner, write: Writer) -> None:
    """An unquoted number as the default title is refused with the fix: quote it."""
    path = write("m.csv", "\n".join(_manifest_without("title")) + "\n")
    config = write("c.yaml", "defaults:\n  title: 2024\n")
    result = runner.invoke(app, ["validate", str(path), "-c", str(config)])
    assert result.exit_code == 2
    assert result.stderr == (
        "ae-import: error: defaults.title: must be a string, got number; quote it in the config\n"
    )


def test_rows_as_a_spreadsheet_numbers_them_beside_lines(runner: CliRunner, write: Writer) -> None:
    """After multi-line transcripts, a problem names its line and its spreadsheet row."""
    header = HEADER.rstrip("\n") + ",transcript_text\n"
    talk = '"Hi.\nHello.\nBye."'
    path = write(
        "m.csv",
        header
        + f"CALL,ok,crm,1,https://cdn.example.com/1.mp3,{talk}\n"
        + f"CALL,ok,crm,2,https://cdn.example.com/2.mp3,{talk}\n"
        + "CALL,,crm,3,https://cdn.example.com/3.mp3,\n"
        + "CALL,,crm,4,https://cdn.example.com/4.mp3,\n",
    )
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stdout == (
        "     line ┃ external_id ┃ field ┃ problem\n"
        "━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━\n"
        "8 (row 4) │ 3           │ title │ is required\n"
        "9 (row 5) │ 4           │ title │ is required\n"
        "4 rows: 2 valid, 2 invalid, 2 problems\n"
    )
    report = json.loads(runner.invoke(app, ["validate", str(path), "--json"]).stdout)
    assert [(p["line"], p["row"]) for p in report["problems"]] == [(8, 4), (9, 5)]


def test_a_repeated_id_names_the_row_of_the_first(runner: CliRunner, write: Writer) -> None:
    """The duplicate's message names the first one's line and, after multi-line values, its row."""
    path = write(
        "m.csv",
        HEADER.rstrip("\n") + ",transcript_text\n"
        'CALL,ok,crm,1,https://cdn.example.com/1.mp3,"a\nb"\n'
        "CALL,ok,crm,2,https://cdn.example.com/2.mp3,\n"
        "CALL,ok,crm,2,https://cdn.example.com/2.mp3,\n",
    )
    report = json.loads(runner.invoke(app, ["validate", str(path), "--json"]).stdout)
    [problem] = report["problems"]
    assert (problem["line"], problem["row"], problem["code"]) == (5, 4, "duplicate_external_id")
    assert problem["message"] == (
        "'2' already appears on line 4 (row 3); each row needs its own external_id"
    )


def test_dry_run_lines_name_the_row_too(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dry run names each row's line, and its spreadsheet row where that differs."""
    monkeypatch.chdir(tmp_path)
    Path("m.csv").write_text(
        HEADER.rstrip("\n") + ",transcript_text\n"
        'CALL,ok,crm,1,https://cdn.example.com/1.mp3,"a\nb"\n'
        "CALL,ok,crm,2,https://cdn.example.com/2.mp3,\n"
        "CALL,,crm,3,https://cdn.example.com/3.mp3,\n"
    )
    result = runner.invoke(app, ["run", "--dry-run", "m.csv"], env=NO_TOKEN)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        "would send    line 2       1",
        "would send    line 4 (row 3) 2",
        "invalid       line 5 (row 4) 3: title: is required",
    ]


def test_json_and_shown_requests_escape_c1_and_bidi_controls(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """JSON and shown request bodies carry U+009B and U+202E as u-escapes, the value intact."""
    title = "Call \x9b2J \u202egnp.exe\u202c done"
    path = write("m.csv", HEADER + f"CALL,{title},crm,a,https://cdn.example.com/a.mp3\n")
    as_json = runner.invoke(app, ["validate", str(path), "--json", "--show-requests", "1"])
    assert as_json.exit_code == 0, as_json.output
    assert "\x9b" not in as_json.stdout
    assert "\u202e" not in as_json.stdout
    assert "\\u009b" in as_json.stdout
    assert json.loads(as_json.stdout)["requests"][0]["title"] == title
    shown = runner.invoke(app, ["validate", str(path), "--show-requests", "1"])
    assert "\x9b" not in shown.stdout
    assert "\u202e" not in shown.stdout
    body = json.loads(shown.stdout.splitlines()[0])
    assert body["title"] == title


def test_a_lone_surrogate_in_jsonl_is_one_problem_and_the_rest_go(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """A JSONL line with a lone surrogate escape: bad_encoding there, the other rows imported."""
    row = (
        '{"type":"CALL","title":"TITLE","source_system":"crm","external_id":"ID",'
        '"media_url":"https://cdn.example.com/a.mp3"}\n'
    )
    lone = "bad " + "\\" + "ud800 x"  # the six characters backslash u d 8 0 0
    text = "".join(
        row.replace("TITLE", title).replace("ID", eid)
        for title, eid in (("ok", "a1"), (lone, "a2"), ("ok", "a3"))
    )
    path = write("m.jsonl", text)
    assert "\\ud800" in path.read_text()
    result = runner.invoke(app, ["run", str(path), "--sandbox", "--json"])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert (summary["created"], summary["invalid"]) == (2, 1)


def test_auto_encoding_says_which_it_chose(runner: CliRunner, cwd: Path, write: Writer) -> None:
    """A Windows-1252 file read by encoding auto: validate and run say so on stderr."""
    path = write(
        "m.csv", HEADER.encode() + b"CALL,Call \x96 one,crm,a,https://cdn.example.com/a.mp3\n"
    )
    note = "ae-import: note: read as Windows-1252: byte 0x96 on line 2 is not UTF-8\n"
    checked = runner.invoke(app, ["validate", str(path)])
    assert checked.exit_code == 0, checked.output
    assert checked.stderr == note
    ran = runner.invoke(app, ["run", str(path), "--sandbox", "--json"])
    assert ran.exit_code == 0, ran.output
    assert ran.stderr == note
    assert json.loads(ran.stdout)["created"] == 1
