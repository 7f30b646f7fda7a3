"""Property tests of issue 19's parsers: person cells, list splitting, zones, joins.

Any text is a person (never an exception), a list cell splits into non-empty entries, any
text is a zone or None, and a join reads any JSON value as text, None or one reason.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ae_import.mapping.join import Join
from ae_import.mapping.persons import read_person, split_entries
from ae_import.mapping.sources import parse_source
from ae_import.mapping.timestamps import check_zone, find_zone
from tests.helpers.strategies import JSON

PERSONISH = st.lists(
    st.one_of(
        st.sampled_from(['"', "<", ">", "(", ")", "@", "+1", ",", ";", " ", "\\", "a", "mailto:"]),
        st.text(max_size=6),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=300)
@given(PERSONISH)
def test_any_text_is_one_person(text: str) -> None:
    """read_person never raises; it gives a name, an email or a phone, and says what is wrong."""
    entry, wrong = read_person(text, "US")
    assert set(entry) <= {"name", "email", "phone"}
    assert wrong is None or isinstance(wrong, str)


@settings(max_examples=300)
@given(PERSONISH, st.sampled_from([",", ";", "|", " and "]))
def test_a_list_cell_splits_into_trimmed_entries(cell: str, separator: str) -> None:
    """Entries are never empty nor padded, and without quotes they are a plain split."""
    entries = list(split_entries(cell, separator))
    assert all(e and e == e.strip() for e in entries)
    if '"' not in cell:
        assert entries == [p.strip() for p in cell.split(separator) if p.strip()]


@settings(max_examples=300)
@given(st.text(max_size=40) | st.sampled_from(["UTC+14", "GMT-12:45", "Etc/GMT+5", "utc"]))
def test_any_text_is_a_zone_or_a_reason(text: str) -> None:
    """find_zone never raises, and check_zone gives a reason exactly when it finds none."""
    zone = find_zone(text)
    assert (zone is None) == (check_zone(text) is not None)


@settings(max_examples=300)
@given(JSON, st.booleans())
def test_a_join_reads_any_json_value(value: Any, with_item: bool) -> None:
    """A join gives text, nothing, or one reason, for any JSON value at its path."""
    join = Join(parse_source("a"), parse_source("{x}: {y.z}") if with_item else None, "\n", 50)
    text, wrong = join.read({"a": value})
    assert text is None or isinstance(text, str)
    assert wrong is None or (text is None and isinstance(wrong, str))
