"""Property tests of the readers: any bytes are rows or row problems, never a crash.

Random bytes, every encoding the reader knows (with and without byte-order marks),
quotes and every kind of line break: opening may refuse a file that cannot be a
manifest (``ManifestError``, one line), and everything after is rows, each with its
fields or its problems.
"""

from __future__ import annotations

import codecs
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ae_import.errors import ManifestError
from ae_import.reading import open_manifest, read_sample

PIECES = st.sampled_from(
    [
        '"',
        ",",
        ";",
        "\t",
        "|",
        "\n",
        "\r\n",
        "\r",
        "\x85",
        "\u2028",
        "\x00",
        "{",
        "}",
        "[",
        "]",
        ":",
        "é",
        "–",
        "✓",
        "\ud7ff",
        "a",
        "id",
        "sep=;",
        "\ufeff",
        " ",
        "'=",
        "\\u0000",
    ]
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=60).map("".join)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le", "utf-16-be"])
BOMS = st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])


def _read_all(data: bytes, name: str) -> None:
    """Open and read every row of ``data`` named ``name``; only ManifestError may end it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            with open_manifest(str(path), max_record=4096) as source:
                for row in source:
                    assert row.problems or isinstance(row.fields, dict)
                    assert all(p.code and p.message for p in row.problems)
        except ManifestError as exc:
            assert "\n" not in exc.message
        try:
            read_sample(str(path))
        except ManifestError as exc:
            assert "\n" not in exc.message


@settings(max_examples=250)
@given(TEXT, ENCODINGS, st.sampled_from(["m.csv", "m.tsv", "m.jsonl", "m.txt"]))
def test_any_text_in_any_encoding_reads_as_rows_or_one_line(
    text: str, encoding: str, name: str
) -> None:
    """Text with quotes, breaks, NULs, BOMs, in UTF-8/16 or cp1252: rows, problems, or one line."""
    _read_all(text.encode(encoding, "ignore"), name)


@settings(max_examples=250)
@given(BOMS, st.binary(max_size=300), st.integers(min_value=0, max_value=3))
def test_any_bytes_read_as_rows_or_one_line(bom: bytes, data: bytes, cut: int) -> None:
    """Random bytes after any BOM, cut anywhere: rows, problems, or one line."""
    blob = bom + data
    _read_all(blob[: len(blob) - cut] if cut else blob, "m.csv")
    _read_all(blob, "m.jsonl")
