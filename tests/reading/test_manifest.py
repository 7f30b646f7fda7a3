"""Tests of the CSV, TSV and JSONL readers: formats, line numbers, broken records, streaming."""

from __future__ import annotations

import codecs
import gzip
import io
from pathlib import Path

import pytest

from ae_import.errors import ManifestError
from ae_import.mapping import parse_mapping
from ae_import.mapping.mapper import Mapper
from ae_import.mapping.rowsource import check_rows
from ae_import.reading import (
    Manifest,
    ReadingConfig,
    detect_format,
    manifest_stem,
    open_manifest,
)
from ae_import.records import Row
from tests.helpers import Writer


def records(path: Path, fmt: str | None = None) -> list[Row]:
    """Read every record of the manifest at ``path``."""
    with open_manifest(str(path), fmt) as manifest:
        return list(manifest)


@pytest.mark.parametrize(
    ("name", "forced", "expected"),
    [
        ("a.csv", None, "csv"),
        ("A.CSV", None, "csv"),
        ("a.tsv", None, "tsv"),
        ("a.jsonl", None, "jsonl"),
        ("a.ndjson", None, "jsonl"),
        ("a.csv.gz", None, "csv"),
        ("a.txt", "csv", "csv"),
        ("a.csv", "JSONL", "jsonl"),
        ("a.dat", "ndjson", "jsonl"),
    ],
)
def test_detect_format(name: str, forced: str | None, expected: str) -> None:
    """The format comes from --format when given, else from the extension."""
    assert detect_format(name, forced) == expected


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("calls.csv", "calls"),
        ("exports/CALLS.CSV.GZ", "CALLS"),
        ("Call Report.xlsx", "Call Report"),
        ("a.pq", "a"),
        ("bundle.jsonl.zip", "bundle"),
        ("report.2024.tsv", "report.2024"),
        (".csv", ""),
        ("noext", "noext"),
    ],
)
def test_manifest_stem_drops_every_format_and_packing_suffix(name: str, stem: str) -> None:
    """The name init gives a mapping: the manifest's, without what the reader knows."""
    assert manifest_stem(name) == stem


@pytest.mark.parametrize(("name", "forced"), [("a.dat", None), ("a.csv", "xml"), ("noext", None)])
def test_detect_format_refuses_unknown(name: str, forced: str | None) -> None:
    """An unknown extension or --format is a one-line error that says what to pass."""
    with pytest.raises(ManifestError) as info:
        detect_format(name, forced)
    assert "--format" in info.value.message
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    "raw",
    [
        b"a,b\n1,2\n",
        b"a,b\r\n1,2\r\n",
        b"\xef\xbb\xbfa,b\r\n1,2\r\n",
        b"\xef\xbb\xbfa,b\n1,2",
        b"a;b\n1;2\n",
        b"a\tb\n1\t2\n",
        b"a|b\n1|2\n",
        b" a , b \n1,2\n",
    ],
)
def test_csv_variants_read_alike(write: Writer, raw: bytes) -> None:
    """BOM or not, CRLF or LF, and `,` `;` tab `|` delimiters all read as the same record."""
    path = write("m.csv", raw)
    with open_manifest(str(path)) as manifest:
        assert manifest.columns == ("a", "b")
        rows = list(manifest)
    assert rows == [Row(2, {"a": "1", "b": "2"})]


def test_tsv_extension_forces_tab(write: Writer) -> None:
    """A .tsv file splits on tabs even when its header holds commas."""
    path = write("m.tsv", "a,x\tb\n1,2\t3\n")
    assert records(path) == [Row(2, {"a,x": "1,2", "b": "3"})]


def test_quoted_fields_and_physical_line_numbers(write: Writer) -> None:
    """Quoted commas, doubled quotes and newlines stay in one field; lines count physically."""
    path = write(
        "m.csv",
        'id,text\r\n1,"a, ""quoted""\r\nsecond line\r\nthird"\r\n\r\n2,plain\r\n3,"x\ny"\n4,z\n',
    )
    rows = records(path)
    assert [r.line for r in rows] == [2, 6, 7, 9]
    assert rows[0].fields["text"] == 'a, "quoted"\r\nsecond line\r\nthird'
    assert rows[2].fields["text"] == "x\ny"


def test_blank_and_all_empty_lines_are_skipped(write: Writer) -> None:
    """Blank lines and rows of empty cells are not records."""
    path = write("m.csv", "a,b\n\n,\n1,2\n  \n")
    assert records(path) == [Row(4, {"a": "1", "b": "2"})]


def test_row_shape_problems(write: Writer) -> None:
    """Too many or too few fields is a row problem; trailing empty cells are tolerated."""
    path = write("m.csv", "a,b\n1,2,3\n1\n1,2,,\n5,6\n")
    rows = records(path)
    assert [(r.line, r.problems[0].code if r.problems else None) for r in rows] == [
        (2, "bad_row_shape"),
        (3, "bad_row_shape"),
        (4, None),
        (5, None),
    ]
    assert len(rows[0].problems) == 1
    assert rows[0].problems[0].message.startswith("3 fields, but the header has 2")


def test_malformed_quote_is_a_row_problem_and_reading_goes_on(write: Writer) -> None:
    """A stray quote breaks only its own record."""
    path = write("m.csv", 'a,b\n1,"x"y\n2,ok\n')
    rows = records(path)
    assert rows[0].line == 2
    assert len(rows[0].problems) == 1
    assert rows[0].problems[0].code == "bad_csv"
    assert rows[1] == Row(3, {"a": "2", "b": "ok"})


def test_unterminated_quote_at_end_is_reported(write: Writer) -> None:
    """An unterminated quote that runs to the end of the file is reported on its first line."""
    path = write("m.csv", 'a,b\n1,ok\n2,"never closed\n3,lost\n')
    rows = records(path)
    assert rows[0] == Row(2, {"a": "1", "b": "ok"})
    assert rows[1].line == 3
    assert len(rows[1].problems) == 1
    assert rows[1].problems[0].code == "bad_csv"


def test_a_line_that_is_not_utf8_spoils_only_its_record(write: Writer) -> None:
    """After UTF-8 text, a Latin-1 byte makes that record a problem; the others are read."""
    path = write("m.csv", "a,b\n0,café\n".encode() + b"1,caf\xe9\n2,ok\n")
    rows = records(path)
    assert rows[0].fields == {"a": "0", "b": "café"}
    assert len(rows[1].problems) == 1
    assert rows[1].problems[0].code == "bad_encoding"
    assert rows[1].problems[0].message == (
        "column 'b' holds byte 0xE9, which is not UTF-8; if Excel saved the file on Windows, "
        "set manifest: encoding: cp1252 in the config; else re-save it as UTF-8"
    )
    assert rows[1].fields == {"a": "1", "b": "caf\udce9"}  # its id is still known
    assert rows[2] == Row(4, {"a": "2", "b": "ok"})


@pytest.mark.parametrize(
    ("raw", "encoding", "title", "note"),
    [
        (
            b"a,b\n1,caf\xe9\n",
            "auto",
            "café",
            "read as Windows-1252: byte 0xE9 on line 2 is not UTF-8",
        ),
        ("a,b\n1,café\n".encode(), "auto", "café", None),
        (
            "a,b\n1,café\n".encode("utf-16"),
            "auto",
            "café",
            "read as utf-16: UTF-16 (its byte-order mark)",
        ),
        (
            "a,b\n1,café\n".encode("utf-16-le"),
            "auto",
            "café",
            "read as utf-16-le: UTF-16 without a byte-order mark (NUL bytes)",
        ),
        ("\ufeffa,b\n1,café\n".encode(), "auto", "café", None),
        (b"a,b\n1,caf\xe9\n", "latin-1", "café", None),
        ("a,b\n1,カフェ\n".encode("shift_jis"), "shift_jis", "カフェ", None),
    ],
)
def test_encodings_auto_and_named(
    write: Writer, raw: bytes, encoding: str, title: str, note: str | None
) -> None:
    """Auto reads a BOM, UTF-16, UTF-8 or else Windows-1252 (and says so); a codec is obeyed."""
    path = write("m.csv", raw)
    with open_manifest(str(path), reading=ReadingConfig(encoding=encoding)) as manifest:
        rows = list(manifest)
        assert manifest.encoding_note == note
    assert rows == [Row(2, {"a": "1", "b": title})]


def test_explicit_utf8_refuses_what_auto_would_guess(write: Writer) -> None:
    """With encoding: utf-8, a Latin-1 byte is a problem and a UTF-16 file an error."""
    path = write("m.csv", b"a,b\n1,caf\xe9\n")
    utf8 = ReadingConfig(encoding="utf-8")
    with open_manifest(str(path), reading=utf8) as manifest:
        assert [p.code for row in manifest for p in row.problems] == ["bad_encoding"]
    path = write("m.csv", "a,b\n".encode("utf-16"))
    with pytest.raises(ManifestError, match="the file is UTF-16, not UTF-8; set manifest"):
        open_manifest(str(path), reading=utf8)


@pytest.mark.parametrize(
    ("raw", "reading", "columns", "first_line"),
    [
        (b"sep=;\na;b\n1;2\n", ReadingConfig(), ("a", "b"), 3),
        (b"SEP=|\r\na|b\r\n1|2\r\n", ReadingConfig(), ("a", "b"), 3),
        (
            b"Report: calls\nExported 2025-11-05\na,b\n1,2\n",
            ReadingConfig(skip_lines=2),
            ("a", "b"),
            4,
        ),
        (b"a;b,c\n1;2,3\n", ReadingConfig(delimiter=","), ("a;b", "c"), 2),
    ],
)
def test_sep_line_skip_lines_and_delimiter(
    write: Writer, raw: bytes, reading: ReadingConfig, columns: tuple[str, ...], first_line: int
) -> None:
    """Excel's sep= line sets the delimiter; skip_lines drops title lines; delimiter is obeyed."""
    path = write("m.csv", raw)
    with open_manifest(str(path), reading=reading) as manifest:
        assert manifest.columns == columns
        rows = list(manifest)
    assert rows[0].line == first_line
    assert len(rows) == 1


def test_reading_options_come_from_the_mapping_through_the_row_source(write: Writer) -> None:
    """open_manifest without options waits: RowSource hands it the mapping's manifest: section."""
    path = write(
        "m.csv",
        b"Title\nIgnored\ntype|title|source_system|external_id|media_url\n"
        b"CALL|t|s|1|https://cdn.example.com/1.mp3\n",
    )
    config = parse_mapping("c.yaml", {"manifest": {"skip_lines": 2, "delimiter": "pipe"}})
    with open_manifest(str(path)) as manifest:
        rows = list(check_rows(manifest, Mapper(config)))
    assert [(row.line, row.valid) for row in rows] == [(4, True)]


def test_nul_bytes_on_a_line_are_a_row_problem(write: Writer) -> None:
    """NUL bytes inside a record make that record a problem."""
    path = write("m.csv", b"a,b\n1,x\x00y\n2,ok\n")
    rows = records(path)
    assert len(rows[0].problems) == 1
    assert "NUL" in rows[0].problems[0].message
    assert rows[1].fields == {"a": "2", "b": "ok"}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"sep=;\n", "empty"),
        (b"\x00\x01\x02binary\n", "NUL"),
        (b"caf\x81,b\n", "line 1 holds byte 0x81, which is not Windows-1252 (at column 4)"),
        (b"a,a\n1,2\n", "appears twice"),
    ],
)
def test_unreadable_csv_files_are_errors(write: Writer, raw: bytes, needle: str) -> None:
    """A file whose header cannot be read is a one-line ManifestError naming the file."""
    path = write("m.csv", raw)
    with pytest.raises(ManifestError) as info:
        records(path)
    assert needle in info.value.message
    assert str(path) in info.value.message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    """A missing path or a directory is a ManifestError that says so."""
    with pytest.raises(ManifestError, match="no such file"):
        open_manifest(str(tmp_path / "nope.csv"))
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(ManifestError, match="is a directory"):
        open_manifest(str(folder))


def test_jsonl_records_keep_physical_lines(write: Writer) -> None:
    """Blank lines are skipped and each object keeps the line it stands on."""
    path = write("m.jsonl", '{"a": 1}\n\n   \n{"a": 2}\r\n{"a": "x"}')
    assert records(path) == [Row(1, {"a": 1}), Row(4, {"a": 2}), Row(5, {"a": "x"})]


@pytest.mark.parametrize(
    ("line", "code", "needle"),
    [
        ('{"a": 1', "bad_json", "not valid JSON"),
        ("[1, 2]", "not_object", "got array"),
        ('"text"', "not_object", "got string"),
        ("null", "not_object", "got null"),
        ("42", "not_object", "got int"),
        ("{'single': 'quotes'}", "bad_json", "not valid JSON"),
    ],
)
def test_jsonl_broken_lines_are_row_problems(
    write: Writer, line: str, code: str, needle: str
) -> None:
    """A line that is not a JSON object is a problem on its line; the next line is read."""
    path = write("m.jsonl", f'{{"a": 0}}\n{line}\n{{"a": 3}}\n')
    rows = records(path)
    assert [r.line for r in rows] == [1, 2, 3]
    assert len(rows[1].problems) == 1
    assert rows[1].problems[0].code == code
    assert needle in rows[1].problems[0].message
    assert rows[2].fields == {"a": 3}


def test_jsonl_undecodable_line(write: Writer) -> None:
    """A JSONL line that is not UTF-8, after UTF-8 text, is a problem on that line."""
    path = write("m.jsonl", '{"a": "é"}\n'.encode() + b'{"a": "\xff"}\n{"a": 3}\n')
    rows = records(path)
    assert len(rows[1].problems) == 1
    assert "not UTF-8" in rows[1].problems[0].message
    assert rows[2].fields == {"a": 3}


def test_jsonl_nested_past_the_recursion_limit_is_a_row_problem(write: Writer) -> None:
    """A line of 100,000 '[' is a bad_json problem on its line, not a crash; reading goes on."""
    path = write("m.jsonl", '{"a": 1}\n' + "[" * 100_000 + '\n{"a": 3}\n')
    rows = records(path)
    assert [(row.line, [p.code for p in row.problems]) for row in rows] == [
        (1, []),
        (2, ["bad_json"]),
        (3, []),
    ]


def test_gzip_manifest(tmp_path: Path) -> None:
    """A .csv.gz manifest is read through gzip."""
    path = tmp_path / "m.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert records(path) == [Row(2, {"a": "1", "b": "2"})]


def test_reader_is_lazy(tmp_path: Path) -> None:
    """Taking the first record reads only the start of a large file."""
    path = tmp_path / "big.csv"
    line = b"x" * 100 + b",y\n"
    path.write_bytes(b"a,b\n" + line * 50_000)
    with open_manifest(str(path)) as manifest:
        first = next(iter(manifest))
        position, size = manifest.position()
    assert first.line == 2
    assert position < 100_000 < path.stat().st_size == size


def test_manifest_over_a_stream_leaves_it_open() -> None:
    """A manifest that does not own its stream (stdin) does not close it."""
    stream = io.BytesIO(b"a\n1\n")
    manifest = Manifest("<stdin>", "csv", stream, owned=False)
    assert list(manifest) == [Row(2, {"a": "1"})]
    manifest.close()
    assert not stream.closed


@pytest.mark.parametrize("cell", ["=x", "'=x", "''=x", "'hello", "+1 415 555 0100", "'+1", "@c"])
def test_formula_escape_round_trips(cell: str) -> None:
    """The export's formula escape and run's unescape give back every cell, even '=x."""
    from ae_import.reading.manifest import escape_formula, unescape_formula

    assert unescape_formula(escape_formula(cell)) == cell


def test_a_truncated_utf16_file_is_one_problem_and_the_rows_before_it_are_kept(
    write: Writer,
) -> None:
    """A UTF-16 export cut in the middle of its last character: one problem, the rest read."""
    text = "a,b\n" + "".join(f"{n},x{n}\n" for n in range(3000))
    path = write("m.csv", text.encode("utf-16")[:-1])
    with open_manifest(str(path)) as source:
        rows = list(source)
    assert len(rows) == 3000
    assert [r.fields for r in rows[:-1]] == [{"a": str(n), "b": f"x{n}"} for n in range(2999)]
    assert rows[-1].problems[0].code == "bad_encoding"
    assert "cut short" in rows[-1].problems[0].message


def test_utf8_lines_in_a_windows_1252_file_are_not_turned_into_mojibake(write: Writer) -> None:
    """First row cp1252, later rows UTF-8: each line read in its own encoding, said in the note."""
    first = "1,Café – ok\n".encode("cp1252")
    later = "2,Café – ok ✓\n".encode()
    path = write("m.csv", b"id,title\n" + first + later + first.replace(b"1,", b"3,"))
    with open_manifest(str(path)) as source:
        titles = [row.fields["title"] for row in source]
        note = source.encoding_note
    assert titles == ["Café – ok", "Café – ok ✓", "Café – ok"]
    assert note == (
        "read as Windows-1252: byte 0xE9 on line 2 is not UTF-8; "
        "1 line that are UTF-8 kept as UTF-8"
    )


def test_a_long_windows_1252_line_without_an_end_is_read_in_pieces(write: Writer) -> None:
    """A cp1252 file whose last line runs for megabytes without a line end is read whole."""
    path = write("m.csv", b"id,title\n1,caf\xe9\n2," + b"\xe9" * (3 << 20))
    with open_manifest(str(path)) as source:
        rows = list(source)
    assert rows[1].fields["title"] == "é" * (3 << 20)


def test_utf16_without_a_bom_and_a_non_latin_header_is_read(write: Writer) -> None:
    """UTF-16LE and BE without a BOM, Cyrillic or CJK headers (no NUL bytes): read as text."""
    text = "тип,名前\nCALL,Звонок 通話\n"
    for codec in ("utf-16-le", "utf-16-be"):
        with open_manifest(str(write("m.csv", text.encode(codec)))) as source:
            assert source.columns == ("тип", "名前")
            assert [row.fields for row in source] == [{"тип": "CALL", "名前": "Звонок 通話"}]


def test_a_cut_utf16_header_is_one_line_naming_the_column(write: Writer) -> None:
    """A UTF-16 file cut inside its header: exit-2 message naming the column (was a crash).

    Found by tests/reading/test_properties.py: the column search looked for escaped bytes
    of 0x80 and over only, and a cut UTF-16 character ends in a lower one.
    """
    path = write("m.csv", codecs.BOM_UTF16_LE + "a,b".encode("utf-16-le") + b"\n")
    with pytest.raises(ManifestError, match=r"line 1 holds byte 0x0A, which is not utf-16"):
        assert open_manifest(str(path)).columns is None
