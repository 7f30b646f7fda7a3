"""Property tests: valid requests round-trip through a JSONL manifest unchanged."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ae_import.config import EMPTY_MAPPING
from ae_import.manifest import open_manifest
from ae_import.mapping import Mapper
from ae_import.pipeline import check_rows
from ae_import.validation import REQUEST_FIELDS, validate_body

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40).filter(
    lambda s: s.strip() != ""
)


def bounded(max_size: int) -> st.SearchStrategy[str]:
    """Non-blank text of at most ``max_size`` characters."""
    return TEXT.map(lambda s: s[:max_size])


ZONES = st.integers(min_value=-14 * 4, max_value=14 * 4).map(
    lambda q: timezone(timedelta(minutes=15 * q))
)
STAMPS = st.builds(
    lambda moment, zone, micro: (
        moment.replace(tzinfo=UTC)
        .astimezone(zone)
        .isoformat(timespec="microseconds" if micro else "seconds")
    ),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)),
    ZONES,
    st.booleans(),
)
HOSTS = st.sampled_from(["cdn.example.com", "media.example.org", "8.8.8.8", "[2606:4700::1111]"])
URLS = st.builds(
    lambda host, path, query: f"https://{host}/{path}" + (f"?sig={query}" if query else ""),
    HOSTS,
    st.from_regex(r"[a-z0-9/_.-]{1,30}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9]{0,20}", fullmatch=True),
)
EMAILS = st.from_regex(r"[a-z0-9._%+-]{1,12}@[a-z0-9-]{1,12}\.[a-z]{2,6}", fullmatch=True)
PHONES = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
PERSON = st.fixed_dictionaries(
    {},
    optional={
        "name": TEXT,
        "first_name": TEXT,
        "last_name": TEXT,
        "email": EMAILS,
        "phone": PHONES,
    },
).filter(bool)


@st.composite
def participants(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Draw a participant list with at most one owner."""
    people = draw(st.lists(PERSON, min_size=1, max_size=4))
    owner = draw(st.integers(min_value=-1, max_value=len(people) - 1))
    out = []
    for index, person in enumerate(people):
        flag = draw(st.sampled_from([None, False])) if index != owner else True
        out.append(person if flag is None else {**person, "is_owner": flag})
    return out


REQUESTS = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["CALL", "MEETING"]),
        "title": bounded(500),
        "source_system": bounded(100),
        "external_id": bounded(500),
        "media_url": URLS,
        "run_workflows": st.booleans(),
    },
    optional={
        "start_at": STAMPS,
        "is_private": st.booleans(),
        "participants": participants(),
        "transcript_text": st.text(min_size=1, max_size=200),
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(REQUESTS)
def test_valid_request_round_trips_through_jsonl(request: dict[str, Any]) -> None:
    """Any valid request, written as a JSONL line, maps back to exactly itself."""
    assert validate_body(request) == []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.jsonl"
        path.write_text(json.dumps(request, ensure_ascii=False) + "\n", encoding="utf-8")
        with open_manifest(str(path)) as source:
            rows = list(check_rows(source, Mapper(EMPTY_MAPPING, strip_cells=False)))
    assert len(rows) == 1
    assert rows[0].problems == ()
    assert rows[0].body == request


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from([*REQUEST_FIELDS, "other"])


@settings(max_examples=300)
@given(st.one_of(JSON, st.dictionaries(FIELD_NAMES, JSON, max_size=10)))
def test_validate_body_never_raises(body: Any) -> None:
    """Any JSON value gets a list of problems, never an exception (the sandbox relies on it)."""
    problems = validate_body(body)
    assert all(p.code and p.message for p in problems)
