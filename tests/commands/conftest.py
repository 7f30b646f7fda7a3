"""Fixtures of the command tests: a ledger made by one run of a mixed manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.helpers import Writer
from tests.helpers.cli import ROWS, invoke


@pytest.fixture
def ran(runner: CliRunner, sandbox: Any, cwd: Path, write: Writer) -> Path:
    """Run the ROWS manifest once against the sandbox; return its path."""
    path = write("m.csv", ROWS)
    result = invoke(runner, ["run", str(path), "--base-url", sandbox.base_url, "-q"])
    assert result.exit_code == 1
    return path
