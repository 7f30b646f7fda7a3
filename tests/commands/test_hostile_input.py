"""The hostile input corpus (tests/data/hostile/): clear lines, right codes, valid rows kept.

For each file, ``validate`` and ``run`` give a one-line message or a problem naming the
line, the documented exit code, no traceback, and ``run`` still imports every valid
row. The big inputs (a 10 MB field, a 40 MB record past a cap lowered to 1 MB, a CJK
transcript over the byte limit) are made in tmp_path rather than kept in the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ae_import.reading import manifest
from tests.helpers import DATA
from tests.helpers.cli import HEADER, invoke

HOSTILE = DATA / "hostile"
URL = "https://cdn.example.com/a.mp3"


def row(eid: str, title: str | None = None) -> str:
    """Return one valid CSV row."""
    return f"CALL,{title or 'Call ' + eid},crm,{eid},https://cdn.example.com/{eid}.mp3\n"


# file, validate exit, text expected in validate's output, external_ids run imports, run exit
CASES: list[tuple[str, int, str, list[str], int]] = [
    ("empty.csv", 2, "the file is empty; a CSV manifest starts with a header row", [], 2),
    ("header-only.csv", 0, "0 rows: 0 valid, 0 invalid, 0 problems", [], 0),
    ("no-header.csv", 2, "no column for required fields 'type', 'title', 'source_system', ", [], 2),
    ("wrong-delimiter.csv", 2, "the header reads as one column: separate fields with", [], 2),
    ("unterminated-quote.csv", 1, "   3 │             │ (row) │ malformed CSV:", ["uq-1"], 1),
    (
        "nul-bytes.csv",
        1,
        "   3 │ nul-2       │ (row) │ column 'title' holds NUL bytes; remove them",
        ["nul-1", "nul-3"],
        1,
    ),
    # Bytes that are not UTF-8 after ASCII ones: Windows-1252, as Excel saves CSV.
    ("latin1.csv", 0, "3 rows: 3 valid, 0 invalid, 0 problems", ["l1-1", "l1-2", "l1-3"], 0),
    ("utf16.csv", 0, "1 row: 1 valid, 0 invalid, 0 problems", ["u16-1"], 0),
    ("binary.csv", 2, "line 1 holds NUL bytes: this is not a text manifest", [], 2),
    # numbers where text belongs are read as their decimal text: line 6 is valid
    ("broken.jsonl", 1, "   2 │             │ (row) │ not valid JSON", ["456", "j-1", "j-2"], 1),
    (
        "long-external-id.csv",
        1,
        "... (10,000 chars) │ external_id │ 10,000 characters; the limit",
        ["li-1", "li-3"],
        1,
    ),
    (
        "emoji-rtl.csv",
        0,
        "4 rows: 4 valid, 0 invalid, 0 problems",
        ["er-1", "er-2", "er-3", "er-4\u202egnp.exe"],
        0,
    ),
]


def no_crash(result: Any) -> None:
    """Assert the command ended on a documented path: no traceback, not exit 70."""
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2)
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(("name", "code", "text", "imported", "run_code"), CASES)
def test_hostile_file(
    runner: CliRunner,
    sandbox: Any,
    cwd: Path,
    name: str,
    code: int,
    text: str,
    imported: list[str],
    run_code: int,
) -> None:
    """Each hostile file: the documented exit code, a clear line, the valid rows imported."""
    path = str(HOSTILE / name)
    checked = invoke(runner, ["validate", path], token=None)
    no_crash(checked)
    assert checked.exit_code == code
    assert text in checked.output
    if code == 2:
        assert checked.stderr.startswith(f"ae-import: error: {path}")
        assert checked.stderr.count("\n") == 1
    result = invoke(runner, ["run", path, "--base-url", sandbox.base_url, "--json"])
    no_crash(result)
    assert result.exit_code == run_code
    assert sorted(sandbox.store.external_ids()) == sorted(imported)
    if run_code != 2:
        assert json.loads(result.stdout)["created"] == len(imported)


def test_bidi_override_is_escaped_in_output(runner: CliRunner, cwd: Path) -> None:
    """A right-to-left override in an external_id is shown escaped, so lines read as they are."""
    result = invoke(runner, ["run", str(HOSTILE / "emoji-rtl.csv"), "--dry-run"], token=None)
    assert "would send    line 5       er-4\\u202egnp.exe" in result.stdout
    assert "\u202e" not in result.output


def test_10_mb_single_field(runner: CliRunner, sandbox: Any, cwd: Path) -> None:
    """A 10 MB title (under the record cap) is one too_long problem; the rows around it import."""
    path = cwd / "huge.csv"
    with path.open("w") as out:
        out.write(HEADER + row("big-1"))
        out.write(f"CALL,{'t' * 10_000_000},crm,big-2,https://cdn.example.com/b.mp3\n")
        out.write(row("big-3"))
    checked = invoke(runner, ["validate", str(path), "--json"], token=None)
    no_crash(checked)
    report = json.loads(checked.stdout)
    assert checked.exit_code == 1
    [problem] = report["problems"]
    assert (problem["line"], problem["field"], problem["code"]) == (3, "title", "too_long")
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "-q"])
    assert result.exit_code == 1
    assert sorted(sandbox.store.external_ids()) == ["big-1", "big-3"]


@pytest.mark.parametrize("name", ["giant.csv", "giant.jsonl"])
def test_a_record_over_the_cap_is_one_problem_and_the_rest_import(
    runner: CliRunner, sandbox: Any, cwd: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A 40 MB single-line record (cap lowered to 1 MB): one problem on its line, rows imported."""
    monkeypatch.setattr(manifest, "MAX_RECORD_BYTES", 1 << 20)
    path = cwd / name
    jsonl = name.endswith(".jsonl")
    with path.open("w") as out:
        if jsonl:
            base = {"type": "CALL", "title": "t", "source_system": "crm", "media_url": URL}
            out.write(json.dumps({**base, "external_id": "g-1"}) + "\n")
            out.write('{"title": "' + "x" * (40 << 20) + '"}\n')
            out.write(json.dumps({**base, "external_id": "g-3"}) + "\n")
        else:
            out.write(HEADER + row("g-1") + "CALL,")
            for _ in range(40):
                out.write("x" * (1 << 20))
            out.write(f",crm,g-2,{URL}\n" + row("g-3"))
    checked = invoke(runner, ["validate", str(path), "--json"], token=None)
    no_crash(checked)
    assert checked.exit_code == 1
    report = json.loads(checked.stdout)
    assert (report["rows"], report["valid"], report["invalid"]) == (3, 2, 1)
    line = 2 if jsonl else 3
    noun = "line" if jsonl else "record"
    assert report["problems"] == [
        {
            "line": line,
            "row": line,
            "external_id": None,
            "field": None,
            "column": None,
            "code": "record_too_large",
            "message": f"{noun} over 1 MB, the most one record may hold; it was skipped: "
            "shorten its fields",
        }
    ]
    human = invoke(runner, ["validate", str(path)], token=None)
    assert f"   {line} │             │ (row) │ {noun} over 1 MB, the most one" in human.stdout
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "--json"])
    no_crash(result)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["created"] == 2
    assert sorted(sandbox.store.external_ids()) == ["g-1", "g-3"]


def test_cjk_transcript_over_bytes_under_characters(
    runner: CliRunner, sandbox: Any, cwd: Path
) -> None:
    """A CJK transcript of 320,000 characters (960,000 bytes) is refused for its bytes."""
    base = {
        "type": "CALL",
        "title": "t",
        "source_system": "s",
        "media_url": "https://x.example/a.mp3",
    }
    path = cwd / "cjk.jsonl"
    lines = [
        {**base, "external_id": "cjk-1"},
        {**base, "external_id": "cjk-2", "transcript_text": "会" * 320_000},
        {**base, "external_id": "cjk-3", "transcript_text": "会" * 300_000},
    ]
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    checked = invoke(runner, ["validate", str(path), "--json"], token=None)
    [problem] = json.loads(checked.stdout)["problems"]
    assert (problem["line"], problem["field"], problem["code"]) == (
        2,
        "transcript_text",
        "too_many_bytes",
    )
    assert "960,000" in problem["message"]
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "-q"])
    assert result.exit_code == 1
    assert sorted(sandbox.store.external_ids()) == ["cjk-1", "cjk-3"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "python-tag.yaml",
            "python-tag.yaml:2: YAML tags such as !!python are not allowed; write plain values",
        ),
        (
            "unknown-keys.yaml",
            "unknown-keys.yaml: unknown key 'defualts' (did you mean 'defaults'?); known keys: ",
        ),
    ],
)
def test_hostile_config_is_refused(
    runner: CliRunner, sandbox: Any, cwd: Path, config: str, message: str
) -> None:
    """A config with !!python tags or unknown keys: exit 2, one line, nothing sent."""
    path = str(HOSTILE / "emoji-rtl.csv")
    for args in (["validate", path], ["run", path, "--base-url", sandbox.base_url]):
        result = invoke(runner, [*args, "-c", str(HOSTILE / config)])
        no_crash(result)
        assert result.exit_code == 2
        assert result.stderr.startswith("ae-import: error: ")
        assert message in result.stderr
        assert result.stderr.count("\n") == 1
    assert sandbox.store.count() == 0
    assert not Path("pwned").exists()
