"""CLI tests of `ae-import status` and `ae-import export`, on ledgers written by real runs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.ledger.db import Ledger
from ae_import.text import safe_text
from tests.helpers import SAMPLES, SANDBOX_TOKEN, Writer
from tests.helpers.cli import HEADER, invoke, line
from tests.helpers.ledgerdb import ledger_row, pending_row

NO_SUCH_LEDGER = (
    "no such ledger: looked at nope.sqlite; pass --ledger PATH, or the --config, --sandbox "
    "and --shard that the run used"
)


def test_status_json_counts_errors_and_runs(runner: CliRunner, ran: Path, cwd: Path) -> None:
    """The status --json command: counts, rows to send, first and last errors, runs."""
    result = invoke(runner, ["status", "--json"], token=None)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"] == {
        "pending": 0,
        "created": 2,
        "existing": 0,
        "failed": 1,
        "invalid": 2,
        "retryable": 0,
    }
    assert (report["total"], report["to_send"]) == (5, 0)
    assert report["first_error"]["external_id"] == "no-title"
    assert report["first_error"]["error_code"] == "missing_field"
    assert report["last_error"]["external_id"] in ("ae-sandbox-409", "formula")
    [run] = report["runs"]
    assert run["arguments"][:2] == ["run", str(ran)]
    assert (run["exit_code"], run["state"], run["counts"]["created"]) == (1, "finished", 2)
    assert run["manifest_path"] == str(ran.resolve())
    assert SANDBOX_TOKEN not in result.stdout


def test_status_human_output(runner: CliRunner, ran: Path, cwd: Path) -> None:
    """The status command prints the ledger, counts, rows to send, errors and last runs."""
    result = invoke(runner, ["status"], token=None)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ledger ae-import-ledger.sqlite: http://127.0.0.1:")
    assert lines[1:10] == [
        "rows ┃ status",
        "━━━━━╇━━━━━━━━━━",
        "   0 │ pending",
        "   2 │ created",
        "   0 │ existing",
        "   1 │ failed",
        "   2 │ invalid",
        "   0 │ retryable",
        "   5 │ total",
    ]
    assert lines[10] == "to send again: 0 rows pending or retryable"
    assert lines[11].startswith("first error: ")
    assert f"{ran} line 3 no-title: invalid missing_field: title: is required" in lines[11]
    assert lines[12].startswith("last error:  ")
    assert lines[13] == "last 1 runs, newest first:"
    assert "2 created, 1 failed, 3 invalid" in result.stdout


def test_status_merges_several_ledgers(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """Several --ledger options add their counts and list the runs of all."""
    path = write("m.csv", HEADER + "".join(line(f"r{i}") for i in range(8)))
    for k in (1, 2):
        args = ["run", str(path), "--base-url", sandbox.base_url, "--shard", f"{k}/2", "-q"]
        assert invoke(runner, args).exit_code == 0
    result = invoke(
        runner,
        [
            "status",
            "--ledger",
            "ae-import-ledger-1of2.sqlite",
            "--ledger",
            "ae-import-ledger-2of2.sqlite",
            "--json",
        ],
        token=None,
    )
    report = json.loads(result.stdout)
    assert report["counts"]["created"] == 8
    assert [ledger["shard"] for ledger in report["ledgers"]] == ["1/2", "2/2"]
    assert len(report["runs"]) == 2
    human = invoke(runner, ["status", "--ledger", "ae-import-ledger-1of2.sqlite"], token=None)
    assert ", shard 1/2" in human.stdout.splitlines()[0]


def test_status_shows_pending_rows_of_a_killed_run(cwd: Path, runner: CliRunner) -> None:
    """A run killed mid-way has no end; status says so and counts its pending rows to send."""
    ledger = Ledger(cwd / "ae-import-ledger.sqlite", "https://api.example.com")
    ledger.start_run(
        {
            "pid": 2**22 + 17,
            "host": __import__("socket").gethostname(),
            "version": "x",
            "manifest": "m.csv",
            "arguments": ["run", "m.csv"],
        }
    )
    ledger.mark_pending([pending_row("a", 2, "fp")], "m.csv")
    ledger.close()
    report = json.loads(invoke(runner, ["status", "--json"], token=None).stdout)
    assert report["to_send"] == 1
    assert report["runs"][0]["state"] == "killed (no end recorded)"
    assert report["runs"][0]["ended_at"] is None


def test_status_of_a_missing_ledger_exits_2(runner: CliRunner, cwd: Path) -> None:
    """The status command on a ledger that does not exist is one line, exit 2."""
    result = invoke(runner, ["status", "--ledger", "nope.sqlite"], token=None)
    assert result.exit_code == 2
    assert result.stderr == f"ae-import: error: {NO_SUCH_LEDGER}\n"


def test_export_csv_has_the_ledger_columns(runner: CliRunner, ran: Path, cwd: Path) -> None:
    """The export command writes a CSV line per ledger row, documented columns, file order."""
    result = invoke(runner, ["export"], token=None)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "external_id",
        "status",
        "engagement_id",
        "http_status",
        "attempts",
        "error_code",
        "error_detail",
        "request_id",
        "manifest",
        "line",
        "dismissed_at",
    ]
    assert [(r["external_id"], r["status"], r["line"]) for r in rows] == [
        ("ok-1", "created", "2"),
        ("no-title", "invalid", "3"),
        ("ae-sandbox-409", "failed", "4"),
        ("formula", "invalid", "5"),
        ("ok-2", "created", "7"),
    ]
    refused = rows[2]
    assert (refused["http_status"], refused["attempts"]) == ("409", "1")
    assert refused["request_id"].startswith("req_")
    assert rows[0]["engagement_id"].startswith("eng_")


def test_export_status_filter_jsonl_and_output_file(
    runner: CliRunner, ran: Path, cwd: Path
) -> None:
    """--status picks statuses, --format jsonl writes objects, -o writes a file."""
    result = invoke(
        runner,
        ["export", "--status", "failed,invalid", "-f", "jsonl", "-o", "out.jsonl"],
        token=None,
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "ae-import: wrote 3 rows to out.jsonl\n"
    rows = [json.loads(text) for text in (cwd / "out.jsonl").read_text().splitlines()]
    assert [(r["external_id"], r["status"]) for r in rows] == [
        ("no-title", "invalid"),
        ("ae-sandbox-409", "failed"),
        ("formula", "invalid"),
    ]
    assert rows[1]["http_status"] == 409 and rows[1]["line"] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--status", "done"],
            "--status: unknown status done; use any of "
            "pending,created,existing,failed,invalid,retryable,dismissed",
        ),
        (["--format", "xlsx"], "--format: 'xlsx' is not csv or jsonl"),
        (["--ledger", "nope.sqlite"], NO_SUCH_LEDGER),
    ],
)
def test_export_bad_options_exit_2(
    runner: CliRunner, ran: Path, args: list[str], message: str
) -> None:
    """A bad status, format or ledger is one line and exit 2."""
    result = invoke(runner, ["export", *args], token=None)
    assert result.exit_code == 2
    assert result.stderr == f"ae-import: error: {message}\n"


def test_export_as_manifest_gives_back_the_rows_to_fix(
    runner: CliRunner, ran: Path, cwd: Path
) -> None:
    """--as-manifest gives source columns plus ae_import_error; formulas escaped, URLs redacted."""
    result = invoke(runner, ["export", "--as-manifest"], token=None)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "X-Amz-Signature" not in text and "SIG" not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*HEADER.strip().split(","), "ae_import_error"]
    by_title = {r[1]: r for r in rows[1:]}
    assert set(by_title) == {
        "",
        '\'=HYPERLINK("http://evil")',
        "Call ae-sandbox-409",
        "'@channel sync",
    }
    assert by_title[""][5] == "invalid missing_field: title: is required"
    assert by_title["Call ae-sandbox-409"][4] == "https://cdn.example.com/r.mp3?<redacted>"
    assert by_title["Call ae-sandbox-409"][5].startswith("failed 409 ")
    assert "(request_id req_" in by_title["Call ae-sandbox-409"][5]
    assert by_title["'@channel sync"][5] == ("invalid: line 6: external_id: is required")


def test_fixed_export_feeds_back_to_run(
    runner: CliRunner, sandbox: Any, ran: Path, cwd: Path
) -> None:
    """The exported manifest, fixed by hand, imports: escapes undone, redacted URLs refused."""
    assert invoke(runner, ["export", "--as-manifest", "-o", "fix.csv"], token=None).exit_code == 0
    fixed = (cwd / "fix.csv").read_text()
    fixed = fixed.replace(",,crm,no-title,", ",Fixed title,crm,no-title,")
    fixed = fixed.replace("https://10.0.0.1/x.mp3", "https://cdn.example.com/x.mp3")
    fixed = fixed.replace(",'@channel sync,crm,,", ",'@channel sync,crm,chan,")
    (cwd / "fix.csv").write_text(fixed)
    result = invoke(runner, ["run", "fix.csv", "--base-url", sandbox.base_url, "--json"])
    report = json.loads(result.stdout)
    assert (report["created"], report["invalid"]) == (3, 1)
    assert result.exit_code == 1
    titles = {e: sandbox.store.get(e)["title"] for e in sandbox.store.external_ids()}
    assert titles["formula"] == '=HYPERLINK("http://evil")'
    assert titles["chan"] == "@channel sync"
    ledger = Ledger(cwd / "ae-import-ledger.sqlite", sandbox.base_url)
    assert ledger_row(ledger, "ae-sandbox-409")["error_code"] == "url_redacted"  # type: ignore[index]


def test_as_manifest_without_the_manifest_says_what_to_pass(
    runner: CliRunner, ran: Path, cwd: Path
) -> None:
    """When the recorded manifest is gone, export names it and asks for --manifest."""
    moved = cwd / "moved.csv"
    ran.rename(moved)
    result = invoke(runner, ["export", "--as-manifest"], token=None)
    assert result.exit_code == 2
    assert result.stderr == (
        f"ae-import: error: cannot find the manifest '{ran}' that these rows came from "
        f"(it was at {ran.resolve()}); pass --manifest PATH\n"
    )
    again = invoke(runner, ["export", "--as-manifest", "--manifest", str(moved)], token=None)
    assert again.exit_code == 0
    assert len(again.stdout.splitlines()) == 5


def test_as_manifest_uses_the_runs_config(runner: CliRunner, sandbox: Any, cwd: Path) -> None:
    """A CRM export mapped by a config is exported with its own column names."""
    source = (SAMPLES / "broken.csv").read_text()
    (cwd / "crm.csv").write_text(source)
    config = str(SAMPLES / "salesforce.yaml")
    args = ["run", "crm.csv", "-c", config, "--base-url", sandbox.base_url, "-q"]
    assert invoke(runner, args).exit_code == 1
    result = invoke(runner, ["export", "--as-manifest", "--status", "invalid"], token=None)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert next(iter(rows[0])) == "Call ID"
    assert list(rows[0])[-1] == "ae_import_error"
    assert len(rows) >= 10
    # a row that did not line up keeps its own cells: its error is then its last cell
    errors = [r[None][-1] if None in r else r["ae_import_error"] for r in rows]
    assert all(e.startswith("invalid") for e in errors)


HOSTILE = "\x1b]0;owned\x07\x1b[2J\r\b\u202e\x9b\x7f\u2028\u2066é"


def _raw_controls(text: str) -> list[str]:
    """Return the characters of ``text`` a terminal would act on (besides the final newline)."""
    bidi = "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    return [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in bidi]


def test_json_text_escapes_controls_and_keeps_the_value() -> None:
    """json_text escapes C0, DEL, C1 and bidi controls as u-escapes; JSON readers see them."""
    from ae_import.text import json_text

    value = {"title": HOSTILE, "n": [1, None]}
    text = json_text(value)
    assert _raw_controls(text) == []
    assert "\\u202e" in text and "\\u009b" in text and "\\u001b" in text and "é" in text
    assert json.loads(text) == value


JSONL_ROWS: list[dict[str, Any]] = [
    {
        "type": "CALL",
        "title": "Refused",
        "source_system": "dialer",
        "external_id": "ae-sandbox-409",
        "media_url": "https://cdn.example.com/r.mp3",
        "run_workflows": False,
        "participants": [{"name": "Ava", "email": "ava@example.com", "is_owner": True}],
        "crm": {"id": "006A", "owner": {"name": "Ben"}},
    },
    {
        "type": "CALL",
        "source_system": "dialer",
        "external_id": "no-title",
        "media_url": "https://cdn.example.com/n.mp3",
        "duration": 61,
    },
    {
        "type": "CALL",
        "title": "Fine",
        "source_system": "dialer",
        "external_id": "fine",
        "media_url": "https://cdn.example.com/f.mp3",
    },
]


@pytest.fixture
def ran_jsonl(runner: CliRunner, sandbox: Any, cwd: Path, write: Writer) -> Path:
    """Run a JSONL manifest with nested fields (one refused, one invalid row); return its path."""
    path = write("m.jsonl", "".join(json.dumps(r) + "\n" for r in JSONL_ROWS))
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "-q"])
    assert result.exit_code == 1, result.output
    return path


def test_as_manifest_of_jsonl_defaults_to_jsonl(
    runner: CliRunner, ran_jsonl: Path, cwd: Path
) -> None:
    """Export --as-manifest of a JSONL source writes JSONL: the records as they were, and errors."""
    result = invoke(runner, ["export", "--as-manifest"], token=None)
    assert result.exit_code == 0, result.output
    records = [json.loads(text) for text in result.stdout.splitlines()]
    assert [{k: v for k, v in r.items() if k != "ae_import_error"} for r in records] == (
        JSONL_ROWS[:2]
    )
    assert records[0]["ae_import_error"].startswith("failed 409 ")
    assert records[1]["ae_import_error"] == "invalid missing_field: title: is required"


def test_plain_export_still_defaults_to_csv(runner: CliRunner, ran_jsonl: Path, cwd: Path) -> None:
    """Export of ledger results (no --as-manifest) is CSV when --format is not given."""
    result = invoke(runner, ["export"], token=None)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("external_id,status,engagement_id,")


def test_as_manifest_of_jsonl_as_csv_flattens_nested_fields(
    runner: CliRunner, ran_jsonl: Path, cwd: Path
) -> None:
    """A JSONL source written as CSV gets a column per field, nested objects as dotted columns."""
    result = invoke(runner, ["export", "--as-manifest", "--format", "csv"], token=None)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "type",
        "title",
        "source_system",
        "external_id",
        "media_url",
        "run_workflows",
        "participants",
        "crm.id",
        "crm.owner.name",
        "duration",
        "ae_import_error",
    ]
    refused, invalid = rows
    assert (refused["crm.id"], refused["crm.owner.name"], refused["duration"]) == (
        "006A",
        "Ben",
        "",
    )
    assert json.loads(refused["participants"]) == JSONL_ROWS[0]["participants"]
    assert refused["run_workflows"] == "false"
    assert (invalid["title"], invalid["duration"], invalid["crm.id"]) == ("", "61", "")
    assert invalid["ae_import_error"] == "invalid missing_field: title: is required"


def test_as_manifest_of_jsonl_as_csv_refuses_what_cannot_be_flattened(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """A record whose nested field would take an existing column's name is refused in one line."""
    record = {**JSONL_ROWS[0], "crm.id": "other"}
    path = write("m.jsonl", json.dumps(record) + "\n")
    assert invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "-q"]).exit_code == 1
    result = invoke(runner, ["export", "--as-manifest", "--format", "csv"], token=None)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"ae-import: error: --format csv: {path} line 1: two fields become the CSV column "
        "'crm.id'; export this manifest with --format jsonl\n"
    )


EVIL_TITLE = "Call \x1b]0;owned\x07 \x1b[2J\rover\bwrite \u202eevil"
EVIL_ID = "evil-\x1b[2J-\u202e\x08-id"


@pytest.fixture
def ran_hostile(runner: CliRunner, sandbox: Any, cwd: Path, write: Writer) -> Path:
    """Run a manifest whose refused row has a hostile title and an invalid row a hostile id."""
    rows = [
        ["CALL", EVIL_TITLE, "crm", "ae-sandbox-409", "https://cdn.example.com/r.mp3"],
        ["CALL", "No media", "crm", EVIL_ID, ""],
    ]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)
    path = write("m.csv", HEADER + text.getvalue())
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "-q"])
    assert result.exit_code == 1, result.output
    return path


def test_results_export_escapes_controls(runner: CliRunner, ran_hostile: Path, cwd: Path) -> None:
    """Export (CSV and JSONL) and status (human and --json) never write raw terminal controls."""
    for args in (["export"], ["export", "-f", "jsonl"], ["status", "--json"], ["status"]):
        result = invoke(runner, args, token=None)
        assert result.exit_code == 0, result.output
        assert _raw_controls(result.stdout.replace("\n", "")) == [], args
    cells = list(csv.DictReader(io.StringIO(invoke(runner, ["export"], token=None).stdout)))
    assert [r["external_id"] for r in cells] == ["ae-sandbox-409", safe_text(EVIL_ID)]
    jsonl = invoke(runner, ["export", "-f", "jsonl"], token=None).stdout
    assert [json.loads(t)["external_id"] for t in jsonl.splitlines()] == [
        "ae-sandbox-409",
        EVIL_ID,
    ]
    report = json.loads(invoke(runner, ["status", "--json"], token=None).stdout)
    assert EVIL_ID in (report["first_error"]["external_id"], report["last_error"]["external_id"])


def test_as_manifest_is_byte_exact_to_files_and_pipes(
    runner: CliRunner, ran_hostile: Path, cwd: Path
) -> None:
    """--as-manifest keeps the data as it was when it goes to a file or a pipe (fed back to run)."""
    to_file = invoke(runner, ["export", "--as-manifest", "-o", "fix.csv"], token=None)
    assert to_file.exit_code == 0, to_file.output
    to_pipe = invoke(runner, ["export", "--as-manifest"], token=None)
    assert to_pipe.stdout.encode() == (cwd / "fix.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO((cwd / "fix.csv").read_bytes().decode(), newline="")))
    assert [(r["title"], r["external_id"]) for r in rows] == [
        (EVIL_TITLE, "ae-sandbox-409"),
        ("No media", EVIL_ID),
    ]
    jsonl = invoke(runner, ["export", "--as-manifest", "-f", "jsonl"], token=None).stdout
    assert _raw_controls(jsonl.replace("\n", "")) == []
    assert [json.loads(t)["title"] for t in jsonl.splitlines()] == [EVIL_TITLE, "No media"]


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Say yes."""
        return True


def test_as_manifest_to_a_terminal_is_escaped(ran_hostile: Path, cwd: Path) -> None:
    """--as-manifest written to a terminal escapes controls in every cell: a person reads it."""
    from ae_import.operations.export import export

    screen = _Terminal()
    assert export(cwd / "ae-import-ledger.sqlite", None, None, screen, as_manifest=True) == 2
    text = screen.getvalue()
    assert _raw_controls(text.replace("\n", "")) == []
    assert safe_text(EVIL_TITLE) in text and safe_text(EVIL_ID) in text


def test_export_never_writes_over_what_it_reads(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """`export -o` naming the manifest, the config or the ledger is refused; they stay whole."""
    path = write("m.csv", HEADER + "CALL,,crm,x,https://cdn.example.com/a.mp3\n" + line("a"))
    config = write("c.yaml", "run:\n  ledger: l.sqlite\n")
    assert runner.invoke(app, ["run", str(path), "--sandbox", "-q", "--config", str(config)])
    before = path.read_bytes(), config.read_bytes(), (cwd / "l.sqlite").read_bytes()
    for target in (path, config, cwd / "l.sqlite"):
        result = runner.invoke(
            app, ["export", "--config", str(config), "--as-manifest", "-o", str(target)]
        )
        assert result.exit_code == 2, result.output
        assert "that is a file export reads" in result.stderr
    assert before == (path.read_bytes(), config.read_bytes(), (cwd / "l.sqlite").read_bytes())
    fixed = runner.invoke(app, ["export", "--config", str(config), "--as-manifest", "-o", "f.csv"])
    assert fixed.exit_code == 0, fixed.output
    assert (cwd / "f.csv").read_text().startswith("type,title")
    assert not list(cwd.glob(".f.csv.*.tmp"))


def test_a_row_with_the_wrong_number_of_fields_keeps_its_cells_in_the_fix_file(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """--as-manifest writes an unreadable row's own cells (not empty ones), then the error."""
    odd = "CALL,Call, Acme,crm,odd,https://c.example.com/o.mp3\n"
    untitled = "CALL,,crm,no-title,https://c.example.com/t.mp3\n"
    path = write("m.csv", HEADER + line("ok-1") + odd + untitled)
    invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "-q"])
    fixed = invoke(runner, ["export", "--as-manifest"], token=None)
    rows = list(csv.reader(io.StringIO(fixed.stdout)))
    assert rows[1][:6] == ["CALL", "Call", " Acme", "crm", "odd", "https://c.example.com/o.mp3"]
    assert rows[1][6].startswith("invalid: line 3: row: 6 fields, but the header has 5")
    assert rows[2][3:] == ["no-title", "https://c.example.com/t.mp3", rows[2][5]]
