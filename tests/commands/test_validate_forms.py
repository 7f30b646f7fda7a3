"""``ae-import validate`` end to end on the mapping forms of issue 19, in CSV and JSONL.

Date and time in two columns with each row's zone in a third, the owner as
``Name (email)``, quoted names in a list, sentence arrays joined into a transcript,
nested participant keys, and a source's own ``type`` and ``participants`` keys.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.helpers import Writer
from tests.helpers.validating import problems, validate

URL = "https://media.example-cdn.com/calls"

# Attendees of 101: a quoted name holding a comma, then a phone ("" is a quote in CSV).
KIM = '"""Lee, Kim"" <kim@example.com>; (512) 555-0100"'
DIALER_CSV = f"""\
Call ID,Call Date,Call Time,Timezone,Agent,Attendees,Recording
101,11/05/2025,14:15,America/New_York,Dana Cruz (dana@example.com),{KIM},{URL}/101.mp3
102,11/05/2025,09:00,Pacific Standard Time,Bo Park <bo@example.com>,,{URL}/102.mp3
103,11/06/2025,16:30,UTC+1,+1 415 555 2671,ann@example.com,{URL}/103.mp3
104,11/06/2025,08:00,,Ann <ann@example.com>,,{URL}/104.mp3
105,11/07/2025,10:00,Moon Time,Ann <ann@example.com>,,{URL}/105.mp3
"""
DIALER_CONFIG = """\
defaults: {type: CALL, source_system: dialer}
phone_region: US
timezone: {column: Timezone, default: America/Chicago}
columns:
  external_id: Call ID
  title: "Call with {Agent}"
  media_url: Recording
  start_at: {template: "{Call Date} {Call Time}", format: "%m/%d/%Y %H:%M"}
participants:
  owner: Agent
  list: Attendees
"""


def test_two_columns_a_row_zone_and_people_in_one_cell(runner: CliRunner, write: Writer) -> None:
    """Each row's instant in its own zone; owner and list parsed; a bad zone is one problem."""
    report = validate(runner, write("calls.csv", DIALER_CSV), write("c.yaml", DIALER_CONFIG))
    assert report["exit"] == 1
    assert [r["start_at"] for r in report["requests"]] == [
        "2025-11-05T14:15:00-05:00",
        "2025-11-05T09:00:00-08:00",
        "2025-11-06T16:30:00+01:00",
        "2025-11-06T08:00:00-06:00",
    ]
    first = report["requests"][0]["participants"]
    assert first == [
        {"name": "Dana Cruz", "email": "dana@example.com", "is_owner": True},
        {"name": "Lee, Kim", "email": "kim@example.com"},
        {"phone": "+15125550100"},
    ]
    assert report["requests"][2]["participants"][0] == {"phone": "+14155552671", "is_owner": True}
    [(line, field, column, code, message)] = problems(report)
    assert (line, field, column, code) == (6, "start_at", "Timezone", "bad_timezone")
    assert message.startswith("unknown time zone 'Moon Time'; use an IANA name")


def test_a_missing_zone_column_stops_before_the_first_row(runner: CliRunner, write: Writer) -> None:
    """The header check names the zone column the config reads, and the one probably meant."""
    manifest = write("calls.csv", DIALER_CSV.replace("Timezone", "Time Zone", 1))
    report = validate(runner, manifest, write("c.yaml", DIALER_CONFIG))
    assert report["exit"] == 2
    assert report["error"].startswith(
        f"ae-import: error: {manifest}: the config reads each row's time zone from column "
        "'Timezone', which the header lacks"
    )
    assert "did you mean 'Time Zone'? fix timezone.column in the config" in report["error"]


GONG = {
    "metaData": {
        "id": "7782342274025937895",
        "title": "Renewal",
        "started": "2025-11-05T14:15:00Z",
    },
    "type": "GROUPCALL",
    "media": {"audioUrl": f"{URL}/g1.mp3"},
    "participants": [
        {"user": {"displayName": "Ann Lee", "userPrincipalName": "ann@example.com"}},
        {"user": {"displayName": "Bo Park"}, "phone": {"id": "+14155552671"}},
    ],
    "sentences": [
        {"speaker_name": "Ann Lee", "text": "Shall we start?", "start_time": 0.4},
        {"speaker_name": "Bo Park", "text": "Yes.", "start_time": 2.1},
    ],
}
GONG_CONFIG = """\
defaults: {source_system: gong}
columns:
  external_id: metaData.id
  title: metaData.title
  start_at: metaData.started
  media_url: media.audioUrl
  type: {column: type, map: {GROUPCALL: MEETING, PEERTOPEER: CALL}}
  transcript_text: {join: sentences, item: "{speaker_name}: {text}"}
participants:
  items:
    path: participants
    name: user.displayName
    email: user.userPrincipalName
    phone: phone.id
"""


def test_sentences_nested_people_and_the_records_own_keys(runner: CliRunner, write: Writer) -> None:
    """JSONL: the transcript joined, people from nested keys, type through its map."""
    manifest = write("calls.jsonl", json.dumps(GONG) + "\n")
    report = validate(runner, manifest, write("c.yaml", GONG_CONFIG))
    assert problems(report) == []
    assert report["requests"] == [
        {
            "type": "MEETING",
            "title": "Renewal",
            "source_system": "gong",
            "external_id": "7782342274025937895",
            "media_url": f"{URL}/g1.mp3",
            "run_workflows": False,
            "start_at": "2025-11-05T14:15:00Z",
            "participants": [
                {"name": "Ann Lee", "email": "ann@example.com"},
                {"name": "Bo Park", "phone": "+14155552671"},
            ],
            "transcript_text": "Ann Lee: Shall we start?\nBo Park: Yes.",
        }
    ]
