"""Tests of the workbook reader: sheets, title rows, exact numbers, real dates, broken files."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from ae_import.errors import ManifestError
from ae_import.reading import ReadingConfig, excel, open_manifest, read_sample
from ae_import.reading.excel import cell_text
from ae_import.records import Row


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """Write ``sheets`` (name: rows) to an .xlsx at ``path``, in order."""
    book = openpyxl.Workbook()
    first = True
    for name, rows in sheets.items():
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        sheet.title = name
        first = False
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def records(path: Path, reading: ReadingConfig | None = None) -> list[Row]:
    """Read every record of the workbook at ``path``."""
    with open_manifest(str(path), reading=reading) as manifest:
        assert manifest.format == "excel"
        return list(manifest)


REPORT: list[list[Any]] = [
    ["Activities with Calls"],
    ["Filtered By: Date = Last Year"],
    [],
    ["Call ID", "Subject", "Start", "Duration", "Amount", "Done"],
    [123456789012, "Renewal", datetime(2024, 3, 5, 14, 30), time(0, 5, 30), 1.5, True],
    [1.0, "Intro", date(2024, 3, 6), None, 0.1, False],
]


def test_a_report_with_title_rows_reads_its_header_and_exact_cells(tmp_path: Path) -> None:
    """Title rows are found as in CSV; ids stay whole, dates become naive ISO text."""
    path = workbook(tmp_path / "report.xlsx", {"Report": REPORT})
    rows = records(path)
    assert [r.line for r in rows] == [5, 6]
    assert rows[0].fields == {
        "Call ID": "123456789012",
        "Subject": "Renewal",
        "Start": "2024-03-05 14:30:00",
        "Duration": "00:05:30",
        "Amount": "1.5",
        "Done": "true",
    }
    assert rows[1].fields["Call ID"] == "1"
    assert rows[1].fields["Start"].startswith("2024-03-06")
    assert rows[1].fields["Duration"] == ""
    sample = read_sample(str(path))
    assert (sample.format, sample.sheet, sample.skip_lines) == ("excel", "Report", 3)
    assert sample.columns == ["Call ID", "Subject", "Start", "Duration", "Amount", "Done"]


def test_a_named_sheet_is_read_and_a_missing_one_is_named(tmp_path: Path) -> None:
    """manifest: sheet: picks the sheet; an unknown name lists the sheets there are."""
    path = workbook(
        tmp_path / "two.xlsx",
        {"Summary": [["total", 2]], "Calls": [["id", "title"], ["a", "A"], ["b", "B"]]},
    )
    rows = records(path, ReadingConfig(sheet="Calls"))
    assert [r.fields["id"] for r in rows] == ["a", "b"]
    with pytest.raises(ManifestError, match=r"no sheet 'Nope' .*'Summary', 'Calls'"):
        records(path, ReadingConfig(sheet="Nope"))


def test_skip_lines_counts_rows_above_the_header(tmp_path: Path) -> None:
    """manifest: skip_lines: is honoured for a workbook as rows."""
    path = workbook(tmp_path / "s.xlsx", {"S": [["junk", "x", "y"], ["id", "t"], ["1", "a"]]})
    rows = records(path, ReadingConfig(skip_lines=1))
    assert rows[0].fields == {"id": "1", "t": "a"}


def test_a_repeated_column_name_is_refused(tmp_path: Path) -> None:
    """Two header cells with one name: one error naming the column and both places."""
    path = workbook(tmp_path / "d.xlsx", {"S": [["id", "id"], ["1", "2"]]})
    with pytest.raises(ManifestError, match=r"column 'id' appears twice .*columns 1 and 2"):
        records(path)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (123456789012.0, "123456789012"),
        (1.23e11, "123000000000"),
        (0.1, "0.1"),
        (1e-7, "0.0000001"),
        (float("nan"), ""),
        (datetime(2024, 1, 2, 3, 4, 5, 600), "2024-01-02 03:04:05"),
        (timedelta(hours=26, minutes=1), "26:01:00"),
        (None, ""),
    ],
)
def test_cell_text_is_what_a_csv_export_holds(value: Any, text: str) -> None:
    """Numbers exact (never 1.23E+11), integral floats as ints, times without microseconds."""
    assert cell_text(value) == text


def test_a_cut_workbook_says_it_cannot_be_read(tmp_path: Path) -> None:
    """A truncated .xlsx is an Excel error with the fix, never NUL bytes or an unknown format."""
    whole = workbook(tmp_path / "w.xlsx", {"S": REPORT}).read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ManifestError) as caught:
        records(cut)
    message = str(caught.value)
    assert "cut.xlsx: Excel: cannot read the workbook (" in message
    assert "save it again as .xlsx" in message
    assert "NUL" not in message


def test_a_text_format_forced_on_a_workbook_is_refused(tmp_path: Path) -> None:
    """--format csv on an .xlsx names what the file is instead of reading NUL bytes."""
    path = workbook(tmp_path / "w.xlsx", {"S": REPORT})
    with pytest.raises(ManifestError, match="--format csv, but the file is a zip"):
        open_manifest(str(path), "csv")


def test_a_workbook_without_its_extension_is_found_by_content(tmp_path: Path) -> None:
    """An .xlsx saved under another name (or piped) is read as a workbook by its bytes."""
    data = workbook(tmp_path / "w.xlsx", {"S": REPORT}).read_bytes()
    other = tmp_path / "download.bin"
    other.write_bytes(data)
    assert [r.fields["Subject"] for r in records(other)] == ["Renewal", "Intro"]


def test_a_sheet_with_only_titles_has_no_header(tmp_path: Path) -> None:
    """An empty sheet is one error saying the first row names the columns."""
    path = workbook(tmp_path / "e.xlsx", {"Empty": []})
    with pytest.raises(ManifestError, match="has no header row"):
        records(path)


def test_calamine_reads_what_the_streaming_reader_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workbook the streaming reader refuses (as .xls and .ods are) reads alike by calamine."""
    path = workbook(tmp_path / "report.xlsx", {"Report": REPORT})
    streamed = records(path)

    def refuse(name: str, archive: object) -> None:
        raise ValueError("not understood")

    monkeypatch.setattr(excel, "XlsxBook", refuse)
    assert records(path) == streamed
