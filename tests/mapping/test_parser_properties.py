"""Property tests of the mapping's parsers: templates, value maps and whole mappings.

Any text as a source is a ``Source`` or one ``ValueError``; a source reads any record
without raising; any YAML-shaped mapping data is a mapping or one ``ConfigError``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ae_import.errors import ConfigError
from ae_import.mapping import Mapper, parse_mapping
from ae_import.mapping.sources import parse_source
from tests.helpers.strategies import JSON

SOURCE_TEXT = st.lists(
    st.one_of(st.sampled_from(["{", "}", "{{", "}}", ".", "[0]", "[", "]", " ", "a"]), st.text()),
    max_size=12,
).map("".join)
YAMLISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
FIELDS = st.sampled_from(
    ["type", "title", "external_id", "start_at", "run_workflows", "is_private"]
)


@settings(max_examples=300)
@given(SOURCE_TEXT, st.dictionaries(st.text(max_size=6), JSON, max_size=4))
def test_any_source_text_parses_or_says_why_and_reads_any_record(
    text: str, record: dict[str, Any]
) -> None:
    """A source is a Source or one ValueError; reading any JSON record never raises."""
    try:
        source = parse_source(text)
    except ValueError as exc:
        assert str(exc)
        return
    value = source.read(record)
    assert value is None or isinstance(value, str | int | float | bool | list | dict)


@settings(max_examples=300)
@given(FIELDS, st.dictionaries(SCALARS, YAMLISH, max_size=4), YAMLISH)
def test_any_value_map_is_a_mapping_or_one_config_error(
    field: str, value_map: dict[Any, Any], default: Any
) -> None:
    """A value map of any keys and values: parsed, or one ConfigError, never another exception."""
    data = {"defaults": {"type": "CALL", "source_system": "s"}}
    spec: dict[str, Any] = {"column": "C", "map": value_map}
    if default is not None:
        spec["default"] = default
    try:
        mapping = parse_mapping("c.yaml", {**data, "columns": {field: spec}})
        Mapper(mapping).map({"C": next(iter(map(str, value_map)), "x")})
    except ConfigError as exc:
        assert "\n" not in exc.message


@settings(max_examples=200)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "columns",
                "defaults",
                "participants",
                "manifest",
                "timezone",
                "timestamp_formats",
                "phone_region",
            ]
        ),
        YAMLISH,
        max_size=3,
    )
)
def test_any_mapping_data_is_a_mapping_or_one_config_error(data: dict[str, Any]) -> None:
    """The mapping part of any YAML: a MappingConfig, or one ConfigError."""
    try:
        Mapper(parse_mapping("c.yaml", data)).map({})
    except ConfigError as exc:
        assert "\n" not in exc.message
