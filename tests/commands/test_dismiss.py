"""CLI tests of `ae-import dismiss`: rows fixed elsewhere leave status and export, and stay out."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.ledger.lock import RunLock
from tests.helpers import Writer
from tests.helpers.cli import HEADER, ROWS, invoke
from tests.helpers.ledgerdb import ledger_row

LEDGER = "ae-import-ledger.sqlite"
WRITTEN = "export --status dismissed lists them"


def _status(runner: CliRunner) -> dict[str, Any]:
    """Return status --json of the default ledger."""
    result = invoke(runner, ["status", "--json"], token=None)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _dismiss(runner: CliRunner, *args: str) -> Any:
    """Run ae-import dismiss with these arguments (no token needed)."""
    return invoke(runner, ["dismiss", *args], token=None)


def test_dismiss_by_id_leaves_status_and_export(runner: CliRunner, ran: Path, cwd: Path) -> None:
    """A dismissed row leaves status counts and errors, and every export but --status dismissed."""
    result = _dismiss(runner, "ae-sandbox-409")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"dismissed 1 row in {LEDGER}; {WRITTEN}\n"
    report = _status(runner)
    assert (report["counts"]["failed"], report["dismissed"], report["total"]) == (0, 1, 4)
    assert "ae-sandbox-409" not in (
        report["first_error"]["external_id"],
        report["last_error"]["external_id"],
    )
    human = invoke(runner, ["status"], token=None).stdout
    assert f"dismissed: 1 row (not counted above; {WRITTEN})\n" in human
    plain = invoke(runner, ["export"], token=None).stdout
    assert "ae-sandbox-409" not in plain
    fix = invoke(runner, ["export", "--as-manifest"], token=None).stdout
    assert "ae-sandbox-409" not in fix and len(fix.splitlines()) == 4
    listed = invoke(runner, ["export", "--status", "dismissed"], token=None).stdout
    [row] = list(csv.DictReader(io.StringIO(listed)))
    assert (row["external_id"], row["status"], row["http_status"]) == (
        "ae-sandbox-409",
        "dismissed",
        "409",
    )
    assert row["dismissed_at"].startswith("20") and row["dismissed_at"].endswith("Z")


def test_dismiss_by_status_and_dry_run(runner: CliRunner, ran: Path, cwd: Path) -> None:
    """--dry-run lists what --status would retire and changes nothing; then the real run does."""
    dry = _dismiss(runner, "--status", "failed,invalid", "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert [text.split(":")[0] for text in lines[:3]] == [
        "would dismiss no-title",
        "would dismiss ae-sandbox-409",
        "would dismiss formula",
    ]
    assert lines[1].startswith("would dismiss ae-sandbox-409: failed since 20")
    assert lines[1].endswith("Z (conflict)")
    assert lines[3] == f"would dismiss 3 rows in {LEDGER} (dry run: nothing changed)"
    assert _status(runner)["dismissed"] == 0
    done = _dismiss(runner, "--status", "failed,invalid", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {
        "ledger": LEDGER,
        "dismissed": 3,
        "dry_run": False,
        "exit_code": 0,
    }
    report = _status(runner)
    assert (report["dismissed"], report["counts"]["created"], report["first_error"]) == (
        3,
        2,
        None,
    )


def test_dismiss_older_than(runner: CliRunner, ran: Path, cwd: Path) -> None:
    """--older-than retires only rows whose last result is older than that age."""
    assert (
        _dismiss(runner, "--older-than", "7d").stdout
        == f"dismissed 0 rows in {LEDGER}; {WRITTEN}\n"
    )
    db = sqlite3.connect(cwd / LEDGER)
    db.execute("UPDATE rows SET updated_at = '2020-01-01T00:00:00.000Z' WHERE line IN (2, 3)")
    db.commit()
    db.close()
    result = _dismiss(runner, "--older-than", "2w", "--json", "--dry-run")
    report = json.loads(result.stdout)
    assert (report["dismissed"], report["dry_run"]) == (1, True)
    assert [r["external_id"] for r in report["rows"]] == ["no-title"]
    assert _dismiss(runner, "--older-than", "12h").exit_code == 0
    assert ledger_row(cwd / LEDGER, "no-title")["status"] == "dismissed"  # type: ignore[index]
    assert ledger_row(cwd / LEDGER, "ok-1")["status"] == "created"  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            "dismiss: name the rows to dismiss: external_ids, --status S1,S2 or --older-than "
            "AGE (e.g. --status failed --older-than 7d)",
        ),
        (
            ["ok-1"],
            "dismiss: ok-1 is created: created and existing rows are done and never dismissed; "
            "nothing was changed",
        ),
        (
            ["formula", "nope", "ok-2"],
            "dismiss: nope is not in the ledger, ok-2 is created: created and existing rows "
            "are done and never dismissed; nothing was changed",
        ),
        (
            ["--status", "failed,created"],
            "--status: created rows are done and never dismissed; dismiss failed, invalid, "
            "retryable or pending rows",
        ),
        (
            ["--status", "broken"],
            "--status: unknown status broken; use any of "
            "pending,created,existing,failed,invalid,retryable,dismissed",
        ),
        (
            ["--older-than", "7x"],
            "--older-than: '7x' is not an age; use a number and s, m, h, d or w (7d, 12h)",
        ),
        (
            ["--older-than", "0d"],
            "--older-than: '0d' is not an age; use a number and s, m, h, d or w (7d, 12h)",
        ),
    ],
)
def test_dismiss_refusals_exit_2_and_change_nothing(
    runner: CliRunner, ran: Path, cwd: Path, args: list[str], message: str
) -> None:
    """No selector, a done or unknown id, a done status or a bad age: one line, exit 2."""
    before = (cwd / LEDGER).read_bytes()
    result = _dismiss(runner, *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"ae-import: error: {message}\n"
    assert _status(runner)["dismissed"] == 0
    assert len((cwd / LEDGER).read_bytes()) == len(before)


def test_dismiss_takes_the_run_lock(runner: CliRunner, ran: Path, cwd: Path) -> None:
    """While a run holds the ledger, dismiss exits 4 and changes nothing; --dry-run still reads."""
    with RunLock(cwd / LEDGER):
        result = _dismiss(runner, "ae-sandbox-409")
        dry = _dismiss(runner, "ae-sandbox-409", "--dry-run")
    assert result.exit_code == 4
    assert result.stderr.startswith(f"ae-import: error: {LEDGER}: in use by another ae-import run")
    assert dry.exit_code == 0
    assert _status(runner)["dismissed"] == 0


def test_a_dismissed_row_is_not_sent_again_until_it_changes(
    runner: CliRunner, sandbox: Any, ran: Path, cwd: Path
) -> None:
    """A re-run leaves dismissed rows (failed, invalid) alone; a changed source row goes again."""
    assert _dismiss(runner, "ae-sandbox-409", "no-title").exit_code == 0
    again = invoke(runner, ["run", str(ran), "--base-url", sandbox.base_url, "-q"])
    assert again.exit_code == 1, again.output
    for external_id in ("ae-sandbox-409", "no-title"):
        assert ledger_row(cwd / LEDGER, external_id)["status"] == "dismissed"  # type: ignore[index]
    ran.write_text(ROWS.replace("Call ae-sandbox-409", "Call ae-sandbox-409 fixed"))
    changed = invoke(runner, ["run", str(ran), "--base-url", sandbox.base_url, "-q"])
    assert changed.exit_code == 1
    row = ledger_row(cwd / LEDGER, "ae-sandbox-409")
    assert row is not None and (row["status"], row["dismissed_at"]) == ("failed", None)
    assert ledger_row(cwd / LEDGER, "no-title")["status"] == "dismissed"  # type: ignore[index]


def test_dismiss_escapes_controls_in_what_it_lists(
    runner: CliRunner, cwd: Path, write: Writer, sandbox: Any
) -> None:
    """The dry-run list escapes terminal controls in external_ids."""
    evil = "x\x1b]0;owned\x07\u202e"
    text = "type,title,source_system,external_id,media_url\n" + f"CALL,,crm,{evil},\n"
    path = write("m.csv", text)
    assert invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "-q"]).exit_code == 1
    result = _dismiss(runner, "--status", "invalid", "--dry-run")
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "would dismiss x\\x1b]0;owned\\x07\\u202e: invalid since" in result.stdout


def test_a_nightly_run_over_dismissed_rows_exits_0(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """Rows dismissed after failing (409) or being invalid are counted dismissed; exit 0."""
    rows = (
        "type,title,source_system,external_id,media_url\n"
        "CALL,Call ok,crm,ok-1,https://cdn.example.com/a.mp3\n"
        "CALL,Call 409,crm,ae-sandbox-409,https://cdn.example.com/b.mp3\n"
        "CALL,,crm,no-title,https://cdn.example.com/c.mp3\n"
    )
    path = write("m.csv", rows)
    args = ["run", str(path), "--base-url", sandbox.base_url, "--json"]
    assert invoke(runner, args).exit_code == 1
    assert _dismiss(runner, "ae-sandbox-409", "no-title").exit_code == 0
    nightly = invoke(runner, args)
    assert nightly.exit_code == 0, nightly.output
    summary = json.loads(nightly.stdout)
    assert (summary["skipped"], summary["dismissed"], summary["failed"]) == (1, 2, 0)
    assert summary["invalid"] == 0
    retry = invoke(runner, [*args, "--retry-failed"])
    assert json.loads(retry.stdout)["dismissed"] == 2


def test_dismiss_older_than_the_calendar_is_not_a_crash(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """`dismiss --older-than 999999d` (past year 1) lists every dismissable row, no exit 70."""
    runner.invoke(
        app,
        ["run", str(write("m.csv", HEADER + "CALL,,crm,x,https://a.b/c.mp3\n")), "--sandbox", "-q"],
    )
    result = runner.invoke(app, ["dismiss", "--sandbox", "--dry-run", "--older-than", "999999d"])
    assert result.exit_code == 0, result.output
    assert "x" in result.stdout
