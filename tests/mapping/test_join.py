"""``join``: an array made one text, for transcripts, titles and participant lists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ae_import.errors import ConfigError
from ae_import.mapping import MappingConfig, parse_mapping
from ae_import.mapping import join as join_module
from ae_import.mapping.mapper import Mapper

URL = "https://media.example-cdn.com/calls"
BASE: dict[str, Any] = {
    "defaults": {"type": "CALL", "source_system": "gong"},
}
IDS = {"external_id": "id", "title": "title", "media_url": "url"}
SENTENCES = [
    {"speaker_name": "Ann", "text": "Hello.", "start_time": 0.5},
    {"speaker_name": "Bo", "text": "Hi, Ann.", "start_time": 1.25},
    {"speaker_name": "Ann", "text": "", "start_time": 2.0},
]


def mapping(**columns: Any) -> MappingConfig:
    """Build a mapping with the ids, title and URL mapped, and these columns besides."""
    return parse_mapping("c.yaml", {**BASE, "columns": {**IDS, **columns}})


def row(**fields: Any) -> dict[str, Any]:
    """Return a record with an id, a title and a URL, and these keys besides."""
    return {"id": "1", "title": "Intro", "url": f"{URL}/1.mp3", **fields}


def test_sentences_join_into_a_transcript_one_line_each() -> None:
    """Each element through the item template (trimmed), joined by a newline."""
    mapper = Mapper(
        mapping(transcript_text={"join": "sentences", "item": "{speaker_name}: {text}"})
    )
    mapped = mapper.map(row(sentences=SENTENCES))
    assert mapped.problems == []
    assert mapped.body["transcript_text"] == "Ann: Hello.\nBo: Hi, Ann.\nAnn:"


def test_with_sets_the_separator_and_strings_need_no_item() -> None:
    """An array of strings joins as it is; with: gives the separator."""
    mapper = Mapper(mapping(title={"join": "tags", "with": " / "}))
    assert mapper.map(row(tags=["Q3", "renewal", 7])).body["title"] == "Q3 / renewal / 7"


def test_nested_paths_and_a_json_array_in_a_csv_cell() -> None:
    """The join path may be a key path; a cell holding a JSON array is read as one."""
    mapper = Mapper(mapping(transcript_text={"join": "call.lines", "item": "{who}: {said}"}))
    nested = row(call={"lines": [{"who": "A", "said": "x"}, {"who": "B", "said": "y"}]})
    assert mapper.map(nested).body["transcript_text"] == "A: x\nB: y"
    cell = Mapper(mapping(transcript_text={"join": "Lines", "item": "{who}: {said}"}))
    text = json.dumps([{"who": "A", "said": "x"}])
    assert cell.map(row(Lines=text)).body["transcript_text"] == "A: x"


def test_text_is_taken_as_it_is_and_absent_is_absent() -> None:
    """A plain string is already the text; a missing key or an empty array sends nothing."""
    mapper = Mapper(mapping(transcript_text={"join": "sentences", "item": "{text}"}))
    assert mapper.map(row(sentences="Ann: hi")).body["transcript_text"] == "Ann: hi"
    assert "transcript_text" not in mapper.map(row()).body
    assert "transcript_text" not in mapper.map(row(sentences=[])).body


@pytest.mark.parametrize(
    ("value", "item", "message"),
    [
        (
            [{"text": "a"}],
            None,
            "item 0 is an object: give the join an item template over its keys, such as item: "
            '"{speaker}: {text}"',
        ),
        ({"text": "a"}, "{text}", "is an object, not an array to join"),
        (["a", ["b"]], None, "item 1 is an array, not an object or text"),
    ],
)
def test_what_cannot_be_joined_is_a_problem_naming_the_join(
    value: Any, item: str | None, message: str
) -> None:
    """A bad_join problem on the field, naming the join; the row's other fields still map."""
    spec: dict[str, Any] = {"join": "sentences"}
    if item is not None:
        spec["item"] = item
    mapped = Mapper(mapping(transcript_text=spec)).map(row(sentences=value))
    [problem] = mapped.problems
    label = f"join sentences item {item}" if item else "join sentences"
    assert (problem.field, problem.code, problem.column, problem.message) == (
        "transcript_text",
        "bad_join",
        label,
        message,
    )
    assert mapped.body["title"] == "Intro"


def test_joining_stops_past_the_fields_limit_and_truncate_cuts() -> None:
    """100,000 words: joining stops past 500 characters; truncate: true cuts to 500 with …."""
    words = ["word"] * 100_000
    long = Mapper(mapping(title={"join": "words", "with": " "})).map(row(words=words))
    assert 500 < len(long.body["title"]) < 520
    cut = Mapper(mapping(title={"join": "words", "with": " ", "truncate": True}))
    title = cut.map(row(words=words)).body["title"]
    assert len(title) <= 500
    assert title.endswith("…")


def test_an_array_over_the_item_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over MAX_ITEMS elements: a bad_join problem saying the bound."""
    monkeypatch.setattr(join_module, "MAX_ITEMS", 3)
    mapped = Mapper(mapping(title={"join": "tags"})).map(row(tags=["a", "b", "c", "d"]))
    assert [p.message for p in mapped.problems] == ["holds 4 items; at most 3 are read"]


def test_a_participant_list_joins_an_array_one_entry_per_element() -> None:
    """list: {join:, item:} renders each element as a person entry, parsed as a list entry."""
    config = parse_mapping(
        "c.yaml",
        {
            **BASE,
            "columns": IDS,
            "participants": {"list": {"join": "attendees", "item": "{name} <{email}>"}},
        },
    )
    attendees = [
        {"name": "Doe, Jane", "email": "jane@example.com"},
        {"name": "", "email": "bo@example.com"},
    ]
    body = Mapper(config).map(row(attendees=attendees)).body
    assert body["participants"] == [
        {"name": "Doe, Jane", "email": "jane@example.com"},
        {"email": "bo@example.com"},
    ]


def test_a_list_key_holding_an_array_of_strings_is_one_entry_each() -> None:
    """list: attendees where attendees is a JSON array: each string is an entry."""
    config = parse_mapping(
        "c.yaml", {**BASE, "columns": IDS, "participants": {"list": "attendees"}}
    )
    body = Mapper(config).map(row(attendees=["Ann <ann@example.com>", "bo@example.com"])).body
    assert body["participants"] == [
        {"name": "Ann", "email": "ann@example.com"},
        {"email": "bo@example.com"},
    ]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"external_id": {"join": "ids"}}, "'join' applies only to title and source_system and"),
        ({"title": {"column": "t", "item": "{a}"}}, "columns.title.item applies only with join"),
        ({"title": {"column": "t", "join": "a"}}, "columns.title has column and join: give only"),
        ({"title": {"join": "{a}"}}, "columns.title.join names the array (a column or key path"),
        ({"title": {"join": "a", "with": 3}}, "columns.title.with must be text, got 3"),
        ({"title": {"item": "{a}"}}, "columns.title needs column (or template, join)"),
    ],
)
def test_bad_join_forms_are_config_errors(columns: dict[str, Any], message: str) -> None:
    """Each wrong join form is one ConfigError naming where it is and what to write."""
    with pytest.raises(ConfigError) as caught:
        parse_mapping("c.yaml", {**BASE, "columns": columns})
    assert message in str(caught.value)
