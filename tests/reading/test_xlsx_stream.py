"""Tests of the streaming .xlsx reader on workbooks written as Excel writes them (raw XML)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ae_import.errors import ManifestError
from ae_import.reading import open_manifest, xlsx
from ae_import.records import Row

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STYLES = (
    f'<styleSheet {NS}><numFmts count="1">'
    '<numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd&quot; at &quot;hh:mm"/></numFmts>'
    '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="22"/><xf numFmtId="164"/>'
    '<xf numFmtId="46"/><xf numFmtId="2"/></cellXfs></styleSheet>'
)


def book(path: Path, rows: str, strings: list[str], *, date1904: bool = False) -> Path:
    """Write a one-sheet workbook whose sheetData is ``rows`` (raw XML) and shared ``strings``."""
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    pr = '<workbookPr date1904="1"/>' if date1904 else ""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(
            "xl/workbook.xml",
            f'<workbook {NS} xmlns:r="{REL}">{pr}<sheets>'
            '<sheet name="Hidden" sheetId="2" state="hidden" r:id="rId9"/>'
            '<sheet name="Calls" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        out.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId9" Type="{REL}/worksheet" Target="/xl/worksheets/s2.xml"/>'
            f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/></Relationships>',
        )
        out.writestr("xl/styles.xml", STYLES)
        out.writestr("xl/sharedStrings.xml", f"<sst {NS}>{sst}</sst>")
        out.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet {NS}><cols><col min="1" max="3"/></cols><sheetData>{rows}</sheetData>'
            '<conditionalFormatting sqref="A1"><cfRule type="x"/></conditionalFormatting>'
            "</worksheet>",
        )
        out.writestr("xl/worksheets/s2.xml", f"<worksheet {NS}><sheetData/></worksheet>")
    return path


STRINGS = ["Report", "id", "title", "start", "took", "amount", "Renewal &amp; more", "Intro"]
ROWS = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    '<row r="3" spans="1:5"><c r="A3" t="s"><v>1</v></c><c r="B3" t="s"><v>2</v></c>'
    '<c r="C3" t="s"><v>3</v></c><c r="D3" t="s"><v>4</v></c><c r="E3" t="s"><v>5</v></c></row>'
    '<row r="4"><c r="A4"><v>123456789012</v></c><c r="B4" t="s"><v>6</v></c>'
    '<c r="C4" s="1"><v>45356.604166666664</v></c><c r="D4" s="3"><v>1.0416666666666667</v></c>'
    '<c r="E4" s="4"><v>1.5</v></c></row>'
    '<row r="5"/>'
    '<row r="6"><c r="A6" t="str"><f>A4+1</f><v>123456789013</v></c><c r="B6" t="s"><v>7</v></c>'
    '<c r="C6" s="2"><v>45357</v></c><c r="E6"><v>1.23E+11</v></c></row>'
    '<x:row r="7" xmlns:x="y"><x:c r="A7" t="inlineStr"><x:is><x:t>x-7</x:t></x:is></x:c>'
    '<x:c r="C7" t="b"><x:v>1</x:v></x:c></x:row>'
)


def records(path: Path) -> list[Row]:
    """Read every record of the workbook at ``path``."""
    with open_manifest(str(path)) as manifest:
        assert manifest.format == "excel"
        rows = list(manifest)
        assert manifest.sheet == "Calls"
        return rows


@pytest.mark.parametrize("spill", [False, True])
def test_excel_written_cells_are_read_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spill: bool
) -> None:
    """Shared strings (in memory or spilled), gaps, dates, durations, formulas, prefixes."""
    if spill:
        monkeypatch.setattr(xlsx, "SPILL_BYTES", 0)
    rows = records(book(tmp_path / "calls.xlsx", ROWS, STRINGS))
    assert [r.line for r in rows] == [4, 6, 7]
    assert rows[0].fields == {
        "id": "123456789012",
        "title": "Renewal & more",
        "start": "2024-03-05 14:30:00",
        "took": "25:00:00",
        "amount": "1.5",
    }
    assert rows[1].fields == {
        "id": "123456789013",
        "title": "Intro",
        "start": "2024-03-06",
        "took": "",
        "amount": "123000000000",
    }
    assert rows[2].fields["id"] == "x-7"
    assert rows[2].fields["start"] == "true"


def test_the_1904_date_system(tmp_path: Path) -> None:
    """A workbook saved with the 1904 date system (old Mac Excel) counts days from 1904."""
    body = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" s="2"><v>0</v></c></row>'
    )
    (row,) = records(book(tmp_path / "mac.xlsx", body, ["when"], date1904=True))
    assert row.fields == {"when": "1904-01-01"}


def test_a_row_that_never_ends_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row whose XML runs on past the cap is one Excel error, not a memory blow-up."""
    monkeypatch.setattr(xlsx, "MAX_ROW_CHARS", 1000)
    monkeypatch.setattr(xlsx, "_CHUNK", 100)
    body = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2">' + "<c/>" * 2000
    with pytest.raises(ManifestError, match=r"calls.xlsx: Excel: a row runs past"):
        records(book(tmp_path / "calls.xlsx", body, ["id"]))


def test_rows_cut_by_the_reading_blocks_are_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of 50 characters cut rows anywhere; every row still comes out whole."""
    monkeypatch.setattr(xlsx, "_CHUNK", 50)
    body = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>' + "".join(
        f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}" t="s"><v>2</v></c></row>'
        for i in range(2, 300)
    )
    rows = records(book(tmp_path / "calls.xlsx", body, ["id", "title", "T"]))
    assert [r.fields for r in rows] == [{"id": str(i), "title": "T"} for i in range(2, 300)]
