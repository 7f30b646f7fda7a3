"""Hardening at CLI level: what a careless user or a hostile machine does to a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ae_import.commands import app

from .conftest import Writer
from .test_cli_run import HEADER, cwd, line

__all__ = ["cwd"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_log_that_cannot_be_written_is_reported_once(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """A full disk under --log-file: one warning line, the run goes on, exit codes agree."""
    path = write("m.csv", HEADER + line("a") + line("b"))
    args = ["run", str(path), "--sandbox", "--log-file", "/dev/full", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    warning = (
        "ae-import: warning: --log-file /dev/full: cannot write (No space left on device); "
        "the run goes on without the log (the ledger keeps every outcome)\n"
    )
    assert result.stderr == warning
    assert json.loads(result.stdout)["created"] == 2
    status = runner.invoke(app, ["status", "--sandbox", "--json"])
    assert json.loads(status.stdout)["runs"][0]["exit_code"] == 0


def _plain_lines(steps: list[tuple[int, int, int, int]]) -> list[str]:
    """Feed (read bytes, size, rows read, rows finished) to a plain reporter; return its lines."""
    import io

    from rich.console import Console

    from ae_import.commands.output import PLAIN_EVERY_S, RunReporter
    from ae_import.sending.summary import Summary

    now = [0.0]
    err = io.StringIO()
    reporter = RunReporter(
        "plain", Console(file=err, width=200), Console(file=io.StringIO()), clock=lambda: now[0]
    )
    position = [(0, 1)]
    reporter.attach(lambda: position[0])
    for read, size, total, finished in steps:
        position[0] = (read, size)
        now[0] += PLAIN_EVERY_S
        reporter("row", Summary(total=total, created=finished), None, "created")
    return err.getvalue().splitlines()


def test_progress_off_a_terminal_never_says_100_percent_with_rows_to_go() -> None:
    """The whole manifest read, 48 of 100 rows done: the line says 48%, not 100%."""
    [last] = _plain_lines([(1000, 1000, 100, 48)])
    assert last.startswith("ae-import: 48 of 100 rows done (48%)")


def test_progress_share_never_goes_backwards() -> None:
    """A larger estimate later (long rows at the end) does not take the share back."""
    lines = _plain_lines([(500, 1000, 100, 61), (600, 1000, 150, 62), (1000, 1000, 250, 250)])
    shares = [int(line.split("(")[1].split("%")[0]) for line in lines]
    assert shares == sorted(shares)
    assert shares[-1] == 100


def test_json_and_shown_requests_escape_c1_and_bidi_controls(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """JSON and shown request bodies carry U+009B and U+202E as u-escapes, the value intact."""
    title = "Call \x9b2J \u202egnp.exe\u202c done"
    path = write("m.csv", HEADER + f"CALL,{title},crm,a,https://cdn.example.com/a.mp3\n")
    as_json = runner.invoke(app, ["validate", str(path), "--json", "--show-requests", "1"])
    assert as_json.exit_code == 0, as_json.output
    assert "\x9b" not in as_json.stdout
    assert "\u202e" not in as_json.stdout
    assert "\\u009b" in as_json.stdout
    assert json.loads(as_json.stdout)["requests"][0]["title"] == title
    shown = runner.invoke(app, ["validate", str(path), "--show-requests", "1"])
    assert "\x9b" not in shown.stdout
    assert "\u202e" not in shown.stdout
    body = json.loads(shown.stdout.splitlines()[0])
    assert body["title"] == title


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "5/0s"], "--rate: '5/0s': the period must be above zero, as in 5000/12h"),
        (["--concurrency", "4_0"], "--concurrency: '4_0' is not a whole number"),
        (["--concurrency", "\u0664"], "--concurrency: '\u0664' is not a whole number"),
        (["--max-duration", "9" * 400], "a duration must be above zero and finite"),
    ],
)
def test_option_values_that_crashed_are_one_line_exit_2(
    runner: CliRunner, cwd: Path, write: Writer, args: list[str], message: str
) -> None:
    """Values that raised ZeroDivisionError or OverflowError (exit 70) are usage errors."""
    path = write("m.csv", HEADER + line("a"))
    result = runner.invoke(app, ["run", str(path), "--dry-run", *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("ae-import: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unquoted_until_in_yaml_says_to_quote_it(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """`until: 23:30` unquoted is the YAML 1.1 number 1410: the message says to quote it."""
    config = write("c.yaml", "run:\n  until: 23:30\n")
    path = write("m.csv", HEADER + line("a"))
    result = runner.invoke(app, ["run", str(path), "--dry-run", "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "run.until: YAML read the time as the number 1410; quote it: '23:30'\n"
    )


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


@pytest.mark.parametrize(
    ("env", "args", "config", "json_out"),
    [
        ({"AE_IMPORT_JSON": "yes"}, [], "", True),
        ({"AE_IMPORT_JSON": "1"}, ["--no-json"], "", False),
        ({}, [], "run:\n  json: true\n", True),
        ({}, ["--json"], "", True),
    ],
)
def test_json_errors_follow_flag_env_and_config(
    runner: CliRunner,
    cwd: Path,
    write: Writer,
    env: dict[str, str],
    args: list[str],
    config: str,
    json_out: bool,
) -> None:
    """A usage error is a JSON object when --json, AE_IMPORT_JSON=yes or run.json asks."""
    path = write("m.csv", HEADER + line("a"))
    extra = ["--config", str(write("c.yaml", config))] if config else []
    result = runner.invoke(app, ["run", str(path), "--concurrency", "0", *args, *extra], env=env)
    assert result.exit_code == 2
    assert result.stderr == "ae-import: error: --concurrency: '0' must be at least 1\n"
    if json_out:
        assert json.loads(result.stdout)["error"]["code"] == "usage"
    else:
        assert result.stdout == ""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["run", "--help"]])
def test_help_on_a_closed_stdout_exits_141(tmp_path: Path, args: list[str]) -> None:
    """`ae-import --help | true`: exit 141 as a closed pipe, not 1."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "ae_import", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.wait(timeout=60) == 141


def test_bare_command_prints_the_help_not_escaped(runner: CliRunner) -> None:
    """`ae-import` alone shows the usage block as written (no escaped newlines), exit 2."""
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: ae-import [OPTIONS] COMMAND [ARGS]...\n")
    assert "\\n" not in result.stderr


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


@pytest.mark.parametrize("cell", ["=x", "'=x", "''=x", "'hello", "+1 415 555 0100", "'+1", "@c"])
def test_formula_escape_round_trips(cell: str) -> None:
    """The export's formula escape and run's unescape give back every cell, even '=x."""
    from ae_import.reading.manifest import escape_formula, unescape_formula

    assert unescape_formula(escape_formula(cell)) == cell


@pytest.mark.parametrize("command", [["run", "{m}", "--sandbox", "-q"], ["status"], ["export"]])
def test_a_directory_or_device_as_ledger_is_refused(
    runner: CliRunner, cwd: Path, write: Writer, command: list[str]
) -> None:
    """`--ledger /dev/null` or a directory: one line, exit 2, no .lock or journal left."""
    path = write("m.csv", HEADER + line("a"))
    (cwd / "dir").mkdir()
    for ledger in ("/dev/null", str(cwd / "dir")):
        args = [word.format(m=path) for word in command]
        result = runner.invoke(app, [*args, "--ledger", ledger])
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            f"ae-import: error: {ledger}: not a regular file (a directory or a device); "
            "pass a file path as --ledger\n"
        )
    assert not (cwd / "dir.lock").exists()


def test_a_lone_surrogate_in_jsonl_is_one_problem_and_the_rest_go(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """A JSONL line with a lone surrogate escape: bad_encoding there, the other rows imported."""
    row = (
        '{"type":"CALL","title":"TITLE","source_system":"crm","external_id":"ID",'
        '"media_url":"https://cdn.example.com/a.mp3"}\n'
    )
    lone = "bad " + "\\" + "ud800 x"  # the six characters backslash u d 8 0 0
    text = "".join(
        row.replace("TITLE", title).replace("ID", eid)
        for title, eid in (("ok", "a1"), (lone, "a2"), ("ok", "a3"))
    )
    path = write("m.jsonl", text)
    assert "\\ud800" in path.read_text()
    result = runner.invoke(app, ["run", str(path), "--sandbox", "--json"])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert (summary["created"], summary["invalid"]) == (2, 1)


def test_a_bad_base_url_names_where_it_came_from(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """A base URL from the config or the env is blamed there, not on --base-url."""
    path = write("m.csv", HEADER + line("a"))
    config = write("c.yaml", "api:\n  base_url: 5\n")
    result = runner.invoke(app, ["run", str(path), "--config", str(config)])
    assert (
        result.stderr == f"ae-import: error: {config}: api.base_url: '5' must be an https:// URL\n"
    )
    env = {"AE_IMPORT_BASE_URL": "ftp://x.example/api"}
    result = runner.invoke(app, ["run", str(path)], env=env)
    assert result.stderr.startswith("ae-import: error: AE_IMPORT_BASE_URL: 'ftp://x.example/api'")


def test_auto_encoding_says_which_it_chose(runner: CliRunner, cwd: Path, write: Writer) -> None:
    """A Windows-1252 file read by encoding auto: validate and run say so on stderr."""
    path = write(
        "m.csv", HEADER.encode() + b"CALL,Call \x96 one,crm,a,https://cdn.example.com/a.mp3\n"
    )
    note = "ae-import: note: read as Windows-1252: byte 0x96 on line 2 is not UTF-8\n"
    checked = runner.invoke(app, ["validate", str(path)])
    assert checked.exit_code == 0, checked.output
    assert checked.stderr == note
    ran = runner.invoke(app, ["run", str(path), "--sandbox", "--json"])
    assert ran.exit_code == 0, ran.output
    assert ran.stderr == note
    assert json.loads(ran.stdout)["created"] == 1
