"""Tests of the JSON reader: arrays, wrapping objects, records:, broken and hostile records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ae_import.errors import ManifestError
from ae_import.reading import ReadingConfig, open_manifest, read_sample
from ae_import.reading import jsonarray as jsonarray_module
from ae_import.records import Row
from tests.helpers import Writer


def records(path: Path, reading: ReadingConfig | None = None, cap: int | None = None) -> list[Row]:
    """Read every record of the JSON manifest at ``path``."""
    with open_manifest(str(path), reading=reading, max_record=cap) as manifest:
        assert manifest.format == "json"
        return list(manifest)


def calls(count: int) -> list[dict[str, object]]:
    """Return ``count`` small call records."""
    return [{"id": f"c{i}", "title": f"Call {i}", "n": i} for i in range(count)]


def test_a_top_level_array_is_read_record_by_record_with_lines(write: Writer) -> None:
    """Each object of a pretty-printed array is one record, on the line where it starts."""
    path = write("calls.json", json.dumps(calls(3), indent=2))
    rows = records(path)
    assert [r.fields["id"] for r in rows] == ["c0", "c1", "c2"]
    assert [r.line for r in rows] == [2, 7, 12]
    assert all(not r.problems for r in rows)


def test_a_wrapped_array_is_found_by_records(write: Writer) -> None:
    """manifest: records: data.items names the array inside the wrapping object."""
    doc = {"meta": {"next": None, "items": [1]}, "data": {"total": 2, "items": calls(2)}}
    path = write("w.json", json.dumps(doc))
    rows = records(path, ReadingConfig(records="data.items"))
    assert [r.fields["id"] for r in rows] == ["c0", "c1"]


def test_a_wrapped_array_is_found_without_records(write: Writer) -> None:
    """Without records:, the largest array of objects is taken, and the sample says which."""
    doc = {"users": [{"id": "u1"}], "paging": {"cursor": "x"}, "calls": calls(3), "tags": ["a"]}
    path = write("gong.json", json.dumps(doc))
    assert [r.fields["id"] for r in records(path)] == ["c0", "c1", "c2"]
    sample = read_sample(str(path))
    assert sample.records == "calls"
    assert "also: users" in sample.records_note
    assert sample.columns[:2] == ["id", "title"]


def test_a_missing_records_path_is_one_clear_error(write: Writer) -> None:
    """A records: path that is not in the file says which member is missing."""
    path = write("w.json", json.dumps({"calls": calls(1)}))
    with pytest.raises(ManifestError, match=r"w.json: JSON: no member 'meetings'"):
        records(path, ReadingConfig(records="meetings"))


def test_objects_one_after_another_are_read_as_jsonl(write: Writer) -> None:
    """JSONL saved as .json is read record by record, each on its own line."""
    path = write("lines.json", "\n".join(json.dumps(c) for c in calls(3)) + "\n")
    rows = records(path)
    assert [(r.line, r.fields["id"]) for r in rows] == [(1, "c0"), (2, "c1"), (3, "c2")]


def test_one_bad_record_is_one_problem_and_reading_goes_on(write: Writer) -> None:
    """A record that is not valid JSON is reported by its index; the records after it are kept."""
    text = '[{"id": "a"},\n {"id": tru},\n {"id": "c"}, 7]'
    rows = records(write("bad.json", text))
    assert rows[0].fields == {"id": "a"}
    assert rows[1].problems[0].code == "bad_json"
    assert "record 2 is not valid JSON" in rows[1].problems[0].message
    assert rows[1].line == 2
    assert rows[2].fields == {"id": "c"}
    assert rows[3].problems[0].code == "not_object"
    assert "record 4 must be a JSON object, got number" in rows[3].problems[0].message


def test_a_cut_array_keeps_the_records_before_the_cut(write: Writer) -> None:
    """A file cut short keeps its whole records and says the array never closes."""
    text = json.dumps(calls(3))
    rows = records(write("cut.json", text[: text.rindex("{") + 5]))
    assert [r.fields.get("id") for r in rows[:2]] == ["c0", "c1"]
    assert rows[-1].problems
    assert "the rest cannot be read" in rows[-1].problems[0].message


def test_deep_nesting_is_one_problem_not_a_crash(write: Writer) -> None:
    """A record nested 100,000 levels deep is one bad_json problem; the next record is read."""
    deep = "[" * 100_000 + "]" * 100_000
    rows = records(write("deep.json", f'[{{"x": {deep}}}, {{"id": "ok"}}]'))
    assert rows[0].problems[0].code == "bad_json"
    assert "nested too deeply" in rows[0].problems[0].message
    assert rows[1].fields == {"id": "ok"}


def test_a_record_over_the_cap_is_skipped_without_being_held(write: Writer) -> None:
    """A record over the cap is one record_too_large problem; the records around it are read."""
    huge = {"id": "big", "transcript": "x" * 5000}
    path = write("big.json", json.dumps([{"id": "a"}, huge, {"id": "c"}]))
    rows = records(path, cap=1000)
    assert rows[0].fields == {"id": "a"}
    assert rows[1].problems[0].code == "record_too_large"
    assert rows[2].fields == {"id": "c"}


def test_records_that_cross_the_reading_chunks_are_whole(
    write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records cut by the 1 MB reading chunk (here 7 characters) come out whole, lines right."""
    monkeypatch.setattr(jsonarray_module, "_CHUNK", 7)
    items = [{"id": f"c{i}", "text": 'a "quoted" \\ \u00e9 value', "n": 12345.5} for i in range(20)]
    doc = {"skip": {"s": 'x]}{\\"' * 5}, "records": items}
    path = write("chunks.json", json.dumps(doc, indent=1))
    rows = records(path)
    assert [r.fields for r in rows] == items


def test_bad_bytes_and_a_byte_order_mark(write: Writer) -> None:
    """A UTF-8 BOM is passed over; a byte that is not UTF-8 is that record's problem."""
    body = b'\xef\xbb\xbf[{"id": "a"}, {"id": "b\xff"}, {"id": "c"}]'
    rows = records(write("bom.json", body))
    assert rows[0].fields == {"id": "a"}
    assert rows[1].problems[0].code == "bad_encoding"
    assert rows[2].fields == {"id": "c"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ('"just a string"', "line 1: the file starts with"),
        ("[1, 2]", None),
    ],
)
def test_files_that_hold_no_records(write: Writer, text: str, expected: str | None) -> None:
    """An empty file or a bare value is one clear error naming the format and the fix."""
    path = write("x.json", text)
    if expected is None:
        assert all(r.problems[0].code == "not_object" for r in records(path))
        return
    with pytest.raises(ManifestError, match=f"x.json: JSON: {expected}"):
        records(path)
