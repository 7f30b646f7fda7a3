"""The new manifest formats from the command line: the same reader and messages everywhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from ae_import.commands import app

API_ROWS = [
    {
        "type": "CALL",
        "title": f"Call {i}",
        "source_system": "dialer",
        "external_id": f"d:{i}",
        "media_url": f"https://cdn.example.com/{i}.mp3",
        "start_at": "2024-03-05T14:30:00Z",
    }
    for i in range(3)
]


def report(path: Path) -> Path:
    """Write a Salesforce-like report workbook: title rows, then the header and two calls."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Calls"
    for row in (
        ["Calls report"],
        [],
        ["Call ID", "Subject", "Start", "Recording URL"],
        [123456789012, "Renewal", datetime(2024, 3, 5, 14, 30), "https://cdn.example.com/a.mp3"],
        [123456789013, "Intro", datetime(2024, 3, 6, 9, 0), "https://cdn.example.com/b.mp3"],
    ):
        sheet.append(row)
    book.save(path)
    return path


MAPPING = """\
manifest:
  sheet: Calls
timezone: America/Chicago
defaults:
  type: CALL
  source_system: salesforce
columns:
  external_id: Call ID
  title: Subject
  start_at: Start
  media_url: Recording URL
"""


def test_validate_reads_a_report_workbook_with_its_sheet(runner: CliRunner, tmp_path: Path) -> None:
    """Validate maps a workbook's cells: ids whole, naive dates in the mapping's zone."""
    path = report(tmp_path / "report.xlsx")
    config = tmp_path / "m.yaml"
    config.write_text(MAPPING)
    result = runner.invoke(app, ["validate", str(path), "--config", str(config), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["valid"] == 2


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("calls.json", json.dumps(API_ROWS, indent=2)),
        ("wrapped.json", json.dumps({"paging": {"n": 3}, "calls": API_ROWS})),
    ],
)
def test_validate_reads_json_arrays(
    runner: CliRunner, tmp_path: Path, name: str, body: str
) -> None:
    """A JSON array, or one wrapped in an object, validates with no flag or config."""
    path = tmp_path / name
    path.write_text(body)
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["valid"] == 3


def test_init_writes_the_records_path_and_validates_it(runner: CliRunner, tmp_path: Path) -> None:
    """Init on a wrapped JSON array writes manifest: records:, so validate reads it the same way."""
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"users": [{"id": "u"}], "calls": API_ROWS}))
    out = tmp_path / "wrapped.yaml"
    result = runner.invoke(app, ["init", str(path), "-o", str(out)])
    assert result.exit_code in (0, 1), result.stderr
    text = out.read_text()
    assert "records: calls" in text
    check = runner.invoke(app, ["validate", str(path), "--config", str(out), "--json"])
    assert json.loads(check.stdout)["rows"] == 3


@pytest.mark.parametrize("command", ["validate", "init", "run"])
def test_a_cut_workbook_gives_one_message_from_every_command(
    runner: CliRunner, tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate, init and run say the same one line: Excel, cannot read, the fix; exit 2."""
    monkeypatch.chdir(tmp_path)
    whole = report(tmp_path / "w.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(whole[:3000])
    result = runner.invoke(app, [command, "cut.xlsx"], env={"AE_API_TOKEN": "t"})
    assert result.exit_code == 2
    assert result.stderr.startswith("ae-import: error: cut.xlsx: Excel: cannot read the workbook")
    assert "NUL" not in result.stderr
    assert "cannot tell the format" not in result.stderr
    assert "Traceback" not in result.stderr


def _doc_block(after: str, lang: str) -> str:
    """Return the first ``lang`` code block after the line holding ``after`` in docs/mapping.md."""
    text = (Path(__file__).parents[2] / "docs" / "mapping.md").read_text(encoding="utf-8")
    rest = text[text.index(after) :]
    start = rest.index(f"```{lang}\n") + len(lang) + 4
    return rest[start : rest.index("```", start)]


def _requests(runner: CliRunner, manifest: Path, config: str) -> list[dict[str, object]]:
    """Validate ``manifest`` with the mapping text ``config``; return the requests it builds."""
    path = manifest.parent / "mapping.yaml"
    path.write_text(config)
    args = ["validate", str(manifest), "--config", str(path), "--json", "--show-requests", "9"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stdout + result.stderr
    report_ = json.loads(result.stdout)
    assert report_["invalid"] == 0, report_
    return report_["requests"]  # type: ignore[no-any-return]


def test_the_documented_excel_example(runner: CliRunner, tmp_path: Path) -> None:
    """docs/mapping.md's Salesforce report example: ids whole, the date cell in Chicago time."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Calls"
    for row in (
        ["Calls with recordings"],
        ["Filtered By: Call Type equals Outbound"],
        [],
        ["Call ID", "Subject", "Start", "Recording URL"],
        [123456789012, "Renewal", datetime(2024, 3, 5, 14, 30), "https://cdn.example.com/a.mp3"],
    ):
        sheet.append(row)
    book.save(tmp_path / "calls-report.xlsx")
    config = _doc_block("A Salesforce report downloaded as", "yaml")
    (request,) = _requests(runner, tmp_path / "calls-report.xlsx", config)
    assert request["external_id"] == "123456789012"
    assert request["start_at"] == "2024-03-05T14:30:00-06:00"


def test_the_documented_json_example(runner: CliRunner, tmp_path: Path) -> None:
    """docs/mapping.md's wrapped JSON example, with and without records:."""
    (tmp_path / "calls.json").write_text(_doc_block("A JSON export wrapped in an object", "json"))
    config = _doc_block("A JSON export wrapped in an object", "yaml")
    requests = _requests(runner, tmp_path / "calls.json", config)
    assert [r["type"] for r in requests] == ["CALL", "MEETING"]
    assert requests[0]["external_id"] == "7782342274025937895"
    found = _requests(runner, tmp_path / "calls.json", config.replace("records: calls", ""))
    assert found == requests


def test_the_documented_parquet_and_zip_examples(runner: CliRunner, tmp_path: Path) -> None:
    """docs/mapping.md's Parquet example (a zoned timestamp, a struct owner), also zipped."""
    import zipfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    row = {
        "call_id": "w-1",
        "topic": "Quarterly review",
        "started_at": datetime(2024, 3, 5, 14, 30, tzinfo=UTC),
        "recording_url": "https://cdn.example.com/w1.mp4",
        "owner": {"name": "Dana Whitfield", "email": "dana@example.com"},
    }
    pq.write_table(pa.Table.from_pylist([row]), tmp_path / "calls.parquet")
    config = _doc_block("A Parquet file from a warehouse", "yaml")
    (request,) = _requests(runner, tmp_path / "calls.parquet", config)
    assert request["start_at"] == "2024-03-05T14:30:00+00:00"
    assert request["participants"] == [
        {"name": "Dana Whitfield", "email": "dana@example.com", "is_owner": True}
    ]
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as archive:
        archive.write(tmp_path / "calls.parquet", "calls/calls.parquet")
    assert _requests(runner, tmp_path / "export.zip", config) == [request]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("records: 'data..items'", "manifest.records must be a key path such as data.items"),
        ("sheet: ''", "'manifest.sheet' must be a non-empty string"),
        ("sheets: Calls", "unknown key 'sheets'"),
    ],
)
def test_bad_sheet_or_records_keys_are_config_errors(
    runner: CliRunner, tmp_path: Path, manifest: str, message: str
) -> None:
    """A records: path with an empty step, or an empty sheet: name, is exit 2 naming the key."""
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(API_ROWS))
    config = tmp_path / "m.yaml"
    config.write_text(f"manifest:\n  {manifest}\n")
    result = runner.invoke(app, ["validate", str(path), "--config", str(config)])
    assert result.exit_code == 2
    assert message in result.stderr
