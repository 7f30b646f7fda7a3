"""The layout of a delimited file, found one way for init and validate: title lines, delimiter."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.reading.layout import find_layout
from tests.helpers import Writer

REPORT = "Report: calls, Q3\nFiltered by: owner equals me\n\nId;Subject;Date;Owner\n" + "".join(
    f"{n};Call {n};2025-01-0{n};Ava\n" for n in range(1, 6)
)


@pytest.mark.parametrize(
    ("text", "delimiter", "skip"),
    [
        ("a,b\n1,2\n", ",", 0),
        ("a,b\n0,||\n", ",", 0),  # a pipe in a cell does not make a pipe-separated file
        ("Calls report\nCall ID,Subject\n1,Hi\n", ",", 1),
        (REPORT, ";", 3),
        ("a\tb\tc\n1\t2\t3\n", "\t", 0),
        ('a,b,c\n"x;y;z",2,3\n4,5,6\n', ",", 0),
        ("one column\nx\ny\n", ",", 0),
    ],
)
def test_title_lines_and_delimiter_are_found(text: str, delimiter: str, skip: int) -> None:
    """The delimiter splits the header as the rows; lines above with few fields are titles."""
    layout = find_layout(text.splitlines(keepends=True))
    assert (layout.delimiter, layout.skip_lines) == (delimiter, skip)


def test_the_mapping_decides_over_what_is_found() -> None:
    """manifest: delimiter and skip_lines win; a sep= line names the delimiter."""
    lines = REPORT.splitlines(keepends=True)
    assert find_layout(lines, delimiter=",", skip_lines=0).skip_lines == 0
    assert find_layout(lines, delimiter=";", sep_line=True).delimiter_reason == (
        "semicolon: Excel's sep= line"
    )


def test_validate_reads_a_report_with_title_lines_without_a_config(
    runner: CliRunner, write: Writer
) -> None:
    """A report's title lines are passed over by validate too; its rows keep their line numbers."""
    rows = "".join(f"CALL;Call {n};crm;id{n};https://cdn.example.com/{n}.mp3\n" for n in (1, 2))
    text = (
        "Calls, Q3\n\ntype;title;source_system;external_id;media_url\n"
        + rows
        + "WEBINAR;x;crm;id3;\n"
    )
    result = runner.invoke(app, ["validate", str(write("r.csv", text)), "--json"])
    report = json.loads(result.stdout)
    assert (report["rows"], report["valid"]) == (3, 2)
    assert {p["line"] for p in report["problems"]} == {6}
