"""init guesses by meaning: ids with repeats, the activity's start, zones, people, arrays, types."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ae_import.init.cells import credential_host, is_zone, person_of
from ae_import.init.core import mapping_text
from ae_import.init.values import read_stamps
from ae_import.reading.sample import Sample, flatten


def _sample(rows: list[dict[str, Any]], name: str = "export.csv", nested: bool = False) -> Sample:
    """Return a Sample of ``rows`` (flattened as JSON records are when ``nested``)."""
    flat = [flatten(r) if nested else r for r in rows]
    columns: dict[str, None] = {}
    for row in flat:
        columns.update(dict.fromkeys(row))
    fmt = "jsonl" if nested else "csv"
    return Sample(name=name, format=fmt, columns=list(columns), rows=flat)


def _mapping(sample: Sample, timezone: str | None = None) -> tuple[dict[str, Any], str]:
    """Return the mapping init writes for ``sample``, parsed, and its text."""
    text = mapping_text(sample, timezone=timezone).text
    return yaml.safe_load(text), text


def _calls(count: int, **extra: Any) -> list[dict[str, Any]]:
    """Return ``count`` plain call rows with a URL, a subject and any ``extra`` columns."""
    rows = []
    for n in range(count):
        row = {
            "Call Ref": f"R-{1000 + n}",
            "Subject": f"Call {n}",
            "Recording": f"https://cdn.example.com/{n}.mp3",
        }
        row.update({k: (v(n) if callable(v) else v) for k, v in extra.items()})
        rows.append(row)
    return rows


def test_a_row_exported_twice_does_not_stop_the_id_guess() -> None:
    """One duplicated row: the id column is still chosen, and the comment says why."""
    rows = _calls(6, Started=lambda n: f"2025-11-0{n + 1}T10:00:00Z")
    rows.append(dict(rows[2]))
    loaded, text = _mapping(_sample(rows))
    assert loaded["columns"]["external_id"] == "Call Ref"
    assert "exported twice" in text


def test_an_id_repeating_in_under_5_percent_of_rows_is_still_the_id() -> None:
    """A repeat in 1 of 40 distinct rows: still the id; validate reports the repeat."""
    rows = _calls(40, Started=lambda n: f"2025-11-01T10:{n:02d}:00Z")
    rows[39]["Call Ref"] = rows[0]["Call Ref"]
    loaded, text = _mapping(_sample(rows))
    assert loaded["columns"]["external_id"] == "Call Ref"
    assert "validate reports the repeats" in text


def test_a_value_that_is_not_id_shaped_is_not_the_id() -> None:
    """Unique sentences are not ids: no column is chosen over the id-shaped one."""
    rows = _calls(5, Notes=lambda n: f"free text number {n} here")
    loaded, _text = _mapping(_sample(rows))
    assert loaded["columns"]["external_id"] == "Call Ref"


def test_the_activity_start_wins_over_created_and_modified_stamps() -> None:
    """Created and Modified hold times too; the activity's own start is taken, the rest named."""
    rows = _calls(
        4,
        **{
            "Created Date": lambda n: f"2025-12-0{n + 1}T08:00:00Z",
            "Last Modified": lambda n: f"2025-12-0{n + 2}T08:00:00Z",
            "Call Start": lambda n: f"2025-11-0{n + 1}T10:15:00Z",
        },
    )
    loaded, text = _mapping(_sample(rows))
    assert loaded["columns"]["start_at"] == "Call Start"
    assert "other dates: Created Date, Last Modified" in text


def test_one_cell_in_another_format_keeps_the_activity_date() -> None:
    """An activity date with one ISO cell among US dates: both read, the column kept."""
    dates = ["11/03/2025 9:14 AM", "2025-11-04 14:40", "11/05/2025 10:02 AM", "11/06/2025 4:31 PM"]
    rows = _calls(
        4,
        **{
            "Activity Date": lambda n: dates[n],
            "Created Date": lambda n: f"2025-11-0{n + 3}T08:00:00Z",
        },
    )
    loaded, _text = _mapping(_sample(rows), timezone="America/New_York")
    assert loaded["columns"]["start_at"] == {
        "column": "Activity Date",
        "format": "%m/%d/%Y %I:%M %p",
    }


def test_mixed_patterns_are_written_as_a_list() -> None:
    """Two non-ISO forms in one column: both patterns are written, the first one first."""
    values = ["10/30/2025 09:12 AM", "30.10.2025 14:00", "10/31/2025 10:00 AM"]
    stamps = read_stamps(values)
    assert stamps is not None
    assert stamps.formats == ["%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M"]
    rows = [
        {"Id": f"c{n}", "Recording": f"https://cdn.example.com/{n}.mp3", "Start": value}
        for n, value in enumerate(values)
    ]
    loaded, _text = _mapping(_sample(rows), timezone="UTC")
    assert loaded["columns"]["start_at"] == {
        "column": "Start",
        "format": ["%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M"],
    }


def test_a_date_only_activity_date_takes_the_time_of_a_same_day_created_stamp() -> None:
    """ActivityDate holds the day alone; CreatedDate is that day with its time: it is taken."""
    rows = _calls(
        3,
        ActivityDate=lambda n: f"11/0{n + 3}/2025",
        CreatedDate=lambda n: f"11/0{n + 3}/2025 0{n + 1}:30 PM",
    )
    loaded, text = _mapping(_sample(rows), timezone="America/New_York")
    assert loaded["columns"]["start_at"]["column"] == "CreatedDate"
    assert "ActivityDate holds the activity's date alone" in text


def test_date_and_time_columns_become_one_template_with_the_zone_column() -> None:
    """Call Date + Call Time: a template and one format; Timezone: the per-row zone."""
    zones = ["America/Chicago", "Eastern Standard Time", "UTC-5", "Europe/Berlin"]
    rows = _calls(
        4,
        **{
            "Call Date": lambda n: f"06/0{n + 2}/2025",
            "Call Time": lambda n: f"{n + 1}:05 PM",
            "Timezone": lambda n: zones[n],
        },
    )
    loaded, _text = _mapping(_sample(rows), timezone="America/Chicago")
    assert loaded["columns"]["start_at"] == {
        "template": "{Call Date} {Call Time}",
        "format": "%m/%d/%Y %I:%M %p",
    }
    assert loaded["timezone"] == {"column": "Timezone", "default": "America/Chicago"}


def test_without_timezone_a_zone_column_defaults_to_utc_and_is_no_todo() -> None:
    """A zone column and no --timezone: default UTC, said in the comment, no TODO."""
    rows = _calls(3, Start=lambda n: f"2025-06-0{n + 2} 10:00", Zone=lambda n: "Europe/Paris")
    sample = _sample(rows)
    written = mapping_text(sample)
    assert yaml.safe_load(written.text)["timezone"] == {"column": "Zone", "default": "UTC"}
    assert "timezone" not in written.todos


@pytest.mark.parametrize(
    ("cell", "person"),
    [
        ("Dana Whitfield (dana@example.com)", ("Dana Whitfield", "dana@example.com", "")),
        ("Dana <dana@example.com>", ("Dana", "dana@example.com", "")),
        ("dana@example.com", ("", "dana@example.com", "")),
        ("+1 415 555 2671", ("", "", "+1 415 555 2671")),
        ("Lee Park ((415) 555-2671)", None),
        ("Lee O'Neil", ("Lee O'Neil", "", "")),
        ("4155552671", None),
        ("https://example.com/a", None),
    ],
)
def test_person_cells_read_in_every_form_owner_and_list_take(
    cell: str, person: tuple[str, str, str] | None
) -> None:
    """Name (email), Name <email>, bare email, bare phone, a name; bare digits are ids."""
    assert person_of(cell) == person


@pytest.mark.parametrize(
    ("cell", "zone"),
    [
        ("America/Chicago", True),
        ("Eastern Standard Time", True),
        ("UTC-5", True),
        ("+02:00", True),
        ("GMT+1", True),
        ("Mars/Olympus", False),
        ("Sales", False),
    ],
)
def test_zone_cells_are_iana_offsets_or_windows_names(cell: str, zone: bool) -> None:
    """IANA names, UTC offsets and Windows zone names are zones; other words are not."""
    assert is_zone(cell) is zone


def test_an_owner_column_of_name_email_cells_is_one_person_column() -> None:
    """Host cells such as Name (email) map as owner: Host, never as a name with the email in it."""
    rows = _calls(
        3,
        Started=lambda n: f"2025-11-0{n + 1}T10:00:00Z",
        Host=lambda n: "Dana Whitfield (dana@example.com)",
    )
    loaded, _text = _mapping(_sample(rows))
    assert loaded["participants"]["owner"] == "Host"


def test_nested_people_in_items_map_by_key_paths() -> None:
    """participants[].user.userPrincipalName and phone.id: nested paths, never an object."""
    rows = [
        {
            "id": f"rec-{n}",
            "type": "groupCall" if n % 2 else "peerToPeer",
            "startDateTime": f"2025-07-0{n + 1}T07:00:00Z",
            "recordingUrl": f"https://cdn.example.com/{n}.mp4",
            "participants": [
                {"user": {"displayName": "Ana Ruiz", "userPrincipalName": "ana@contoso.example"}},
                {"phone": {"id": "+14155550111"}},
            ],
        }
        for n in range(4)
    ]
    loaded, _text = _mapping(_sample(rows, "calls.jsonl", nested=True))
    assert loaded["participants"]["items"] == {
        "path": "participants",
        "name": "user.displayName",
        "email": "user.userPrincipalName",
        "phone": "phone.id",
    }
    assert loaded["columns"]["type"] == {
        "column": "type",
        "map": {"groupCall": "MEETING", "peerToPeer": "CALL"},
        "default": "MEETING",
    }


def test_sentence_arrays_become_a_joined_transcript() -> None:
    """[{speaker_name, text}] arrays: join, one "Speaker: text" a line."""
    rows = [
        {
            "id": f"t-{n}",
            "date": f"2025-10-0{n + 1}T10:00:00Z",
            "audio_url": f"https://cdn.example.com/{n}.mp3",
            "participants": ["a@example.com", "Bo <b@example.com>"],
            "sentences": [
                {"speaker_name": "Ann", "text": "Hello.", "start_time": 1.0},
                {"speaker_name": "Bo", "text": "Hi.", "start_time": 2.0},
            ],
        }
        for n in range(3)
    ]
    loaded, _text = _mapping(_sample(rows, "t.jsonl", nested=True))
    assert loaded["columns"]["transcript_text"] == {
        "join": "sentences",
        "item": "{speaker_name}: {text}",
        "with": "\n",
    }
    assert loaded["participants"]["list"] == "participants"


@pytest.mark.parametrize(
    "url",
    [
        "https://graph.microsoft.com/v1.0/users/1/onlineMeetings/2/recordings/3/content",
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        "https://zoom.us/rec/download/Qg75t7",
        "https://app.hubspot.com/calls/4412/recordings/1",
    ],
)
def test_media_urls_needing_credentials_point_to_staging(url: str) -> None:
    """Graph, Twilio, Zoom download and HubSpot URLs: mapped, with a comment to stage them."""
    assert credential_host([url]) is not None
    rows = [
        {"Id": f"c{n}", "Recording URL": url, "Start": f"2025-01-0{n + 1}T00:00:00Z"}
        for n in range(3)
    ]
    loaded, text = _mapping(_sample(rows))
    assert loaded["columns"]["media_url"] == "Recording URL"
    assert "--stage-to" in text.replace("\n  #   ", " ")
    assert "cannot fetch them" in text.replace("\n  # ", " ")


def test_a_public_media_url_gets_no_staging_comment() -> None:
    """A CDN's .mp3 needs no credentials: no staging comment."""
    rows = _calls(3, Started=lambda n: f"2025-11-0{n + 1}T10:00:00Z")
    _loaded, text = _mapping(_sample(rows))
    assert "--stage-to" not in text


def test_without_a_title_or_contact_the_title_is_a_template_of_when() -> None:
    """No title column, no contact: "Call on {start}" rather than a TODO."""
    rows = [
        {
            "Id": f"c{n}",
            "Recording": f"https://cdn.example.com/{n}.mp3",
            "Started": f"2025-01-0{n + 1}",
        }
        for n in range(3)
    ]
    written = mapping_text(_sample(rows), timezone="UTC")
    assert yaml.safe_load(written.text)["columns"]["title"] == "Call on {Started}"
    assert "title" not in written.todos


@pytest.mark.parametrize(
    ("values", "mapped"),
    [
        (["groupCall", "peerToPeer"], {"groupCall": "MEETING", "peerToPeer": "CALL"}),
        (["Video", "Phone"], {"Phone": "CALL", "Video": "MEETING"}),
        (["inbound", "outbound"], {"inbound": "CALL", "outbound": "CALL"}),
        (["Ausgehend", "Eingehend"], {"Ausgehend": "CALL", "Eingehend": "CALL"}),
    ],
)
def test_type_values_of_any_header_map_to_call_or_meeting(
    values: list[str], mapped: dict[str, str]
) -> None:
    """A column whose values say call or meeting is the type, with its value map written out."""
    rows = _calls(4, Kind=lambda n: values[n % 2], Started=lambda n: f"2025-11-0{n + 1}T10:00:00Z")
    loaded, _text = _mapping(_sample(rows))
    assert loaded["columns"]["type"]["column"] == "Kind"
    assert loaded["columns"]["type"]["map"] == mapped


def test_an_unknown_export_is_named_after_its_file_not_a_todo() -> None:
    """source_system and the prefix come from the file's name; no TODO."""
    rows = _calls(3, Started=lambda n: f"2025-11-0{n + 1}T10:00:00Z")
    written = mapping_text(_sample(rows, "Q4 Dialer Export.csv"))
    loaded = yaml.safe_load(written.text)
    assert loaded["defaults"]["source_system"] == "q4-dialer-export"
    assert loaded["external_id_prefix"] == "q4-dialer-export:"
    assert written.todos == []


def test_arrays_saying_who_spoke_what_are_the_transcript_under_any_header() -> None:
    """[{by, content}] under "dialogue": joined; an array of people with names is not."""
    rows = [
        {
            "id": f"d-{n}",
            "date": f"2025-10-0{n + 1}T10:00:00Z",
            "audio_url": f"https://cdn.example.com/{n}.mp3",
            "people": [
                {"fullName": "Annabel Leeworth", "side": "host"},
                {"fullName": "Bonaventure Parkinson", "side": "guest"},
            ],
            "dialogue": [
                {"by": "Ann", "content": "Shall we start with pricing?"},
                {"by": "Bo", "content": "Yes, pricing first please."},
            ],
        }
        for n in range(3)
    ]
    loaded, _text = _mapping(_sample(rows, "d.jsonl", nested=True))
    assert loaded["columns"]["transcript_text"] == {
        "join": "dialogue",
        "item": "{by}: {content}",
        "with": "\n",
    }
