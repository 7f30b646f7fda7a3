"""ae-import init: the samples' mappings, the command's output, exit codes and refusals."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.init.core import mapping_text
from ae_import.reading.sample import read_sample
from tests.helpers import SAMPLES, Writer

# (manifest, its checked-in mapping, the --timezone init is given)
NEW_SAMPLES = [
    ("zoom-recordings.csv", "zoom-recordings.yaml", "America/Los_Angeles"),
    ("salesforce-tasks.csv", "salesforce-tasks.yaml", "America/New_York"),
    ("gong-calls.jsonl", "gong-calls.yaml", None),
]
PLAIN_CSV = (
    "Call ID,Subject,Recording URL,Start Time,Agent Email\n"
    "c-1,Intro call,https://media.example-cdn.com/a/1.mp3,2025-11-05 14:15,ava@example.com\n"
    "c-2,Follow-up,https://media.example-cdn.com/a/2.mp3,2025-11-06 09:00,ava@example.com\n"
)


def _init_args(manifest: str, timezone: str | None) -> list[str]:
    return ["init", manifest, *(["--timezone", timezone] if timezone else [])]


@pytest.mark.parametrize(("manifest", "mapping", "timezone"), NEW_SAMPLES)
def test_init_still_writes_each_checked_in_sample_mapping(
    manifest: str, mapping: str, timezone: str | None
) -> None:
    """The mapping init makes of each new sample is, byte for byte, the one in samples/."""
    sample = read_sample(str(SAMPLES / manifest))
    written = mapping_text(sample, timezone=timezone, config_name=mapping)
    assert written.text == (SAMPLES / mapping).read_text(encoding="utf-8")
    assert written.todos == []


@pytest.mark.parametrize(("manifest", "mapping", "timezone"), NEW_SAMPLES)
def test_init_command_writes_the_same_bytes_with_o(
    runner: CliRunner, tmp_path: Path, manifest: str, mapping: str, timezone: str | None
) -> None:
    """`init MANIFEST -o FILE` writes exactly the checked-in mapping and says so."""
    target = tmp_path / mapping
    args = [*_init_args(str(SAMPLES / manifest), timezone), "-o", str(target)]
    result = runner.invoke(app, args)
    assert target.read_bytes() == (SAMPLES / mapping).read_bytes()
    assert result.stdout.startswith(f"ae-import: wrote {target}\n")


def test_checked_in_mappings_parse_to_the_forms_of_issue_13() -> None:
    """Each checked-in mapping is YAML holding the guessed forms, values and zones."""
    zoom = yaml.safe_load((SAMPLES / "zoom-recordings.yaml").read_text(encoding="utf-8"))
    assert zoom["timezone"] == "America/Los_Angeles"
    assert zoom["external_id_prefix"] == "zoom:"
    assert zoom["defaults"] == {"source_system": "zoom", "type": "MEETING", "run_workflows": False}
    assert zoom["columns"] == {
        "external_id": "ID",
        "title": "Topic",
        "media_url": "Download URL",
        "start_at": {"column": "Start Time", "format": "%m/%d/%Y %I:%M:%S %p"},
    }
    assert zoom["participants"] == {"owner": {"name": "Host Name", "email": "Host Email"}}
    sf = yaml.safe_load((SAMPLES / "salesforce-tasks.yaml").read_text(encoding="utf-8"))
    assert sf["manifest"] == {"encoding": "cp1252", "delimiter": ";"}
    assert sf["phone_region"] == "US"
    assert sf["columns"]["title"] == "{Subject} with {Who.Name}"
    assert sf["columns"]["type"] == {
        "column": "CallType",
        "map": {"Inbound": "CALL", "Internal": "CALL", "Outbound": "CALL"},
        "default": "CALL",
    }
    assert sf["columns"]["start_at"] == {"column": "CreatedDate", "format": "%m/%d/%Y %I:%M %p"}
    assert sf["participants"]["list"] == "{Who.Name} <{Who.Phone}>"
    gong = yaml.safe_load((SAMPLES / "gong-calls.yaml").read_text(encoding="utf-8"))
    assert "timezone" not in gong  # its timestamps carry offsets
    assert gong["columns"]["external_id"] == "metaData.id"
    assert gong["columns"]["media_url"] == "media.audioUrl"
    assert gong["columns"]["type"]["map"] == {
        "Conference": "MEETING",
        "Inbound": "CALL",
        "Outbound": "CALL",
    }
    assert gong["participants"]["items"] == {
        "path": "parties",
        "name": "name",
        "email": "emailAddress",
        "phone": "phoneNumber",
    }


def _requests(runner: CliRunner, manifest: str, mapping: str) -> list[dict[str, Any]]:
    """Validate a sample with --json --show-requests; return the bodies (0 problems asserted)."""
    args = ["validate", str(SAMPLES / manifest), "--config", str(SAMPLES / mapping)]
    result = runner.invoke(app, [*args, "--json", "--show-requests", "50"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["problems"] == []
    assert report["invalid"] == 0
    requests: list[dict[str, Any]] = report["requests"]
    assert len(requests) == report["rows"]
    return requests


def test_new_samples_validate_with_their_mappings_into_hand_written_bodies(
    runner: CliRunner,
) -> None:
    """Each new sample: 0 problems; bodies with the right zone, E.164 phones, one owner."""
    zoom = _requests(runner, "zoom-recordings.csv", "zoom-recordings.yaml")
    assert len(zoom) == 12
    assert zoom[0] == {
        "type": "MEETING",
        "title": "Acme Corp | Discovery call",
        "source_system": "zoom",
        "external_id": "zoom:83455129087",
        "media_url": "https://zoom.us/rec/download/Zx8pQm2LrT5wV1bN9cK3dF.mp4",
        "run_workflows": False,
        "start_at": "2025-10-28T09:00:12-07:00",  # PDT
        "participants": [{"name": "Ava Chen", "email": "ava.chen@example.com", "is_owner": True}],
    }
    assert zoom[5]["start_at"] == "2025-11-05T14:15:33-08:00"  # PST, after the change
    sf = _requests(runner, "salesforce-tasks.csv", "salesforce-tasks.yaml")
    assert len(sf) == 12
    assert sf[0] == {
        "type": "CALL",
        "title": "Call – Discovery with Lee Park",
        "source_system": "salesforce",
        "external_id": "salesforce:00T5e00002XyZ01AAA",
        "media_url": "https://files.example-cdn.com/calls/2025/00T5e00002XyZ01AAA.mp3",
        "run_workflows": False,
        "start_at": "2025-10-30T09:12:00-04:00",  # EDT
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
    assert sf[1]["title"] == "Follow-up on “Plan B” pricing with Priya Nair"
    assert sf[4]["start_at"] == "2025-11-05T14:15:00-05:00"  # EST
    assert sf[4]["participants"][1] == {"name": "Zoë Fischer", "phone": "+442079460958"}
    for body in sf:
        assert [p.get("is_owner") for p in body["participants"]].count(True) == 1
    gong = _requests(runner, "gong-calls.jsonl", "gong-calls.yaml")
    assert len(gong) == 10
    assert gong[0]["external_id"] == "gong:7782342274025937895"
    assert gong[0]["type"] == "MEETING"
    assert gong[0]["start_at"] == "2025-11-03T09:02:11-08:00"
    assert gong[1]["type"] == "CALL"
    assert gong[1]["participants"][1] == {"name": "Jordan Blake", "phone": "+15125550100"}
    assert gong[4]["is_private"] is True


@pytest.mark.parametrize(("manifest", "mapping", "timezone"), NEW_SAMPLES)
def test_init_on_each_sample_validates_every_row_without_edits(
    runner: CliRunner, tmp_path: Path, manifest: str, mapping: str, timezone: str | None
) -> None:
    """The check init ends with of each new sample: exit 0, every row valid, nothing left to do."""
    target = tmp_path / mapping
    result = runner.invoke(app, [*_init_args(str(SAMPLES / manifest), timezone), "-o", str(target)])
    rows = 10 if manifest.endswith(".jsonl") else 12
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"ae-import: wrote {target}\n"
        f"checked with this mapping (the first 1,000 rows): {rows} rows: {rows} valid, "
        "0 invalid, 0 problems\n"
    )


def test_without_o_the_mapping_goes_to_stdout_and_the_check_to_stderr(
    runner: CliRunner, write: Writer
) -> None:
    """No -o: stdout is the YAML alone (pipeable), stderr the TODOs and the check; exit 0."""
    manifest = write("calls.csv", PLAIN_CSV)
    result = runner.invoke(app, ["init", str(manifest), "--source-system", "dialer"])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["defaults"] == {"source_system": "dialer", "type": "CALL", "run_workflows": False}
    assert data["external_id_prefix"] == "dialer:"
    assert data["columns"] == {
        "external_id": "Call ID",
        "title": "Subject",
        "media_url": "Recording URL",
        "start_at": "Start Time",
    }
    assert data["participants"] == {"owner": {"email": "Agent Email"}}
    assert result.stderr == (
        "ae-import: TODO in the mapping: timezone\n"
        "checked with this mapping (the first 1,000 rows): 2 rows: 2 valid, 0 invalid, "
        "0 problems\n"
    )
    assert "# TODO timezone: Start Time has no UTC offset" in result.stdout


def test_init_refuses_to_overwrite_without_force(
    runner: CliRunner, write: Writer, tmp_path: Path
) -> None:
    """An existing -o file: exit 2, one line, the file untouched; --force overwrites it."""
    manifest = write("calls.csv", PLAIN_CSV)
    target = write("mapping.yaml", "# mine\n")
    result = runner.invoke(app, ["init", str(manifest), "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"ae-import: error: {target}: already exists; pass --force to overwrite it, or another -o\n"
    )
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == "# mine\n"
    forced = runner.invoke(
        app,
        [
            "init",
            str(manifest),
            "-o",
            str(target),
            "--force",
            "--timezone",
            "UTC",
            "--source-system",
            "x",
        ],
    )
    assert forced.exit_code == 0, forced.output
    assert target.read_text(encoding="utf-8").startswith("# ae-import mapping for calls.csv")
    assert not list(tmp_path.glob(".*.tmp"))


def test_init_never_writes_over_its_manifest(runner: CliRunner, write: Writer) -> None:
    """-o naming the manifest itself is refused even with --force; the manifest is kept."""
    manifest = write("calls.csv", PLAIN_CSV)
    result = runner.invoke(app, ["init", str(manifest), "-o", str(manifest), "--force"])
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"ae-import: error: {manifest}: is the manifest itself; choose another -o\n"
    )
    assert manifest.read_text(encoding="utf-8") == PLAIN_CSV


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--timezone", "Mars/Olympus"],
            "--timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as UTC or "
            "America/New_York, an offset such as UTC-5 or +02:00, or a Windows name such as "
            "Eastern Standard Time",
        ),
        (["--source-system", " "], "--source-system: give a name of 1 to 100 characters"),
    ],
)
def test_init_bad_options_are_one_line_exit_2(
    runner: CliRunner, write: Writer, args: list[str], message: str
) -> None:
    """A bad --timezone or --source-system: exit 2 and one line naming it."""
    manifest = write("calls.csv", PLAIN_CSV)
    result = runner.invoke(app, ["init", str(manifest), *args])
    assert result.exit_code == 2
    assert result.stderr == f"ae-import: error: {message}\n"
    assert result.stdout == ""


def test_init_on_a_missing_manifest_is_one_line_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    """A manifest that is not there: exit 2, the manifest reader's words."""
    missing = tmp_path / "nope.csv"
    result = runner.invoke(app, ["init", str(missing)])
    assert result.exit_code == 2
    assert result.stderr == f"ae-import: error: {missing}: no such file; check the manifest path\n"


def test_unfilled_required_fields_are_commented_todos_naming_both_forms(
    runner: CliRunner, write: Writer
) -> None:
    """Fields init cannot fill are TODO comments naming columns.X and defaults.X; exit 1.

    The source is named after the file (data cannot tell it), never a TODO.
    """
    manifest = write("export.csv", "Ref,Notes\nA1,hello\nA2,world\n")
    result = runner.invoke(app, ["init", str(manifest)])
    assert result.exit_code == 1
    text = result.stdout
    loaded = yaml.safe_load(text)
    assert loaded["defaults"] == {"source_system": "export", "run_workflows": False}
    assert loaded["external_id_prefix"] == "export:"
    assert loaded["columns"] == {"external_id": "Ref"}
    for name in ("title", "type", "media_url"):
        todo = next(line for line in text.splitlines() if line.startswith(f"  # TODO {name}:"))
        block = (
            text[text.index(todo) :].split("\n  # TODO", 2)[0]
            if name != "media_url"
            else text[text.index(todo) :]
        )
        assert f"columns.{name}" in block.replace("\n  #   ", " ")
        assert f"defaults.{name}" in block.replace("\n  #   ", " ")
    assert "TODO source_system" not in text
    assert "ae-import: TODO in the mapping: title, type, media_url\n" in result.stderr
    assert "ae-import: the mapping cannot be checked yet: " in result.stderr


def test_the_mapping_is_named_after_its_manifest_whatever_the_suffixes(
    runner: CliRunner, write: Writer
) -> None:
    """CALLS.CSV.GZ's mapping is CALLS.yaml: the reader's suffixes, in any case, are dropped."""
    manifest = write("CALLS.CSV", PLAIN_CSV)
    gz = manifest.with_name("CALLS.CSV.GZ")
    gz.write_bytes(gzip.compress(manifest.read_bytes()))
    result = runner.invoke(app, ["init", str(gz), "--source-system", "dialer"])
    assert result.exit_code == 0, result.output
    assert "--config CALLS.yaml" in result.stdout
