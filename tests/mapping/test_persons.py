"""People written in one cell: the owner as ``Name (email)``, list entries, nested item keys."""

from __future__ import annotations

from typing import Any

import pytest

from ae_import.mapping import MappingConfig, parse_mapping
from ae_import.mapping.mapper import Mapper
from ae_import.mapping.persons import read_person, split_entries

URL = "https://media.example-cdn.com/calls"
BASE: dict[str, Any] = {
    "defaults": {"type": "MEETING", "source_system": "zoom"},
    "columns": {"external_id": "Id", "title": "Topic", "media_url": "Url"},
    "phone_region": "US",
}


def mapping(participants: dict[str, Any]) -> MappingConfig:
    """Build a mapping with ids, title, URL, phone_region US and these participants."""
    return parse_mapping("c.yaml", {**BASE, "participants": participants})


def row(**cells: Any) -> dict[str, Any]:
    """Return a row with an id, a topic and a URL, and these cells besides."""
    return {"Id": "1", "Topic": "Demo", "Url": f"{URL}/1.mp3", **cells}


@pytest.mark.parametrize(
    ("text", "person"),
    [
        ("Jane Doe (jane@example.com)", {"name": "Jane Doe", "email": "jane@example.com"}),
        ("Jane Doe <jane@example.com>", {"name": "Jane Doe", "email": "jane@example.com"}),
        ('"Doe, Jane" <jane@example.com>', {"name": "Doe, Jane", "email": "jane@example.com"}),
        (
            '"Jane \\"JD\\" Doe" <jd@example.com>',
            {"name": 'Jane "JD" Doe', "email": "jd@example.com"},
        ),
        ("Jane <mailto:jane@example.com>", {"name": "Jane", "email": "jane@example.com"}),
        ("jane@example.com", {"email": "jane@example.com"}),
        ("(415) 555-2671", {"phone": "+14155552671"}),
        ("+44 20 7946 0958", {"phone": "+442079460958"}),
        ("Front Desk (415-555-2671)", {"name": "Front Desk", "phone": "+14155552671"}),
        ("Jane Doe", {"name": "Jane Doe"}),
        ("Sales (West)", {"name": "Sales (West)"}),
    ],
)
def test_one_person_in_every_form(text: str, person: dict[str, str]) -> None:
    """Name (email), Name <email>, quoted names, bare emails and phones, names alone."""
    assert read_person(text, "US") == (person, None)


def test_split_entries_keeps_a_quoted_comma() -> None:
    """A comma inside quotes or brackets never splits an entry; empty entries are dropped."""
    cell = '"Doe, Jane" <jane@example.com>, Bo (bo@example.com),, (415) 555-2671'
    assert list(split_entries(cell, ",")) == [
        '"Doe, Jane" <jane@example.com>',
        "Bo (bo@example.com)",
        "(415) 555-2671",
    ]
    assert list(split_entries("a; b ;", ";")) == ["a", "b"]


def test_a_list_cell_starting_with_a_bracket_that_is_not_json_is_still_split() -> None:
    """'[Ext] Bo <bo@x.io>; ann@x.io' is two entries, not one JSON array that failed."""
    mapper = Mapper(mapping({"list": "Guests"}))
    body = mapper.map(row(Guests="[Ext] Bo <bo@x.io>; ann@x.io")).body
    assert body["participants"] == [{"name": "[Ext] Bo", "email": "bo@x.io"}, {"email": "ann@x.io"}]


def test_owner_as_one_column_holding_a_person() -> None:
    """owner: Host parses the cell; the owner is sent first, and not again from the list."""
    mapper = Mapper(mapping({"owner": "Host", "list": {"column": "Guests", "separator": ","}}))
    mapped = mapper.map(
        row(Host="Dana Cruz (dana@example.com)", Guests='DANA@example.com, "Lee, Kim" <kim@x.io>')
    )
    assert mapped.problems == []
    assert mapped.body["participants"] == [
        {"name": "Dana Cruz", "email": "dana@example.com", "is_owner": True},
        {"name": "Lee, Kim", "email": "kim@x.io"},
    ]


def test_an_owner_cell_with_a_bad_phone_names_the_owner_column() -> None:
    """A phone that cannot be E.164 is a bad_phone problem on participants[1], from Host."""
    mapper = Mapper(mapping({"owner": "Host"}))
    [problem] = mapper.map(row(Host="Dana (555-0100)")).problems
    assert (problem.field, problem.code, problem.column) == (
        "participants[1].phone",
        "bad_phone",
        "Host",
    )


def test_an_owner_name_column_holding_an_address_is_split() -> None:
    """owner: {name: Host} with 'Jane (jane@x.com)': the email is no longer inside the name."""
    mapper = Mapper(mapping({"owner": {"name": "Host"}}))
    body = mapper.map(row(Host="Jane Doe (jane@example.com)")).body
    assert body["participants"] == [
        {"name": "Jane Doe", "email": "jane@example.com", "is_owner": True}
    ]
    both = Mapper(mapping({"owner": {"name": "Host", "email": "Host Email"}}))
    body = both.map(row(Host="Jane <old@example.com>", **{"Host Email": "new@example.com"})).body
    assert body["participants"][0]["email"] == "new@example.com"  # the mapped column wins


def test_items_read_nested_paths_inside_each_object() -> None:
    """items: name: user.displayName, email: user.userPrincipalName, phone: phone.id."""
    mapper = Mapper(
        mapping(
            {
                "items": {
                    "path": "participants",
                    "name": "user.displayName",
                    "email": "user.userPrincipalName",
                    "phone": "phone.id",
                }
            }
        )
    )
    people = [
        {"user": {"displayName": "Ann Lee", "userPrincipalName": "ann@example.com"}},
        {"phone": {"id": "(512) 555-0100"}},
        {"user": {}},
    ]
    mapped = mapper.map(row(participants=people))
    assert mapped.problems == []
    assert mapped.body["participants"] == [
        {"name": "Ann Lee", "email": "ann@example.com"},
        {"phone": "+15125550100"},
    ]


def test_a_list_template_builds_one_entry_from_several_columns() -> None:
    """list: {template: ...} renders the entry from columns, parsed as a person."""
    mapper = Mapper(mapping({"list": {"template": "{Who.Name} <{Who.Phone}>"}}))
    body = mapper.map(row(**{"Who.Name": "Lee Park", "Who.Phone": "(415) 555-2671"})).body
    assert body["participants"] == [{"name": "Lee Park", "phone": "+14155552671"}]


def test_an_owner_key_holding_an_object_says_to_map_its_keys() -> None:
    """owner: host where host is a JSON object: one bad_participant problem with the fix."""
    mapper = Mapper(mapping({"owner": "host"}))
    [problem] = mapper.map(row(host={"name": "Ann", "email": "ann@x.io"})).problems
    assert (problem.code, problem.column, problem.message) == (
        "bad_participant",
        "host",
        "is an object, not a person cell; map its keys: owner: {name: host.name, "
        "email: host.email}",
    )
