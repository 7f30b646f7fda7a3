"""`status` and `export` find the ledger as `run` does: --config, AE_IMPORT_LEDGER, --sandbox."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from tests.helpers import Writer
from tests.helpers.cli import HEADER, invoke, line


def _sandbox_run(runner: CliRunner, path: Path, *args: str) -> None:
    """Import ``path`` into the in-process sandbox; the run must succeed."""
    result = runner.invoke(app, ["run", str(path), "--sandbox", "--quiet", *args])
    assert result.exit_code == 0, result.output


def test_status_and_export_read_the_configs_ledger(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """`status --config` and `export --config` read run.ledger from the config."""
    config = write("nightly.yaml", "run:\n  ledger: nightly.sqlite\n")
    _sandbox_run(runner, write("m.csv", HEADER + line("a")), "--config", str(config))
    assert (cwd / "nightly.sqlite").exists()
    status = runner.invoke(app, ["status", "--config", str(config), "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["counts"]["created"] == 1
    export = runner.invoke(app, ["export", "--config", str(config), "--format", "jsonl"])
    assert export.exit_code == 0, export.output
    assert json.loads(export.stdout)["external_id"] == "a"


def test_status_reads_ae_import_ledger(runner: CliRunner, cwd: Path, write: Writer) -> None:
    """AE_IMPORT_LEDGER names the ledger for status and export as it does for run."""
    env = {"AE_IMPORT_LEDGER": str(cwd / "env.sqlite")}
    result = runner.invoke(
        app, ["run", str(write("m.csv", HEADER + line("b"))), "--sandbox", "-q"], env=env
    )
    assert result.exit_code == 0, result.output
    status = runner.invoke(app, ["status", "--json"], env=env)
    assert json.loads(status.stdout)["counts"]["created"] == 1
    export = runner.invoke(app, ["export"], env=env)
    assert export.exit_code == 0
    assert ",b," in export.stdout or export.stdout.splitlines()[1].startswith("b,")


def test_status_sandbox_reads_the_sandbox_ledger(
    runner: CliRunner, cwd: Path, write: Writer
) -> None:
    """After run --sandbox, status --sandbox reads ae-import-sandbox-ledger.sqlite."""
    _sandbox_run(runner, write("m.csv", HEADER + line("c")))
    status = runner.invoke(app, ["status", "--sandbox", "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["counts"]["created"] == 1


def test_no_ledger_names_the_paths_looked_at(runner: CliRunner, cwd: Path) -> None:
    """Without any ledger, the message names the path looked at and what to pass."""
    result = runner.invoke(app, ["status", "--shard", "2/3"])
    assert result.exit_code == 2
    assert result.stderr == (
        "ae-import: error: no such ledger: looked at ae-import-ledger-2of3.sqlite; pass "
        "--ledger PATH, or the --config, --sandbox and --shard that the run used\n"
    )


def test_a_foreign_sqlite_ledger_is_refused_untouched(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """run, status and export refuse another application's SQLite file with exit 2, unchanged."""
    foreign = cwd / "crm.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    before = hashlib.sha256(foreign.read_bytes()).hexdigest()
    manifest = write("m.csv", HEADER + line("a"))
    expected = (
        "ae-import: error: crm.db: not an ae-import ledger (a SQLite database with tables "
        "accounts); it was left as it is: pass another --ledger\n"
    )
    for args in (
        ["run", str(manifest), "--base-url", sandbox.base_url, "--ledger", "crm.db", "-q"],
        ["status", "--ledger", "crm.db"],
        ["export", "--ledger", "crm.db"],
    ):
        result = invoke(runner, args)
        assert (result.exit_code, result.stderr) == (2, expected), args
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == before
    assert not (cwd / "crm.db-wal").exists()
    assert sandbox.store.count() == 0


def test_a_ledger_is_bound_only_once_its_target_answers(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """A run whose base URL never answered leaves the ledger unbound; the right URL binds it."""
    path = write("m.csv", HEADER + line("a"))
    nowhere = "http://127.0.0.1:9/api"  # nothing listens: no answer at all
    args = ["run", str(path), "--ledger", "l.sqlite", "--max-attempts", "1", "-q"]
    wrong = invoke(runner, [*args, "--base-url", nowhere])
    assert wrong.exit_code == 1, wrong.output
    right = invoke(runner, [*args, "--base-url", sandbox.base_url])
    assert right.exit_code == 0, right.output
    again = invoke(runner, [*args, "--base-url", nowhere])
    assert again.exit_code == 2
    assert again.stderr == (
        f"ae-import: error: l.sqlite: this ledger belongs to {sandbox.base_url}, not {nowhere}; "
        "pass another --ledger for this target\n"
    )


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
