"""Hostile input to the new readers: any cut or flipped byte is a clean error or a row problem."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ae_import.errors import ManifestError
from ae_import.reading import open_manifest


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["Title"], ["id", "title", "n"], ["a", "A", 1], ["b", "B", 2.5]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("calls.csv", "id,title\na,A\nb,B\n")
    return out.getvalue()


def _parquet() -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"id": "a", "n": 1}, {"id": "b", "n": 2}]), out)
    return out.getvalue()


SAMPLES = {
    ".xlsx": _xlsx(),
    ".zip": _zip(),
    ".parquet": _parquet(),
    ".json": json.dumps({"calls": [{"id": "a", "p": [{"e": 1}]}, {"id": "b"}]}).encode(),
}


def _read(path: Path) -> None:
    """Read every record; only a ManifestError may escape."""
    try:
        with open_manifest(str(path)) as manifest:
            for row in manifest:
                assert isinstance(row.fields, dict)
    except ManifestError as exc:
        text = str(exc)
        assert "\n" not in text
        assert "NUL" not in text


@pytest.mark.parametrize("ext", sorted(SAMPLES))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_cut_or_flipped_files_never_crash(tmp_path: Path, ext: str, data: st.DataObject) -> None:
    """A file cut anywhere, or with one byte changed, is one clean error or rows with problems."""
    whole = SAMPLES[ext]
    cut = data.draw(st.integers(0, len(whole)))
    body = bytearray(whole[:cut])
    if body and data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(body) - 1))
        body[at] = data.draw(st.integers(0, 255))
    path = tmp_path / f"m{ext}"
    path.write_bytes(bytes(body))
    _read(path)


def test_a_huge_cell_in_a_workbook_is_read_as_one_value(tmp_path: Path) -> None:
    """A 1 MB cell is one value: the row's field holds it whole, nothing breaks."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "transcript"])
    sheet.append(["a", "x" * 32_000])  # Excel's own limit per cell is 32,767 characters
    path = tmp_path / "huge.xlsx"
    book.save(path)
    with open_manifest(str(path)) as manifest:
        (row,) = list(manifest)
    assert len(row.fields["transcript"]) == 32_000
