"""Records as the readers bound and number them: the size cap of one record, and spreadsheet rows.

A record over the cap (``manifest.MAX_RECORD_BYTES``, 16 MB of UTF-8; lowered here to
1 MB so the inputs stay small) is one ``record_too_large`` problem on its first line;
the reader skips to its end without holding it and goes on with the next record. A
record's ``sheet_row`` is its row as a spreadsheet shows it (the header is row 1),
kept when it differs from the physical line where the record starts.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pytest

from ae_import.errors import ManifestError
from ae_import.reading import MAX_RECORD_BYTES, open_manifest
from ae_import.records import Row
from tests.helpers import Writer

CAP = 1 << 20  # 1 MB: the cap these tests read with
BIG = 40 << 20  # 40 MB: a record far past it


def records(path: Path, cap: int = CAP) -> list[Row]:
    """Read every record of the manifest at ``path`` with a record cap of ``cap``."""
    with open_manifest(str(path), max_record=cap) as manifest:
        return list(manifest)


def summary(rows: list[Row]) -> list[tuple[int, int | None, str | None]]:
    """Return (line, sheet row, first problem code) for each record."""
    return [(r.line, r.sheet_row, r.problems[0].code if r.problems else None) for r in rows]


def write_big(path: Path, head: str, middle: bytes, tail: str, size: int = BIG) -> Path:
    """Write ``head``, then ``middle`` repeated to about ``size`` bytes, then ``tail``."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as out:
        out.write(head.encode())
        chunk = middle * (max(1, (1 << 20) // len(middle)))
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(tail.encode())
    return path


def test_the_documented_cap_is_16_mb() -> None:
    """The default cap is 16 MB of text: far above the largest valid record (under 1 MB)."""
    assert MAX_RECORD_BYTES == 16 * 1024 * 1024


@pytest.mark.parametrize("name", ["m.csv", "m.tsv", "m.csv.gz"])
def test_a_40_mb_single_line_is_one_problem_and_memory_stays_low(tmp_path: Path, name: str) -> None:
    """A 40 MB line between two rows: one problem on its line, both rows read, little memory."""
    head, tail = "a,b\n1,ok\n2,", "\n3,ok\n"
    if name.endswith(".tsv"):
        head, tail = head.replace(",", "\t"), tail.replace(",", "\t")
    path = write_big(tmp_path / name, head, b"x", tail)
    tracemalloc.start()
    try:
        rows = records(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary(rows) == [(2, None, None), (3, None, "record_too_large"), (4, None, None)]
    assert rows[2].fields == {"a": "3", "b": "ok"}
    [problem] = rows[1].problems
    assert problem.field == ""
    assert problem.message == (
        "record over 1 MB, the most one record may hold; it was skipped: shorten its fields"
    )
    assert '"' not in problem.message
    assert peak < 12 * CAP


def test_a_huge_last_line_without_a_newline(tmp_path: Path) -> None:
    """A file that ends in a 40 MB line with no newline at all: that line is the problem."""
    path = write_big(tmp_path / "m.csv", "a,b\n1,ok\n2,", b"y", "")
    assert summary(records(path)) == [(2, None, None), (3, None, "record_too_large")]


def test_a_quote_that_never_closes_runs_to_the_end(tmp_path: Path) -> None:
    """An unclosed quote swallows the rest of the file: one problem that says so, from its line."""
    count = 3 * CAP // 20
    path = tmp_path / "m.csv"
    path.write_text('a,b\n1,ok\n2,"opens\n' + "3,still inside it\n" * count + "4,lost\n")
    rows = records(path)
    assert summary(rows) == [(2, None, None), (3, None, "record_too_large")]
    assert rows[1].problems[0].message == (
        "record over 1 MB: a quoted value that opens in it never closes, so it runs to the "
        f"end of the file (line {count + 4}); close the quote, and double any quote inside "
        'a value ("")'
    )


def test_a_long_quoted_value_that_closes_resumes_on_the_next_record(tmp_path: Path) -> None:
    """A quoted multi-line value past the cap is skipped to its closing quote; reading resumes."""
    count = 2 * CAP // 30
    path = tmp_path / "m.csv"
    inside = 'a line with ""quotes"" in it\n' * count
    path.write_text(f'a,b\n1,ok\n2,"{inside}end"\n\n5,ok\n')
    rows = records(path)
    end = 3 + count  # the line that closes the quote
    assert summary(rows) == [(2, None, None), (3, None, "record_too_large"), (end + 2, 5, None)]
    assert rows[1].problems[0].message == (
        f"record over 1 MB (lines 3 to {end}), the most one record may hold; it was "
        "skipped: shorten its fields"
    )
    assert rows[2].fields == {"a": "5", "b": "ok"}


def test_many_short_lines_in_one_record_are_capped_too(tmp_path: Path) -> None:
    """The cap is on the record, not the line: 200,000 short lines inside one quote count."""
    inside = "".join(f"turn {n}\n" for n in range(200_000))
    path = tmp_path / "m.csv"
    path.write_text(f'a,b\n1,"{inside}"\n2,ok\n')
    rows = records(path)
    assert summary(rows) == [(2, None, "record_too_large"), (200_003, 3, None)]


def test_a_record_just_under_the_cap_is_read_whole(tmp_path: Path) -> None:
    """A record one character under the cap is an ordinary record."""
    path = tmp_path / "m.csv"
    value = "z" * (CAP - len("1,\n"))
    path.write_text(f"a,b\n1,{value}\n2,ok\n")
    rows = records(path)
    assert summary(rows) == [(2, None, None), (3, None, None)]
    assert rows[0].fields["b"] == value


def test_a_900000_character_transcript_fits_the_default_cap(tmp_path: Path) -> None:
    """The longest transcript the API takes, escaped in JSONL (5.4 MB) or multi-line in CSV."""
    transcript = "会\n" * 450_000
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"transcript_text": transcript}) + "\n" + '{"a": 2}\n')
    rows = records(path, MAX_RECORD_BYTES)
    assert [(r.line, r.problems) for r in rows] == [(1, ()), (2, ())]
    assert rows[0].fields["transcript_text"] == transcript
    csv_path = tmp_path / "m.csv"
    csv_path.write_text(f'a,t\n1,"{transcript}"\n2,ok\n', encoding="utf-8")
    rows = records(csv_path, MAX_RECORD_BYTES)
    assert summary(rows) == [(2, None, None), (450_003, 3, None)]
    assert rows[0].fields["t"] == transcript


def test_jsonl_huge_lines_anywhere(tmp_path: Path) -> None:
    """A 40 MB JSONL line, first or in the middle, is one problem; the other lines are read."""
    path = write_big(tmp_path / "m.jsonl", '{"a": "', b"x", '"}\n{"a": 2}\n')
    assert summary(records(path)) == [(1, None, "record_too_large"), (2, None, None)]
    path = write_big(tmp_path / "n.jsonl", '{"a": 1}\n{"a": "', b"x", '"}\n\n{"a": 4}\n')
    rows = records(path)
    assert summary(rows) == [(1, None, None), (2, None, "record_too_large"), (4, None, None)]
    assert rows[1].problems[0].message == (
        "line over 1 MB, the most one record may hold; it was skipped: shorten its fields"
    )


def test_a_csv_header_over_the_cap_is_an_error(tmp_path: Path) -> None:
    """A first line over the cap cannot be a header: one line that says so."""
    path = write_big(tmp_path / "m.csv", "a", b",b", "\n1,2\n", size=2 * CAP)
    with pytest.raises(ManifestError) as info:
        records(path)
    assert info.value.message == (
        f"{path}: line 1 is over 1 MB: it cannot be a header row; a CSV manifest starts "
        "with a line of column names"
    )


def test_sheet_rows_differ_from_lines_after_multi_line_records(write: Writer) -> None:
    """Multi-line records put lines ahead of rows; a blank line is a row, as in a spreadsheet."""
    path = write("m.csv", 'a,b\n1,"two\nlines"\n2,ok\n\n3,"x"y\n4,"a\nb\nc"\n5,ok\n')
    rows = records(path)
    assert summary(rows) == [
        (2, None, None),
        (4, 3, None),
        (6, 5, "bad_csv"),
        (7, 6, None),
        (10, 7, None),
    ]
    assert rows[1].place == "line 4 (row 3)"
    assert rows[0].place == "line 2"


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl"])
def test_the_cap_counts_utf8_bytes_not_characters(tmp_path: Path, name: str) -> None:
    """400,000 CJK characters are 1.2 MB of UTF-8: over a 1 MB cap, so memory stays bounded."""
    path = tmp_path / name
    big = "会" * 400_000
    if name.endswith(".csv"):
        path.write_text(f"a,b\n1,{big}\n2,ok\n", encoding="utf-8")
        expected = [(2, None, "record_too_large"), (3, None, None)]
    else:
        path.write_text(f'{{"a": "{big}"}}\n{{"a": 2}}\n', encoding="utf-8")
        expected = [(1, None, "record_too_large"), (2, None, None)]
    assert summary(records(path)) == expected
    assert summary(records(path, 2 * CAP))[0][2] is None
