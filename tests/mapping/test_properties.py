"""Property tests: requests round-trip through JSONL unchanged; any CSV reads back exactly.

Records over the size cap aside: each is one problem, and reading goes on after it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ae_import.mapping import EMPTY_MAPPING
from ae_import.mapping.mapper import Mapper
from ae_import.mapping.rowsource import check_rows
from ae_import.mapping.validation import REQUEST_FIELDS, validate_body
from ae_import.reading import encoding as lines
from ae_import.reading import open_manifest

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


# No lone CR in cells: one that falls exactly at the end of a piece cannot be told from the
# CR of a CR LF split there, and is taken as part of the line (see manifest._long_line).
CELLS = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00\r"), max_size=50
).filter(lambda s: s.strip() != "")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(CELLS, CELLS), min_size=1, max_size=8),
    st.integers(min_value=16, max_value=120),
    st.integers(min_value=2, max_value=9),
)
def test_records_over_the_cap_are_skipped_and_the_rest_read_exactly(
    records: list[tuple[str, str]], cap: int, piece: int
) -> None:
    """Any CSV: a record within the cap reads back exactly on its line and row; one over, a problem.

    Quotes, line breaks and any text; the cap in UTF-8 bytes, and tiny pieces read at a time.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    starts = []
    for record in [("a", "b"), *records]:
        starts.append(out.tell())
        writer.writerow(record)
    text = out.getvalue()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.csv"
        path.write_bytes(text.encode("utf-8"))
        with (
            mock.patch.object(lines, "_PIECE", piece),
            open_manifest(str(path), max_record=cap) as source,
        ):
            rows = list(source)
    expected: list[tuple[int, int | None, object]] = []
    ends = [*starts[1:], len(text)][1:]
    for index, (record, start, end) in enumerate(zip(records, starts[1:], ends, strict=True)):
        line = len(re.findall("\r\n|\r|\n", text[:start])) + 1
        sheet = index + 2 if index + 2 != line else None
        if len(text[start:end].encode("utf-8")) > cap:
            expected.append((line, sheet, "record_too_large"))
        else:
            expected.append((line, sheet, dict(zip(("a", "b"), record, strict=True))))
    got = [(r.line, r.sheet_row, r.problems[0].code if r.problems else r.fields) for r in rows]
    assert got == expected
