"""init on a real-shaped export of each listed tool: recognised, guessed, validated as written."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ae_import.config import load_config
from ae_import.init import check_mapping
from ae_import.init.core import mapping_text
from ae_import.operations import validate_manifest
from ae_import.reading import read_sample
from ae_import.records import Row

EXPORTS = Path(__file__).resolve().parent.parent / "data" / "exports"

# file: source_system, external_id, start_at's column (or template), media_url (None: the
# export has none, a TODO), and how many sampled rows are invalid as written (a duplicate,
# a call without a recording, or every row when the export holds no media URL).
TABLE: dict[str, tuple[str, str, str, str | None, int]] = {
    "salesforce-report.csv": ("salesforce", "Activity ID", "Created Date", "Call Recording", 1),
    "hubspot-calls.csv": ("hubspot", "Record ID", "Activity date", "Recording URL", 0),
    "gong-calls.json": ("gong", "metaData.id", "metaData.started", "media.audioUrl", 0),
    "chorus-engagements.json": ("chorus", "engagement_id", "date_time", None, 4),
    "zoom-recordings.json": ("zoom", "uuid", "start_time", "recording_files[0].download_url", 0),
    "zoom-phone-call-logs.csv": ("zoom-phone", "Call ID", "Date Time", "Recording URL", 1),
    "teams-callrecords.json": ("teams", "id", "startDateTime", "recordingContentUrl", 0),
    "google-meet-conference-records.json": ("google-meet", "name", "startTime", None, 3),
    "webex-recordings.json": ("webex", "id", "timeRecorded", "downloadUrl", 0),
    "aircall-calls.json": ("aircall", "id", "started_at", "recording", 0),
    "dialpad-calls.csv": ("dialpad", "call_id", "date_started", "recording_url", 1),
    "ringcentral-call-log.json": ("ringcentral", "id", "startTime", "recording.contentUri", 0),
    "twilio-recordings.json": ("twilio", "sid", "start_time", "media_url", 0),
    "five9-call-log.csv": ("five9", "CALL ID", "{DATE} {TIME}", "RECORDING URL", 2),
    "talkdesk-calls.json": ("talkdesk", "call_id", "start_at", "recording_url", 0),
    "outreach-calls.json": ("outreach", "id", "attributes.dialedAt", "attributes.recordingUrl", 1),
    "salesloft-calls.json": ("salesloft", "id", "created_at", "recordings[0].url", 0),
    "close-calls.json": ("close", "id", "date_created", "recording_url", 0),
    "pipedrive-call-logs.json": ("pipedrive", "id", "start_time", None, 3),
    "fireflies-transcripts.json": ("fireflies", "id", "date", "audio_url", 0),
    "otter-speeches.json": ("otter", "otid", "start_time", "audio_url", 0),
    "fathom-meetings.json": ("fathom", "recording_id", "recording_start_time", None, 3),
    "tldv-meetings.json": ("tldv", "id", "happenedAt", None, 3),
    "avoma-meetings.json": ("avoma", "uuid", "start_at", None, 3),
}
# Their zones, for the exports whose times carry no offset.
ZONES = {"America/New_York": ("salesforce", "hubspot", "zoom-phone", "five9", "pipedrive")}


def _zone(source: str) -> str | None:
    """Return the --timezone an export's naive times need, if any."""
    return next((z for z, names in ZONES.items() if source in names), None)


def _start(columns: dict[str, Any]) -> str:
    """Return start_at's column or template, whatever form it takes."""
    start = columns["start_at"]
    if isinstance(start, str):
        return start
    return str(start.get("column") or start.get("template"))


def test_there_is_a_sample_of_every_listed_tool() -> None:
    """Each file of tests/data/exports is in the table, and the table names no missing file."""
    files = {p.name for p in EXPORTS.iterdir() if p.suffix in (".csv", ".json")}
    assert files == set(TABLE)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_init_recognises_and_guesses_each_export(name: str) -> None:
    """Recognised by its headers; id, start and media as its documentation names them."""
    source, external_id, start, media, _invalid = TABLE[name]
    written = mapping_text(read_sample(str(EXPORTS / name)), timezone=_zone(source))
    loaded = yaml.safe_load(written.text)
    columns = loaded["columns"]
    assert loaded["defaults"]["source_system"] == source
    assert columns["external_id"] == external_id
    assert _start(columns) == start
    assert columns.get("media_url") == media
    assert written.todos == ([] if media else ["media_url"])
    assert "type" in columns or "type" in loaded["defaults"]


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_mapping_validates_as_written(name: str, tmp_path: Path) -> None:
    """The mapping init writes validates with no edits: only the data's own problems remain."""
    source, _id, _start_at, _media, invalid = TABLE[name]
    sample = read_sample(str(EXPORTS / name))
    config = tmp_path / "mapping.yaml"
    config.write_text(mapping_text(sample, timezone=_zone(source)).text, encoding="utf-8")
    checked = check_mapping(str(EXPORTS / name), sample.format, config)
    assert checked.invalid == invalid, checked.top


def test_a_salesforce_report_workbook_in_german_with_title_rows(tmp_path: Path) -> None:
    """A report .xlsx: title rows skipped, German labels recognised, date cells read, valid."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Bericht"
    sheet.append(["Anrufe – alle Aktivitäten"])
    sheet.append(["Erstellt am 05.11.2025"])
    sheet.append([])
    sheet.append(
        ["Aktivitäts-ID", "Betreff", "Anruftyp", "Datum", "Erstellt am", "Zugewiesen",
         "E-Mail", "Aufzeichnung"]
    )  # fmt: skip
    for n in range(5):
        sheet.append(
            [f"00T8c00001AbCd{n}EAF", f"Anruf {n}", "Ausgehend" if n % 2 else "Eingehend",
             datetime.date(2025, 11, 3 + n), datetime.datetime(2025, 11, 3 + n, 9 + n, 15),
             "Jonas Weber", f"k{n}@kunde.example", f"https://aufnahmen.example-cdn.de/{n}.mp3"]
        )  # fmt: skip
    path = tmp_path / "Anrufe.xlsx"
    book.save(path)
    sample = read_sample(str(path))
    written = mapping_text(sample, timezone="Europe/Berlin")
    loaded = yaml.safe_load(written.text)
    assert loaded["manifest"]["skip_lines"] == 3
    assert loaded["defaults"]["source_system"] == "salesforce"
    assert loaded["columns"]["external_id"] == "Aktivitäts-ID"
    assert loaded["columns"]["start_at"] == "Erstellt am"
    assert written.todos == []
    config = tmp_path / "mapping.yaml"
    config.write_text(written.text, encoding="utf-8")
    assert check_mapping(str(path), sample.format, config).invalid == 0


def _bodies(name: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Return the request bodies of an export's valid rows, mapped as init wrote it."""
    sample = read_sample(str(EXPORTS / name))
    config = tmp_path / "mapping.yaml"
    config.write_text(mapping_text(sample).text, encoding="utf-8")
    bodies: list[dict[str, Any]] = []

    def add(row: Row) -> None:
        if row.body is not None and not row.problems:
            bodies.append(row.body)

    validate_manifest(str(EXPORTS / name), sample.format, load_config(config), add)
    return bodies


def test_teams_nested_people_and_group_calls_reach_the_request(tmp_path: Path) -> None:
    """Graph's user.userPrincipalName and phone.id become participants; groupCall a MEETING."""
    bodies = _bodies("teams-callrecords.json", tmp_path)
    assert [b["type"] for b in bodies] == ["MEETING", "CALL", "MEETING", "CALL"]
    assert bodies[1]["participants"] == [
        {"name": "Ana Ruiz", "email": "ana.ruiz@contoso.example"},
        {"phone": "+14155550111"},
    ]


def test_sentence_arrays_reach_the_request_as_one_transcript(tmp_path: Path) -> None:
    """Fireflies' sentences: one "Speaker: text" a line; its epoch milliseconds an instant."""
    fireflies = _bodies("fireflies-transcripts.json", tmp_path)
    assert (
        fireflies[0]["transcript_text"]
        == "Priya Nair: Thanks for joining today.\nGuest: Glad to be here."
    )
    assert fireflies[0]["start_at"] == "2025-10-01T15:00:00+00:00"  # epoch milliseconds
