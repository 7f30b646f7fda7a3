"""Tests of RowSource's fingerprint of a raw record: equal records agree, different ones differ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ae_import.mapping import EMPTY_MAPPING
from ae_import.mapping.mapper import Mapper
from ae_import.mapping.rowsource import RowSource
from ae_import.reading import open_manifest
from ae_import.records import Row

# Surrogates and NUL included: an undecodable cell holds them.
TEXT = st.text(st.characters(exclude_categories=()), max_size=8)
VALUE = st.recursive(
    st.none() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=6,
)
RECORD = st.dictionaries(TEXT, TEXT, max_size=4) | st.dictionaries(TEXT, VALUE, max_size=4)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RowSource]:
    """Return a RowSource over a one-line manifest: its fingerprint is what is tested."""
    path: Path = tmp_path_factory.mktemp("fp") / "m.csv"
    path.write_text("external_id,title,type,source_system,media_url\n1,t,CALL,s,https://h/a\n")
    with open_manifest(str(path)) as manifest:
        yield RowSource(manifest, Mapper(EMPTY_MAPPING, strip_cells=True))


def fp(source: RowSource, fields: dict[str, Any]) -> str:
    """Return the fingerprint of a record holding ``fields``."""
    return source.fingerprint(Row(2, fields))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(RECORD, RECORD)
def test_records_share_a_fingerprint_only_when_equal(
    source: RowSource, first: dict[str, Any], second: dict[str, Any]
) -> None:
    """Records sharing a fingerprint hold the same keys and values, in order; equal ones share.

    Only this way matters: a row is skipped on its fingerprint. Records that are equal in
    Python but written apart (0.0 and -0.0) may get two fingerprints: that row is re-checked.
    """
    if fp(source, first) == fp(source, second):
        assert repr(list(first.items())) == repr(list(second.items()))
    assert fp(source, first) == fp(source, dict(first))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"a": "x\x00", "b": ""}, {"a": "x", "b": "\x00"}),  # NUL where the join puts one
        ({"a": "1"}, {"a": 1}),  # text and a number
        ({"a\x00b": ""}, {"a": "b"}),  # NUL in a key
        ({}, {"": ""}),  # no field, and one empty one
        ({"a": "b", "c": "d"}, {"c": "d", "a": "b"}),  # the same fields in another order
    ],
)
def test_records_a_join_could_confuse_get_different_fingerprints(
    source: RowSource, first: dict[str, Any], second: dict[str, Any]
) -> None:
    """Records that read alike once joined with NUL still get different fingerprints."""
    assert fp(source, first) != fp(source, second)


def test_the_fingerprint_is_the_same_from_run_to_run(source: RowSource) -> None:
    """A record's fingerprint is fixed by its fields and the mapping, not by the process."""
    fields = {"external_id": "1", "title": "t\udcff"}
    assert fp(source, fields) == fp(source, dict(fields))
    assert len(fp(source, fields)) == 32
