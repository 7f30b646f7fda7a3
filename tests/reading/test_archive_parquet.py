"""Tests of .zip manifests (one inside, bombs refused) and of Parquet (row groups, the extra)."""

from __future__ import annotations

import builtins
import gzip
import json
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ae_import.errors import ManifestError
from ae_import.reading import archive, open_manifest, read_sample
from ae_import.records import Row

CSV = "id,title\na,A\nb,B\n"


def records(path: Path | str, fmt: str | None = None) -> list[Row]:
    """Read every record of the manifest at ``path``."""
    with open_manifest(str(path), fmt) as manifest:
        return list(manifest)


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    """Write ``members`` into a new zip at ``path``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members.items():
            out.writestr(name, data)
    return path


def test_a_zip_holding_one_manifest_is_read_as_that_manifest(tmp_path: Path) -> None:
    """The one CSV inside is read; macOS metadata and folders are passed over."""
    path = zipped(
        tmp_path / "export.zip",
        {"__MACOSX/._calls.csv": b"junk", "out/": b"", "out/calls.csv": CSV.encode()},
    )
    assert [r.fields for r in records(path)] == [
        {"id": "a", "title": "A"},
        {"id": "b", "title": "B"},
    ]


@pytest.mark.parametrize("inner", ["calls.json", "calls.jsonl.gz"])
def test_a_zip_holding_json_or_packed_jsonl(tmp_path: Path, inner: str) -> None:
    """JSON (searched twice, so opened again) and a .gz inside the zip are read too."""
    data = json.dumps({"calls": [{"id": "a"}, {"id": "b"}]}).encode()
    if inner.endswith(".gz"):
        data = gzip.compress(b'{"id": "a"}\n{"id": "b"}\n')
    path = zipped(tmp_path / "x.zip", {inner: data})
    assert [r.fields["id"] for r in records(path)] == ["a", "b"]


def test_a_zip_with_two_manifests_names_them(tmp_path: Path) -> None:
    """More than one candidate is refused with their names."""
    path = zipped(tmp_path / "two.zip", {"a.csv": b"x", "b.jsonl": b"{}"})
    with pytest.raises(ManifestError, match=r"two.zip: zip: holds 2 manifests \(a.csv, b.jsonl\)"):
        records(path)


def test_a_zip_with_no_manifest_says_what_it_holds(tmp_path: Path) -> None:
    """A zip of recordings only says what it found."""
    path = zipped(tmp_path / "media.zip", {"a.mp3": b"ID3"})
    with pytest.raises(ManifestError, match=r"holds no manifest \(found: a.mp3\)"):
        records(path)


def test_a_zip_bomb_is_refused_before_unpacking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member that would unpack far past its packed size is refused, unread."""
    monkeypatch.setattr(archive, "RATIO_FLOOR", 1 << 16)
    path = zipped(tmp_path / "bomb.zip", {"calls.csv": b"id\n" + b"0" * (4 << 20)})
    with pytest.raises(ManifestError, match="refused as a possible zip bomb"):
        records(path)


def test_a_workbook_bomb_is_refused_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check guards an .xlsx, which is a zip."""
    monkeypatch.setattr(archive, "RATIO_FLOOR", 1 << 16)
    path = zipped(
        tmp_path / "bomb.xlsx",
        {"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b" " * (4 << 20)},
    )
    with pytest.raises(ManifestError, match=r"bomb.xlsx: Excel: .*zip bomb"):
        records(path)


def test_a_cut_zip_is_one_clear_error(tmp_path: Path) -> None:
    """A truncated .zip says it cannot be read and what to do."""
    whole = zipped(tmp_path / "w.zip", {"calls.csv": CSV.encode() * 100}).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ManifestError, match=r"cut.zip: zip: cannot read it .*zip it again"):
        records(cut)


def parquet(path: Path, rows: list[dict[str, Any]], group: int = 2) -> Path:
    """Write ``rows`` to a Parquet file of row groups of ``group`` rows."""
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=group)
    return path


def test_parquet_rows_are_records_with_plain_values(tmp_path: Path) -> None:
    """Every row group is read; times become ISO text, decimals exact, structs objects."""
    rows = [
        {
            "id": f"c{i}",
            "at": datetime(2024, 3, 5, 14, i, tzinfo=UTC),
            "naive": datetime(2024, 3, 5, 14, i),
            "amount": Decimal("12345678901234.50"),
            "owner": {"name": "Dana", "email": "dana@example.com"},
            "people": [{"email": "lee@acme.example"}],
        }
        for i in range(5)
    ]
    read = records(parquet(tmp_path / "calls.parquet", rows))
    assert [r.line for r in read] == [1, 2, 3, 4, 5]
    first = read[0].fields
    assert first["at"] == "2024-03-05T14:00:00+00:00"
    assert first["naive"] == "2024-03-05 14:00:00"
    assert first["amount"] == "12345678901234.50"
    assert first["owner"] == {"name": "Dana", "email": "dana@example.com"}
    sample = read_sample(str(tmp_path / "calls.parquet"))
    assert "owner.email" in sample.columns


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pyarrow, the message names pip install 'ae-import[parquet]'."""
    path = parquet(tmp_path / "calls.parquet", [{"id": "a"}])
    real = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ManifestError, match=r"pip install 'ae-import\[parquet\]'"):
        records(path)


def test_a_cut_parquet_file_is_one_clear_error(tmp_path: Path) -> None:
    """A truncated Parquet file says so, with the fix."""
    whole = parquet(tmp_path / "w.parquet", [{"id": "a"}] * 10).read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ManifestError, match=r"cut.parquet: Parquet: cannot read the file"):
        records(cut)
