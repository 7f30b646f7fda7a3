"""CLI tests of a morning reader's needs: the next steps, --fail-on, the ledger lookup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ae_import.commands import app
from tests.helpers import Writer
from tests.helpers.cli import HEADER, invoke, line

BAD = "CALL,,crm,no-title,https://cdn.example.com/t.mp3\n"  # an invalid row with an id
NO_ID = "CALL,No id,crm,,https://cdn.example.com/n.mp3\n"  # an invalid row without one
TWO_PROBLEMS = "WEBINAR,,crm,two,https://cdn.example.com/w.mp3\n"


def _run(runner: CliRunner, sandbox: Any, path: Path, *more: str) -> Any:
    return invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, *more])


def test_fail_on_new_fails_only_for_rows_new_in_this_run(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """Old invalid rows exit 1 with --fail-on any, 0 with new (flag or config); a new one, 1."""
    path = write("m.csv", HEADER + line("a") + BAD + NO_ID + line("b"))
    assert _run(runner, sandbox, path, "--fail-on", "new").exit_code == 1  # all of them new
    assert _run(runner, sandbox, path).exit_code == 1  # any: the old ones still count
    again = _run(runner, sandbox, path, "--fail-on", "new", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["new_problems"] == 0
    config = write("c.yaml", "run:\n  fail_on: new\n")
    assert _run(runner, sandbox, path, "--config", str(config)).exit_code == 0
    path.write_text(HEADER + line("a") + BAD + NO_ID + line("b") + TWO_PROBLEMS)
    assert _run(runner, sandbox, path, "--fail-on", "new").exit_code == 1


def test_summary_and_json_name_the_codes_and_the_fix_command(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """The summary lists codes with counts and the fix command; --json adds problems_by_code."""
    path = write("m.csv", HEADER + line("a") + BAD + TWO_PROBLEMS)
    text = _run(runner, sandbox, path)
    assert text.exit_code == 1
    ledger = cwd / "ae-import-ledger.sqlite"
    assert "problems by code: 2 missing_field, 1 bad_enum (2 new in this run)" in text.stdout
    fix = f"ae-import export --as-manifest --ledger {ledger} -o ae-import-fix.csv"
    assert f"write the fix file: {fix}" in text.stdout
    report = json.loads(_run(runner, sandbox, path, "--json").stdout)
    assert report["problems_by_code"] == {"missing_field": 2, "bad_enum": 1}
    assert report["fix_command"] == fix
    written = invoke(runner, fix.split()[1:])
    assert written.exit_code == 0, written.output
    assert (cwd / "ae-import-fix.csv").read_text().count("\n") == 3  # the header and two rows


def test_run_log_records_every_problem_of_a_row(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """An invalid row with two problems: its log line holds both, as export does."""
    path = write("m.csv", HEADER + TWO_PROBLEMS)
    log = cwd / "run.log"
    _run(runner, sandbox, path, "--log-file", str(log), "--log-format", "json")
    [row] = [json.loads(x) for x in log.read_text().splitlines() if '"event": "row"' in x]
    assert row["error_code"] == "missing_field"  # the first; the detail holds them all
    assert "type: 'WEBINAR'" in row["error_detail"]
    assert "title: is required" in row["error_detail"]


def test_status_export_and_dismiss_find_the_ledger_as_run_does(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """--base-url (flag or env) is taken; a ledger of another target is refused, as run does."""
    path = write("m.csv", HEADER + line("a") + BAD)
    _run(runner, sandbox, path)
    for command in (["status"], ["export"], ["dismiss", "--dry-run", "--status", "invalid"]):
        same = invoke(runner, [*command, "--base-url", sandbox.base_url], token=None)
        assert same.exit_code == 0, same.output
        other = invoke(runner, [*command, "--base-url", "https://other.example/api"], token=None)
        assert other.exit_code == 2
        assert "this ledger belongs to http://127.0.0.1" in other.stderr
        assert "not https://other.example/api; pass another --ledger" in other.stderr
    env = runner.invoke(app, ["status"], env={"AE_IMPORT_BASE_URL": "https://other.example/api"})
    assert env.exit_code == 2
    assert "this ledger belongs to" in env.stderr
