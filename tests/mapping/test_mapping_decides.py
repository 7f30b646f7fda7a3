"""The mapping decides, never a key's name: a key named like an API field is data once mapped.

Regressions of issue 19: a JSONL record with its own ``participants`` or ``type`` key
broke every row, the raw key passed on beside the mapped one.
"""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from ae_import.mapping import parse_mapping
from ae_import.mapping.mapper import Mapper
from tests.helpers import Writer
from tests.helpers.validating import problems, validate

URL = "https://media.example-cdn.com/calls"
# A Teams/Graph call record: its own "type" and "participants" keys hold Graph's values.
GRAPH = {
    "id": "c-1",
    "type": "GROUPCALL",
    "subject": "Pipeline review",
    "audio": f"{URL}/c-1.mp3",
    "participants": [
        {"user": {"displayName": "Ann Lee", "userPrincipalName": "ann@example.com"}},
        {"phone": {"id": "+14155552671"}},
    ],
}
GRAPH_CONFIG = """\
defaults: {source_system: teams}
columns:
  external_id: id
  title: subject
  media_url: audio
  type: {column: type, map: {GROUPCALL: MEETING, PEERTOPEER: CALL}}
participants:
  items: {path: participants, name: user.displayName,
          email: user.userPrincipalName, phone: phone.id}
"""


def _messages(report: dict[str, Any]) -> list[str]:
    return [p["message"] for p in report["problems"]]


def test_own_participants_and_type_keys_are_data_once_mapped(
    runner: CliRunner, write: Writer
) -> None:
    """With items mapped, the raw participants key is not passed on; type goes through its map."""
    manifest = write("calls.jsonl", json.dumps(GRAPH) + "\n")
    report = validate(runner, manifest, write("c.yaml", GRAPH_CONFIG))
    assert problems(report) == []
    [body] = report["requests"]
    assert body["type"] == "MEETING"
    assert body["participants"] == [
        {"name": "Ann Lee", "email": "ann@example.com"},
        {"phone": "+14155552671"},
    ]


def test_the_raw_keys_fail_only_where_the_config_maps_them(
    runner: CliRunner, write: Writer
) -> None:
    """Mapping the raw keys on purpose gives exactly the errors issue 19 reported."""
    config = (
        "defaults: {source_system: teams}\n"
        "columns: {external_id: id, title: subject, media_url: audio, type: type, "
        "participants: participants}\n"
    )
    report = validate(
        runner, write("calls.jsonl", json.dumps(GRAPH) + "\n"), write("c.yaml", config)
    )
    messages = _messages(report)
    assert "'GROUPCALL' is not one of CALL, MEETING" in messages
    assert any(m.startswith("unknown participant field 'user'") for m in messages)


def test_a_default_type_is_not_overridden_by_a_key_named_type(
    runner: CliRunner, write: Writer
) -> None:
    """defaults.type: CALL with a type key holding GROUPCALL: CALL is sent, no bad_enum."""
    config = (
        "defaults: {source_system: teams, type: CALL}\n"
        "columns: {external_id: id, title: subject, media_url: audio}\n"
    )
    report = validate(
        runner, write("calls.jsonl", json.dumps(GRAPH) + "\n"), write("c.yaml", config)
    )
    assert problems(report) == []
    assert report["requests"][0]["type"] == "CALL"
    assert "participants" not in report["requests"][0]


def test_without_a_mapping_api_named_keys_pass_through() -> None:
    """A config that maps nothing (defaults only) keeps taking API-named keys as they are."""
    mapper = Mapper(parse_mapping("c.yaml", {"defaults": {"source_system": "crm"}}))
    row = {"type": "call", "title": "t", "external_id": "1", "media_url": f"{URL}/1.mp3"}
    body = mapper.map(row).body
    assert (body["type"], body["title"], body["external_id"]) == ("CALL", "t", "1")


def test_a_csv_column_named_like_a_field_is_not_a_source_once_columns_are_mapped(
    runner: CliRunner, write: Writer
) -> None:
    """Exit 2 before any row: the required field has no mapped source, and the fix is named."""
    manifest = write("m.csv", f"Id,title,Url\n1,Intro,{URL}/1.mp3\n")
    config = write(
        "c.yaml",
        "defaults: {type: CALL, source_system: crm}\ncolumns: {external_id: Id, media_url: Url}\n",
    )
    report = validate(runner, manifest, config)
    assert report["error"] == (
        f"ae-import: error: {manifest}: the config maps no source to required field 'title' "
        "(columns: Id, title, Url); a config that maps columns uses a column only when it maps "
        "it, even one named like the field: add columns.title or defaults.title to the config\n"
    )


def test_a_jsonl_field_without_a_source_says_how_to_map_it(
    runner: CliRunner, write: Writer
) -> None:
    """JSONL has no header: the row's missing_field problem names columns.X and defaults.X."""
    record = {"id": "1", "title": "Intro", "audio": f"{URL}/1.mp3"}
    config = write(
        "c.yaml",
        "defaults: {type: CALL, source_system: crm}\n"
        "columns: {external_id: id, media_url: audio}\n",
    )
    report = validate(runner, write("m.jsonl", json.dumps(record) + "\n"), config)
    assert problems(report) == [
        (
            1,
            "title",
            None,
            "missing_field",
            "is required: the config maps no source to it; map one with columns.title, or set "
            "defaults.title",
        )
    ]
