"""Hardening at CLI level: what a careless user or a hostile machine does to a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ae_import.cli import app

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
