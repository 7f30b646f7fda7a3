"""Tests of request validation: every rule of the contract, and the duplicate-id table."""

from __future__ import annotations

from typing import Any

import pytest

from ae_import.mapping.seen import SeenIds
from ae_import.mapping.validation import is_rfc3339, validate_body
from ae_import.redact import redact_url

VALID: dict[str, Any] = {
    "type": "CALL",
    "title": "Discovery call",
    "source_system": "salesforce",
    "external_id": "sf:1",
    "media_url": "https://cdn.example.com/a.mp3?X-Amz-Signature=abc",
    "run_workflows": False,
}


def codes(body: Any) -> list[tuple[str, str]]:
    """Return (field, code) of every problem of ``body``."""
    return [(p.field, p.code) for p in validate_body(body)]


def test_valid_bodies_have_no_problems() -> None:
    """A minimal valid body, and one with every optional field, pass."""
    assert validate_body(VALID) == []
    full = {
        **VALID,
        "start_at": "2024-03-05T14:30:00-07:00",
        "is_private": True,
        "participants": [
            {"name": "A", "email": "a@example.com", "phone": "+14155552671", "is_owner": True},
            {"first_name": "B"},
            {"last_name": "C", "is_owner": False},
        ],
        "transcript_text": "hello",
    }
    assert validate_body(full) == []


def test_every_problem_is_reported_not_just_the_first() -> None:
    """A body with many faults reports each of them."""
    body = {"type": "WEBINAR", "title": "", "media_url": "http://10.0.0.1/a", "is_private": "x"}
    assert codes(body) == [
        ("title", "missing_field"),
        ("source_system", "missing_field"),
        ("external_id", "missing_field"),
        ("run_workflows", "missing_field"),
        ("type", "bad_enum"),
        ("media_url", "url_scheme"),
        ("media_url", "url_private"),
        ("is_private", "wrong_type"),
    ]


@pytest.mark.parametrize("body", [[], "x", 1, None, True])
def test_body_must_be_an_object(body: Any) -> None:
    """A body that is not a JSON object is one not_object problem."""
    assert codes(body) == [("", "not_object")]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("external_id", 12345, "wrong_type"),
        ("title", ["a"], "wrong_type"),
        ("run_workflows", "false", "wrong_type"),
        ("type", "call", "bad_enum"),
        ("title", "x" * 501, "too_long"),
        ("source_system", "x" * 101, "too_long"),
        ("external_id", "x" * 501, "too_long"),
        ("external_id", "x" * 10_000, "too_long"),
        ("start_at", "2024-03-05 14:30", "bad_timestamp"),
        ("start_at", "2024-03-05T14:30:00", "bad_timestamp"),
        ("start_at", "2024-02-30T14:30:00Z", "bad_timestamp"),
        ("unknown", "x", "unknown_field"),
    ],
)
def test_field_rules(field: str, value: Any, code: str) -> None:
    """Each field rule reports its own code."""
    assert (field, code) in codes({**VALID, field: value})


@pytest.mark.parametrize(
    ("field", "length"), [("title", 500), ("source_system", 100), ("external_id", 500)]
)
def test_lengths_at_the_limit_pass(field: str, length: int) -> None:
    """A value exactly at its documented maximum passes."""
    assert validate_body({**VALID, field: "é" * length}) == []


def test_wrong_type_message_suggests_quoting_numbers() -> None:
    """A number where a string belongs says to quote it."""
    [problem] = validate_body({**VALID, "external_id": 7})
    assert problem.message == "must be a string, got number; quote it"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://cdn.example.com/a.mp3", "url_scheme"),
        ("ftp://cdn.example.com/a.mp3", "url_scheme"),
        ("cdn.example.com/a.mp3", "url_scheme"),
        ("https:///a.mp3", "url_host"),
        ("https://localhost/a.mp3", "url_host"),
        ("https://LOCALHOST./a.mp3", "url_host"),
        ("https://media.localhost/a.mp3", "url_host"),
        ("https://10.1.2.3/a.mp3", "url_private"),
        ("https://172.16.0.1/a.mp3", "url_private"),
        ("https://192.168.1.1/a.mp3", "url_private"),
        ("https://127.0.0.1:8443/a.mp3", "url_private"),
        ("https://169.254.169.254/latest/meta-data", "url_private"),
        ("https://0.0.0.0/a.mp3", "url_private"),
        ("https://100.64.0.1/a.mp3", "url_private"),
        ("https://224.0.0.1/a.mp3", "url_private"),
        ("https://240.0.0.1/a.mp3", "url_private"),
        ("https://[::1]/a.mp3", "url_private"),
        ("https://[fe80::1]/a.mp3", "url_private"),
        ("https://[fc00::1]/a.mp3", "url_private"),
        ("https://[::ffff:10.0.0.1]/a.mp3", "url_private"),
        ("https://[::ffff:7f00:1]/a.mp3", "url_private"),
        ("https://[2002:0a00:0001::1]/a.mp3", "url_private"),
        ("https://2130706433/a.mp3", "url_private"),
        ("https://0x7f.1/a.mp3", "url_private"),
        ("https://127.1/a.mp3", "url_private"),
        ("https://[::1/a.mp3", "url_invalid"),
        ("https://cdn.example.com:99999/a.mp3", "url_invalid"),
    ],
)
def test_media_url_refusals(url: str, code: str) -> None:
    """Non-https, host-less, localhost and private-range URLs are refused locally."""
    assert ("media_url", code) in codes({**VALID, "media_url": url})


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/a.mp3",
        "HTTPS://CDN.EXAMPLE.COM/a.mp3",
        "https://8.8.8.8/a.mp3",
        "https://[2606:4700::1111]/a.mp3",
        "https://bucket.s3.us-west-2.amazonaws.com/a.mp3?X-Amz-Signature=0a1b",
        "https://10x.example.com/a.mp3",
    ],
)
def test_media_url_accepted(url: str) -> None:
    """Public https URLs, IP literals included, pass."""
    assert validate_body({**VALID, "media_url": url}) == []


def test_media_url_messages_never_hold_the_query_string() -> None:
    """Problems about a presigned URL do not repeat its signature."""
    body = {**VALID, "media_url": "http://10.0.0.1/a.mp3?X-Amz-Signature=SECRET"}
    for problem in validate_body(body):
        assert "SECRET" not in problem.message


def test_transcript_limits() -> None:
    """900,000 characters pass; one more fails; CJK over 950,000 bytes fails below it."""
    assert validate_body({**VALID, "transcript_text": "a" * 900_000}) == []
    assert codes({**VALID, "transcript_text": "a" * 900_001}) == [("transcript_text", "too_long")]
    cjk = "語" * 316_667  # 950,001 bytes, well under the character limit
    assert codes({**VALID, "transcript_text": cjk}) == [("transcript_text", "too_many_bytes")]
    assert validate_body({**VALID, "transcript_text": "語" * 316_666}) == []
    assert codes({**VALID, "transcript_text": 5}) == [("transcript_text", "wrong_type")]


@pytest.mark.parametrize(
    ("participants", "expected"),
    [
        ({"name": "x"}, [("participants", "wrong_type")]),
        (["x"], [("participants[1]", "wrong_type")]),
        ([{}], [("participants[1]", "participant_empty")]),
        ([{"name": "  "}], [("participants[1]", "participant_empty")]),
        ([{"is_owner": True}], [("participants[1]", "participant_empty")]),
        ([{"email": "nope"}], [("participants[1].email", "bad_email")]),
        ([{"email": "a@b"}], [("participants[1].email", "bad_email")]),
        ([{"email": "a b@c.com"}], [("participants[1].email", "bad_email")]),
        ([{"phone": "4155552671"}], [("participants[1].phone", "bad_phone")]),
        ([{"phone": "+0123"}], [("participants[1].phone", "bad_phone")]),
        ([{"phone": "+1234567890123456"}], [("participants[1].phone", "bad_phone")]),
        (
            [{"name": 5}],
            [("participants[1].name", "wrong_type"), ("participants[1]", "participant_empty")],
        ),
        ([{"name": "a", "is_owner": "yes"}], [("participants[1].is_owner", "wrong_type")]),
        ([{"name": "a", "role": "host"}], [("participants[1]", "unknown_field")]),
        (
            [{"name": "a", "is_owner": True}, {"name": "b", "is_owner": True}],
            [("participants", "multiple_owners")],
        ),
    ],
)
def test_participant_rules(participants: Any, expected: list[tuple[str, str]]) -> None:
    """Each participant needs an identity; emails, phones and owners are checked."""
    assert codes({**VALID, "participants": participants}) == expected


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2024-03-05T14:30:00Z", True),
        ("2024-03-05t14:30:00z", True),
        ("2024-03-05 14:30:00+05:30", True),
        ("2024-03-05T14:30:00.5-07:00", True),
        ("2024-03-05T14:30Z", False),
        ("2024-03-05", False),
        ("2024-03-05T14:30:00+0530", False),
    ],
)
def test_is_rfc3339(text: str, ok: bool) -> None:
    """Only full RFC 3339 date-times with an offset pass."""
    assert is_rfc3339(text) is ok


def test_remembered_answers_stay_right_past_the_cache_and_for_long_texts() -> None:
    """The checks remember answers: past 4,096 texts, and for long texts, they still judge each."""
    for round_ in range(2):  # the second round meets texts the cache has dropped
        for number in range(5000):
            people = [{"email": f"p{number}@x.example"}, {"email": f"p{number}@nowhere"}]
            found = [(p.field, p.code) for p in validate_body({**VALID, "participants": people})]
            assert found == [("participants[2].email", "bad_email")], (round_, number)
    long_good = "a" * 400 + "@x.example"
    long_bad = "a" * 400 + "@nowhere"
    for _ in range(3):
        assert validate_body({**VALID, "participants": [{"email": long_good}]}) == []
        assert [
            p.code for p in validate_body({**VALID, "participants": [{"email": long_bad}]})
        ] == ["bad_email"]
        assert is_rfc3339("2024-03-05T14:00:00." + "1" * 400 + "Z") is True
        assert is_rfc3339("2024-02-30T14:00:00." + "1" * 400 + "Z") is False  # no such day


def test_seen_ids_reports_the_first_line() -> None:
    """The first add of an id returns None; later ones return the first line."""
    seen = SeenIds()
    assert seen.add("a", 2) is None
    assert seen.add("b", 3) is None
    assert seen.add("a", 9) == 2
    assert seen.add("a", 10) == 2
    assert len(seen) == 2


def test_seen_ids_survives_growth() -> None:
    """Growing the table keeps every id and its line."""
    seen = SeenIds(capacity=4)
    for number in range(20_000):
        assert seen.add(f"id-{number}", number + 2) is None
    assert len(seen) == 20_000
    for number in range(0, 20_000, 997):
        assert seen.add(f"id-{number}", 0) == number + 2


def test_seen_ids_keeps_irregular_lines() -> None:
    """Gaps of any size between lines (multi-line records, big ones) come back exactly."""
    import random

    rng = random.Random(3)
    lines, line = [], 1
    for _ in range(3000):
        line += rng.choice([1, 1, 2, 7, 254, 255, 256, 70_000])
        lines.append(line)
    seen = SeenIds()
    for number, at in enumerate(lines):
        assert seen.add(f"x{number}", at) is None
    for number in range(0, 3000, 7):
        assert seen.add(f"x{number}", 10**9) == lines[number]


def test_seen_ids_keeps_the_spreadsheet_row_of_each_id() -> None:
    """Each id's row comes back too, where it differs from its line (any gap, any order)."""
    import random

    rng = random.Random(5)
    places, line, row = [], 1, 1
    for _ in range(3000):
        row += 1
        line += rng.choice([1, 1, 1, 2, 300, 70_000])
        places.append((line, row if row != line else None))
    seen = SeenIds()
    for number, (at, sheet) in enumerate(places):
        assert seen.add(f"x{number}", at, sheet) is None
    assert seen.first_row("unknown") is None
    for number in range(0, 3000, 7):
        assert seen.first_row(f"x{number}") == places[number][1]
        assert seen.add(f"x{number}", 10**9) == places[number][0]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://h.example/a.mp3?X-Amz-Signature=abc", "https://h.example/a.mp3?<redacted>"),
        ("https://user:pw@h.example/a.mp3", "https://h.example/a.mp3"),
        ("https://user:pw@h.example", "https://h.example"),
        ("https://h.example/a#frag", "https://h.example/a"),
        ("https://h.example/a.mp3", "https://h.example/a.mp3"),
        ("not a url?token=1", "not a url?<redacted>"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    """Query strings, fragments and user-info never survive redaction."""
    assert redact_url(url) == shown
